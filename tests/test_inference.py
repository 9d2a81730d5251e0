from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from srlib.hh4b import HH4bConfig
from srlib.inference import (
    HalfSample,
    RegionMasks,
    control_region_thresholds,
    estimate_background,
    poisson_gaussian_p_value,
    run_search_repeat,
    run_search_study,
    search_signal_region,
    test_signal,
    train_control_region_ratio,
    weighted_median,
)
from srlib.ratio import TrainingConfig
from srlib.simulation import ThreeTagModel


def _half_from_features(
    features_3b: np.ndarray, features_4b: np.ndarray, thresholds
) -> HalfSample:
    """Build a half sample whose score is the first feature."""
    return HalfSample(
        features_3b=features_3b,
        features_4b=features_4b,
        log_smoothed_3b=np.zeros(len(features_3b)),
        weights_3b=np.ones(len(features_3b)),
        weights_4b=np.ones(len(features_4b)),
        masks_3b=thresholds.masks(features_3b[:, 0]),
        masks_4b=thresholds.masks(features_4b[:, 0]),
    )


def _same_distribution_halves(rng: np.random.Generator, n: int):
    """Return a selection and a counting half whose 3b and 4b events share one
    2-D Gaussian distribution, with the regions set on the selection 4b events."""
    draws = [rng.normal(size=(n, 2)) for _ in range(4)]
    thresholds = control_region_thresholds(draws[1][:, 0])
    selection = _half_from_features(draws[0], draws[1], thresholds)
    counting = _half_from_features(draws[2], draws[3], thresholds)
    return selection, counting


def test_identical_samples_close_exactly(rng: np.random.Generator) -> None:
    # With the 3b sample equal to the 4b sample, every transfer is exact.
    score = rng.normal(size=4000)
    masks = control_region_thresholds(score).masks(score)
    log_ratio = np.full(4000, 0.7)
    estimate = estimate_background(masks, masks, log_ratio_3b=log_ratio)
    assert estimate.expected == pytest.approx(masks.signal.sum(), rel=1e-12)
    assert estimate.closure == pytest.approx(0.0, abs=1e-12)
    assert estimate.syst_error == 0.0
    assert estimate.control_weight_4b == masks.control.sum()


def test_large_log_ratio_outside_regions_is_ignored(rng) -> None:
    # An event outside the SR and the CR with a log ratio 1e5 above the others
    # made exp overflow, which pytest turns into an error, although the
    # estimate never reads that event.
    score = rng.normal(size=4000)
    masks = control_region_thresholds(score).masks(score)
    outside = int(np.flatnonzero(~(masks.signal | masks.control))[0])
    log_ratio = np.zeros(4000)
    log_ratio[outside] = 1e5
    estimate = estimate_background(masks, masks, log_ratio_3b=log_ratio)
    assert estimate == estimate_background(masks, masks, log_ratio_3b=np.zeros(4000))


def test_same_distribution_expected_matches_observed(
    rng: np.random.Generator,
) -> None:
    _, counting = _same_distribution_halves(rng, 20_000)
    estimate = estimate_background(
        counting.masks_3b, counting.masks_4b, n_bootstrap=400, seed=1
    )
    observed = counting.masks_4b.signal.sum()
    # Observed minus expected has variance b (Poisson count) plus the estimate's
    # own variance; 3 sd of that is the tolerance (0.3 % two-sided).
    tolerance = 3 * np.sqrt(estimate.expected + estimate.error**2)
    assert abs(observed - estimate.expected) < tolerance
    # The SR contains 5 % of 20 000 events, so the estimate sits near 1 000.
    assert estimate.expected == pytest.approx(1000, rel=0.15)


def test_bootstrap_error_matches_spread_over_seeds() -> None:
    # Same-distribution samples: the sd over 60 seeds of (observed - expected)
    # should match the stated error sqrt(b + sigma_stat^2). The sd of 60 draws has
    # a relative error of 1/sqrt(2 * 59) = 9 %, so 30 % is more than 3 sd.
    differences, stated = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        _, counting = _same_distribution_halves(rng, 4000)
        estimate = estimate_background(
            counting.masks_3b, counting.masks_4b, n_bootstrap=200, seed=seed
        )
        differences.append(counting.masks_4b.signal.sum() - estimate.expected)
        stated.append(np.sqrt(estimate.expected + estimate.stat_error**2))
    ratio = np.std(differences, ddof=1) / np.mean(stated)
    assert ratio == pytest.approx(1.0, abs=0.3)
    # The mean difference is near 0 within 3 standard errors.
    assert abs(np.mean(differences)) < 3 * np.std(differences, ddof=1) / np.sqrt(60)


def test_classifier_background_on_same_distribution(
    rng: np.random.Generator,
) -> None:
    selection, counting = _same_distribution_halves(rng, 8000)
    config = TrainingConfig(max_epochs=10, progress=False, device="cpu")
    estimate, test = search_signal_region(
        selection, counting, method="classifier", ratio_config=config, seed=3
    )
    # Same tolerance as for the flat transfer: 3 sd of observed minus expected.
    tolerance = 3 * np.sqrt(estimate.expected + estimate.error**2)
    assert abs(test.observed - estimate.expected) < tolerance
    assert test.p_value > 0.001


def test_control_ratio_of_same_distribution_is_flat(
    rng: np.random.Generator,
) -> None:
    x_3b, x_4b = rng.normal(size=(2, 3000, 2))
    config = TrainingConfig(max_epochs=10, progress=False, device="cpu")
    ratio = train_control_region_ratio(x_3b, x_4b, config=config)
    log_ratio = ratio.log_ratio(rng.normal(size=(2000, 2)))
    # Equal densities: the learned log ratio stays near 0 where the data lie.
    assert abs(np.median(log_ratio)) < 0.1
    assert np.quantile(np.abs(log_ratio), 0.9) < 0.3


def test_regions_are_disjoint_and_hold_requested_shares(
    rng: np.random.Generator,
) -> None:
    score = rng.normal(size=10_000)
    weights = rng.exponential(size=10_000)
    thresholds = control_region_thresholds(
        score, weights, signal_size=0.05, control_size=0.2
    )
    masks = thresholds.masks(score)
    assert not (masks.signal & masks.control).any()
    assert not (masks.control_lower & masks.control_upper).any()
    total = weights.sum()
    largest = weights.max() / total
    signal_share = weights[masks.signal].sum() / total
    control_share = weights[masks.control].sum() / total
    # Each threshold overshoots its cumulative share by less than one event.
    assert 0.05 <= signal_share < 0.05 + largest
    assert control_share == pytest.approx(0.2, abs=2 * largest)
    upper_share = weights[masks.control_upper].sum() / total
    assert upper_share == pytest.approx(0.1, abs=2 * largest)
    # The CR lies just below the SR in the ranking, its upper half nearest.
    assert score[masks.control].max() < score[masks.signal].min()
    assert score[masks.control_lower].max() < score[masks.control_upper].min()
    outside = ~(masks.signal | masks.control)
    assert score[outside].max() < score[masks.control].min()


def test_window_masks_halve_control_region() -> None:
    signal = np.array([True, True, False, False, False, False])
    control = np.array([True, False, True, True, True, False])
    score = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    masks = RegionMasks.from_window(signal, control, score, closure_threshold=2.0)
    assert masks.signal.tolist() == signal.tolist()
    # The first event is in the SR, so the window's CR loses it.
    assert masks.control_upper.tolist() == [False, False, True, True, False, False]
    assert masks.control_lower.tolist() == [False, False, False, False, True, False]


def test_weighted_median() -> None:
    assert weighted_median(np.array([3.0, 1.0, 2.0])) == 2.0
    assert weighted_median(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 5.0])) == 3.0


def test_p_value_without_error_is_poisson_tail() -> None:
    assert poisson_gaussian_p_value(15, 10.0, 0.0) == pytest.approx(
        stats.poisson.sf(14, 10.0), rel=1e-12
    )
    assert poisson_gaussian_p_value(0, 10.0, 2.0) == pytest.approx(1.0, abs=1e-12)


def test_p_value_matches_monte_carlo() -> None:
    # Draw b from the truncated Gaussian, then N from Poisson(b). With 200 000
    # draws the binomial sd of the tail share is at most 0.0012, so 0.005 is 4 sd.
    rng = np.random.default_rng(7)
    b = stats.truncnorm.rvs(
        -2.5, np.inf, loc=20, scale=8, size=200_000, random_state=rng
    )
    simulated = np.mean(rng.poisson(b) >= 30)
    assert poisson_gaussian_p_value(30, 20.0, 8.0) == pytest.approx(
        simulated, abs=0.005
    )


def test_p_value_grows_with_background_error() -> None:
    values = [poisson_gaussian_p_value(40, 25.0, error) for error in (0, 2, 5, 10)]
    assert values == sorted(values)
    assert values[0] < values[-1]


def test_big_excess_has_small_p_value(rng: np.random.Generator) -> None:
    selection, counting = _same_distribution_halves(rng, 8000)
    # Inject 200 signal events far up the score, inside the SR.
    signal = np.column_stack([rng.normal(4.0, 0.2, 200), rng.normal(size=200)])
    features_4b = np.concatenate([counting.features_4b, signal])
    masks = control_region_thresholds(selection.features_4b[:, 0]).masks(
        features_4b[:, 0]
    )
    injected = replace(
        counting, features_4b=features_4b, weights_4b=np.ones(8200), masks_4b=masks
    )
    estimate, test = search_signal_region(selection, injected, method="flat")
    # About 380 background events are expected and 580 observed: Z near 5.
    assert test.observed - estimate.expected > 150
    assert test.p_value < 1e-6
    assert test.significance > 4.5


def test_signal_test_significance_matches_p_value() -> None:
    result = test_signal(30, 20.0, 3.0)
    assert result.significance == pytest.approx(stats.norm.isf(result.p_value))
    assert result.observed == 30


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1, 10.0, 1.0), "observed"),
        ((2.5, 10.0, 1.0), "observed"),
        ((3, 0.0, 1.0), "expected"),
        ((3, np.nan, 1.0), "expected"),
        ((3, 10.0, -1.0), "error"),
    ],
)
def test_p_value_rejects_bad_input(arguments, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        poisson_gaussian_p_value(*arguments)


@pytest.mark.parametrize("n_grid", [0, 1, 2.5])
def test_p_value_rejects_bad_grid(n_grid) -> None:
    # A grid of 0 or 1 points returned NaN, with only a RuntimeWarning.
    with pytest.raises(ValueError, match="n_grid"):
        poisson_gaussian_p_value(3, 10.0, 1.0, n_grid=n_grid)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"signal_size": 0.0}, "signal_size"),
        ({"signal_size": 0.5, "control_size": 0.6}, "signal_size \\+ control_size"),
        ({"methods": ("nope",)}, "methods"),
        ({"methods": ()}, "methods"),
        ({"methods": "flat"}, "methods"),
        ({"n_bootstrap": 1}, "n_bootstrap"),
    ],
)
def test_search_rejects_bad_settings_before_training(
    settings: dict, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    # These settings failed only after both trainings, or not at all for an
    # unknown method; no simulation may run before the check.
    import srlib.inference as inference

    def fail(*args, **kwargs):
        raise AssertionError("simulate_samples ran before the settings were checked")

    monkeypatch.setattr(inference, "simulate_samples", fail)
    config = HH4bConfig(n_3b=2000)
    with pytest.raises(ValueError, match=message):
        run_search_repeat(config, 0, **settings)
    with pytest.raises(ValueError, match=message):
        run_search_study([config], [0], tmp_path, **settings)


def test_search_study_rejects_empty_lists(tmp_path) -> None:
    with pytest.raises(ValueError, match="seeds is empty"):
        run_search_study([HH4bConfig(n_3b=2000)], [], tmp_path)
    with pytest.raises(ValueError, match="configs is empty"):
        run_search_study([], [0], tmp_path)


def test_thresholds_reject_bad_sizes(rng: np.random.Generator) -> None:
    score = rng.normal(size=100)
    with pytest.raises(ValueError, match="signal_size"):
        control_region_thresholds(score, signal_size=0.0)
    with pytest.raises(ValueError, match="control_size"):
        control_region_thresholds(score, control_size=1.5)
    with pytest.raises(ValueError, match="stay below 1"):
        control_region_thresholds(score, signal_size=0.5, control_size=0.5)
    with pytest.raises(ValueError, match="CR is empty"):
        control_region_thresholds(np.zeros(100))


def test_overlapping_masks_are_rejected() -> None:
    inside = np.array([True, False])
    with pytest.raises(ValueError, match="more than one region"):
        RegionMasks(inside, inside, ~inside)


def test_estimate_rejects_empty_control_half(rng: np.random.Generator) -> None:
    score = rng.normal(size=1000)
    masks = control_region_thresholds(score).masks(score)
    empty = RegionMasks(masks.signal, np.zeros(1000, bool), masks.control_upper)
    with pytest.raises(ValueError, match="lower half of the CR contains no 3b"):
        estimate_background(empty, masks)
    with pytest.raises(ValueError, match="log_ratio_3b has 3 entries"):
        estimate_background(masks, masks, log_ratio_3b=np.zeros(3))
    with pytest.raises(ValueError, match="n_bootstrap"):
        estimate_background(masks, masks, n_bootstrap=1)


def test_search_rejects_bad_method_and_weights(rng: np.random.Generator) -> None:
    selection, counting = _same_distribution_halves(rng, 500)
    with pytest.raises(ValueError, match="method must be one of"):
        search_signal_region(selection, counting, method="gamma")
    weighted = replace(counting, weights_4b=np.full(500, 2.0))
    with pytest.raises(ValueError, match="weights_4b must all be 1"):
        search_signal_region(selection, weighted, method="flat")


def test_search_repeat_rows() -> None:
    config = HH4bConfig(n_3b=4000, signal_ratio=0.2)
    config = replace(
        config, network_training=replace(config.network_training, max_epochs=1)
    )
    table = run_search_repeat(config, 0, methods=("flat", "smoothed"), n_bootstrap=50)
    assert sorted(set(table["region"])) == ["data-driven", "mass window"]
    assert len(table) == 4
    assert (table["signal_in_sr"] <= table["signal_counted"]).all()
    assert table["p_value"].between(0, 1).all()
    # 4 000 events of which 18.75 % are held out and half of those counted: 375
    # 4b events with Binomial(375, 0.2) signal, sd 7.7 around 75.
    assert table["signal_counted"].iloc[0] == pytest.approx(75, abs=4 * 7.7)
    # Rerunning with the same seed gives the same numbers.
    again = run_search_repeat(config, 0, methods=("flat", "smoothed"), n_bootstrap=50)
    assert again["observed"].tolist() == table["observed"].tolist()
    assert again["expected"].tolist() == pytest.approx(table["expected"].tolist())


def test_search_study_reads_finished_repeats(tmp_path) -> None:
    config = HH4bConfig(n_3b=4000, signal_ratio=0.0)
    config = replace(
        config, network_training=replace(config.network_training, max_epochs=1)
    )
    identical = ThreeTagModel(0.0, 0.0, 0)
    first = run_search_study(
        [config], [3], tmp_path, methods=("flat",), n_bootstrap=20, three_tag=identical
    )
    files = list(tmp_path.glob("search/*/seed_3.parquet"))
    assert len(files) == 1
    # A rerun reads the stored table, so even the recorded wall time is equal.
    again = run_search_study(
        [config], [3], tmp_path, methods=("flat",), n_bootstrap=20, three_tag=identical
    )
    assert again.equals(first)
    # Another 3b model is another study and gets its own folder.
    run_search_study([config], [3], tmp_path, methods=("flat",), n_bootstrap=20)
    assert len(list(tmp_path.glob("search/*/seed_3.parquet"))) == 2
