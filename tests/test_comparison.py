from dataclasses import replace

import numpy as np
import pytest
import torch

from srlib import comparison, hh4b
from srlib.baseline import baseline_selection
from srlib.kinematics import dijet_pairings, four_jet_mass
from srlib.ratio import MLPClassifier
from srlib.region import concentration_curve
from srlib.simulation import ThreeTagModel, simulate_samples


def tiny_config() -> hh4b.HH4bConfig:
    config = hh4b.HH4bConfig(n_3b=1500, signal_ratio=0.2)
    return replace(
        config,
        network_training=replace(config.network_training, max_epochs=1),
        head_training=replace(config.head_training, max_epochs=2),
    )


@pytest.fixture(scope="module")
def mixture():
    _, events_4b = simulate_samples(10, 3000, 0.3, seed=7)
    return events_4b


def test_baseline_score_orders_like_x_hh(mixture) -> None:
    distance = baseline_selection(mixture.jets).x_hh
    score = comparison.baseline_score(mixture.jets)
    finite = np.isfinite(distance)
    assert np.all(np.isfinite(score))
    np.testing.assert_array_equal(score[finite], -distance[finite])
    # Events without a passing pairing tie strictly below every other event.
    assert (~finite).any()
    assert np.unique(score[~finite]).size == 1
    assert score[~finite][0] < score[finite].min()


def test_baseline_curve_passes_through_nominal_window(mixture) -> None:
    # The SR of the size of the window X_HH < 1.6 is that window, so its signal
    # share is the window's, exactly.
    inside = baseline_selection(mixture.jets).signal_region
    labels = mixture.is_signal
    size = inside.mean()
    curve = concentration_curve(
        comparison.baseline_score(mixture.jets), labels, np.array([size])
    )
    assert curve.region_share[0] == pytest.approx(size)
    assert curve.signal_share[0] == pytest.approx(labels[inside].sum() / labels.sum())


def test_region_quantile_of_top_tenth() -> None:
    values = np.arange(1000.0)
    assert comparison.region_quantile(values, values, 0.1) == pytest.approx(949.5)
    assert comparison.region_quantile(-values, values, 0.1) == pytest.approx(49.5)


def test_jet_features_shapes_and_masses(mixture) -> None:
    jets = mixture.jets[:200]
    plain = comparison.jet_features(jets, "jets")
    extended = comparison.jet_features(jets, "jets+dijet_masses")
    assert plain.shape == (200, 16)
    assert extended.shape == (200, 22)
    np.testing.assert_array_equal(extended[:, :16], plain)
    # The symmetry map keeps every invariant mass.
    masses = dijet_pairings(jets).mass.reshape(200, 6)
    np.testing.assert_allclose(extended[:, 16:], masses, rtol=1e-9)


def test_jet_features_invariant_under_rotation(mixture) -> None:
    jets = np.array(mixture.jets[:200])
    rotated = jets.copy()
    rotated[:, :, 2] = np.mod(rotated[:, :, 2] + 1.0 + np.pi, 2 * np.pi) - np.pi
    np.testing.assert_allclose(
        comparison.jet_features(rotated, "jets+dijet_masses"),
        comparison.jet_features(jets, "jets+dijet_masses"),
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="feature_set"):
        comparison.jet_features(jets, "pixels")


def test_mlp_representation_feeds_last_layer(rng) -> None:
    inputs = rng.normal(size=(50, 5))
    model = MLPClassifier.from_data(inputs, hidden=(8, 4))
    zeta = comparison.mlp_representation(model, inputs, device="cpu")
    assert zeta.shape == (50, 4)
    with torch.no_grad():
        logits = model(torch.from_numpy(inputs).float()).numpy()
        from_zeta = model.layers[-1](torch.from_numpy(zeta).float()).squeeze(-1)
    np.testing.assert_allclose(from_zeta.numpy(), logits, atol=1e-5)


def test_scaled_three_tag() -> None:
    reference = ThreeTagModel()
    assert comparison.scaled_three_tag(1.0) == reference
    none = comparison.scaled_three_tag(0.0)
    assert none.mass_exponent_shift == 0
    assert none.rapidity_sigma_shift == 0
    assert none.n_light_jets == 0
    double = comparison.scaled_three_tag(2.0)
    assert double.mass_exponent_shift == pytest.approx(
        2 * reference.mass_exponent_shift
    )
    assert double.n_light_jets == 2
    assert comparison.scaled_three_tag(10.0).n_light_jets == 4
    with pytest.raises(ValueError, match="scale"):
        comparison.scaled_three_tag(-1.0)


def test_mismatch_at_scale_one_is_the_repeat() -> None:
    config = tiny_config()
    scores = comparison.run_mismatch_repeat(config, 3, 1.0, device="cpu")
    repeat = hh4b.run_hh4b_repeat(config, 3, device="cpu")
    np.testing.assert_array_equal(scores["log_gamma"], repeat.log_gamma)
    np.testing.assert_array_equal(
        scores["log_gamma_smoothed"], repeat.log_gamma_smoothed
    )
    jets = hh4b.draw_and_split(config, 3).jets(2)[2]
    np.testing.assert_allclose(scores["m4j"], four_jet_mass(jets))


def test_mismatch_keeps_4b_events() -> None:
    config = tiny_config()
    none = comparison.run_mismatch_repeat(config, 3, 0.0, device="cpu")
    default = hh4b.draw_and_split(config, 3)
    np.testing.assert_allclose(none["m4j"], four_jet_mass(default.jets(2)[2]))
    np.testing.assert_array_equal(
        none["is_signal"], default.events_4b.is_signal[default.parts_4b[2]]
    )


def test_mlp_repeat_scores_held_out_events() -> None:
    config = tiny_config()
    split = hh4b.draw_and_split(config, 1)
    for feature_set in comparison.FEATURE_SETS:
        scores = comparison.run_mlp_repeat(config, 1, feature_set, device="cpu")
        assert len(scores) == len(split.parts_4b[2])
        assert np.all(np.isfinite(scores[["log_gamma", "log_gamma_smoothed"]]))
        np.testing.assert_array_equal(
            scores["is_signal"], split.events_4b.is_signal[split.parts_4b[2]]
        )


def test_oracle_separates_and_caches(tmp_path, mixture) -> None:
    training = replace(hh4b.DEFAULT_NETWORK_TRAINING, max_epochs=3)
    labels = mixture.is_signal[:2000]
    jets = mixture.jets[:2000]
    scores = comparison.oracle_scores(
        tmp_path, 2000, 0, jets, training=training, device="cpu"
    )
    cached = list((tmp_path / "oracle").glob("*.pt"))
    assert len(cached) == 1
    modified = cached[0].stat().st_mtime_ns

    # Area under the ROC curve from the rank sum. Without separation it has sd
    # sqrt((n1 + n0 + 1) / (12 n1 n0)), under 0.015 here, so 0.6 is over
    # six sd above chance.
    ranks = np.argsort(np.argsort(scores)) + 1
    n1, n0 = labels.sum(), (~labels).sum()
    auc = (ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert np.sqrt((n1 + n0 + 1) / (12 * n1 * n0)) < 0.015
    assert auc > 0.6

    again = comparison.oracle_scores(
        tmp_path, 2000, 0, jets, training=training, device="cpu"
    )
    np.testing.assert_array_equal(again, scores)
    assert cached[0].stat().st_mtime_ns == modified
