from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import srlib.hh4b as hh4b
from srlib.events import Events
from srlib.hh4b import (
    DEFAULT_NETWORK_TRAINING,
    HH4bConfig,
    curves_from_table,
    draw_and_split,
    load_histories,
    load_repeat_network,
    load_scores,
    run_hh4b_repeat,
    run_hh4b_study,
    save_repeat,
    split_indices,
)
from srlib.network import FourJetNetwork
from srlib.ratio import DensityRatioEstimator, predict_logits
from srlib.simulation import simulate_background_3b


def tiny_config(**changes: object) -> HH4bConfig:
    config = HH4bConfig(n_3b=1500, signal_ratio=0.2)
    config = replace(
        config,
        network_training=replace(config.network_training, max_epochs=1),
        head_training=replace(config.head_training, max_epochs=2),
    )
    return replace(config, **changes)


def four_jet_mass(jets: np.ndarray) -> np.ndarray:
    pt, eta, phi, mass = np.moveaxis(jets, -1, 0)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    squared = energy.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    return np.sqrt(np.maximum(squared, 0))


def test_split_covers_every_event_once() -> None:
    parts = split_indices(1600, (0.75, 0.0625), np.random.default_rng(0))
    assert [len(p) for p in parts] == [1200, 100, 300]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1600))


def test_config_key_ignores_device_and_progress() -> None:
    config = HH4bConfig()
    moved = replace(
        config,
        network_training=replace(config.network_training, device="cuda", progress=True),
    )
    assert moved.key() == config.key()
    assert replace(config, eta=0.2).key() != config.key()


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"eta": 0.0}, "eta"),
        ({"signal_ratio": 1.0}, "signal_ratio"),
        ({"representation": "jets"}, "representation"),
        ({"gamma_fraction": 0.9, "smoothed_fraction": 0.2}, "held-out"),
        ({"n_3b": 0}, "n_3b"),
        ({"signal_ratio": "0.1"}, "signal_ratio"),
        ({"signal_ratio": None}, "signal_ratio"),
        ({"network_training": {"max_epochs": 1}}, "network_training"),
        ({"head_training": None}, "head_training"),
    ],
)
def test_invalid_config(changes: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        replace(HH4bConfig(), **changes)


def test_repeat_measures_held_out_events() -> None:
    config = tiny_config()
    result = run_hh4b_repeat(config, seed=1, sizes=np.array([0.1, 1.0]), device="cpu")
    # 18.75 % of 1 500 4b events are held out.
    assert len(result.log_gamma) == 1500 - 1125 - 94
    assert np.isfinite(result.log_gamma_smoothed).all()
    assert result.curve.signal_share[-1] == pytest.approx(1.0)
    assert result.n_parameters == 675
    table = result.to_table()
    assert set(table["method"]) == {"gamma/gamma~", "gamma"}
    assert (table["config_key"] == config.key()).all()
    assert "version.torch" in table


def test_repeat_rejects_unlabelled_samples() -> None:
    events = simulate_background_3b(100, seed=0)
    unlabelled = Events(events.jets, events.weights)
    with pytest.raises(ValueError, match="truth labels"):
        run_hh4b_repeat(tiny_config(), 0, samples=(events, unlabelled), device="cpu")
    with pytest.raises(ValueError, match="no signal"):
        run_hh4b_repeat(tiny_config(), 0, samples=(events, events), device="cpu")


def test_study_skips_finished_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = [tiny_config(), tiny_config(eta=0.5)]
    calls: list[int] = []
    original = hh4b.run_hh4b_repeat

    def counting(config: HH4bConfig, seed: int, **kwargs: object):
        calls.append(seed)
        return original(config, seed, sizes=np.array([0.1, 0.5]), **kwargs)

    monkeypatch.setattr(hh4b, "run_hh4b_repeat", counting)
    first = run_hh4b_study(configs, [0, 1], tmp_path, device="cpu")
    assert len(calls) == 4
    second = run_hh4b_study(configs, [0, 1], tmp_path, device="cpu")
    assert len(calls) == 4
    pd.testing.assert_frame_equal(first, second)
    assert len(curves_from_table(first[first["eta"] == 0.5])) == 2


def test_saved_repeat_reloads(tmp_path: Path) -> None:
    config = tiny_config()
    result = run_hh4b_repeat(config, seed=2, sizes=np.array([0.5]), device="cpu")
    save_repeat(result, tmp_path)
    scores = load_scores(tmp_path, config, 2)
    assert np.array_equal(scores["log_gamma"], result.log_gamma)
    assert np.array_equal(scores["is_signal"], result.is_signal)
    histories = load_histories(tmp_path, config, 2)
    assert histories["head"] == result.history_head
    network, log_prior_ratio = load_repeat_network(tmp_path, config, 2)
    assert log_prior_ratio == result.log_prior_ratio
    # The reloaded network reproduces the held-out log gamma.
    _, _, jets, _ = draw_and_split(config, 2).jets(2)
    logits = predict_logits(network, jets, device="cpu")
    assert np.allclose(logits - log_prior_ratio, result.log_gamma, atol=1e-6)


def test_interrupted_study_keeps_finished_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config()
    original = hh4b.run_hh4b_repeat

    def failing_on_seed_1(config: HH4bConfig, seed: int, **kwargs: object):
        if seed == 1:
            raise KeyboardInterrupt
        return original(config, seed, sizes=np.array([0.5]), **kwargs)

    monkeypatch.setattr(hh4b, "run_hh4b_repeat", failing_on_seed_1)
    with pytest.raises(KeyboardInterrupt):
        run_hh4b_study([config], [0, 1], tmp_path, device="cpu")
    folder = tmp_path / config.key()
    assert sorted(p.name for p in folder.glob("seed_*")) == [
        "seed_0.history.json",
        "seed_0.network.pt",
        "seed_0.parquet",
        "seed_0.scores.parquet",
    ]
    assert not list(folder.glob(".*.tmp*"))


def test_network_learns_known_reweighting() -> None:
    # The 4b sample is a second 3b sample reweighted by w = (m_4j / 300 GeV)^0.8,
    # so log gamma = 0.8 log(m_4j / 300 GeV) - log E[w]. Each quintile of the true
    # log ratio holds about 3 600 training events per sample, which gives a
    # statistical sd of the learned log ratio of about sqrt(2 / 3600) = 0.024 per
    # quintile; 0.1 is four such sd.
    events_3b = simulate_background_3b(20_000, seed=0)
    events_4b = simulate_background_3b(20_000, seed=100)
    test_events = simulate_background_3b(20_000, seed=200)
    weights = (four_jet_mass(events_4b.jets) / 300) ** 0.8
    config = replace(DEFAULT_NETWORK_TRAINING, max_epochs=10, device="cpu", seed=0)
    ratio = DensityRatioEstimator(
        config=config, model_factory=lambda _: FourJetNetwork(width=6)
    ).fit(events_3b.jets, events_4b.jets, None, weights)

    truth = 0.8 * np.log(four_jet_mass(test_events.jets) / 300) - np.log(weights.mean())
    learned = ratio.log_ratio(test_events.jets)
    edges = np.quantile(truth, np.linspace(0, 1, 6))
    quintile = np.digitize(truth, edges[1:-1])
    for k in range(5):
        inside = quintile == k
        assert abs(learned[inside].mean() - truth[inside].mean()) < 0.1
    # The network must follow the trend within each event, not only on average.
    assert np.sqrt(np.mean((learned - truth) ** 2)) < 0.5 * truth.std()


def test_find_signal_region_matches_repeat_without_labels(tmp_path: Path) -> None:
    from srlib.io import read_events, write_events
    from srlib.simulation import simulate_samples

    config = tiny_config()
    events_3b, events_4b = simulate_samples(1500, 1500, 0.2, seed=4)
    unlabelled = [replace(e, is_signal=None) for e in (events_3b, events_4b)]
    paths = [tmp_path / "3b.parquet", tmp_path / "4b.parquet"]
    for events, path in zip(unlabelled, paths, strict=True):
        write_events(events, path)
    from_files = [read_events(path) for path in paths]
    assert from_files[1].is_signal is None

    region = hh4b.find_signal_region(*from_files, config, seed=3, progress=False)
    repeat = run_hh4b_repeat(config, 3, samples=(events_3b, events_4b))

    # Same split, same training seeds and the same events give the same scores; the
    # parquet round trip is exact, so only float32 rounding of torch could differ.
    np.testing.assert_allclose(region.log_gamma, repeat.log_gamma, atol=1e-6)
    np.testing.assert_allclose(
        region.log_gamma_smoothed, repeat.log_gamma_smoothed, atol=1e-6
    )
    assert np.array_equal(events_4b.is_signal[region.indices], repeat.is_signal)


def test_find_signal_region_select_holds_requested_share() -> None:
    from srlib.simulation import simulate_samples

    events_3b, events_4b = simulate_samples(1500, 1500, 0.2, seed=5)
    region = hh4b.find_signal_region(
        events_3b, replace(events_4b, is_signal=None), tiny_config(), progress=False
    )
    chosen = region.select(0.1)
    assert set(chosen) <= set(region.indices)
    share = events_4b.weights[chosen].sum() / region.weights.sum()
    # The threshold is a weighted quantile of unit-weight held-out events, so the
    # SR's share misses 0.1 by at most one event's weight.
    assert share == pytest.approx(0.1, abs=1 / len(region.indices))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda e3, e4: draw_and_split(tiny_config(), -1, (e3, e4)), "seed"),
        (lambda e3, e4: draw_and_split(tiny_config(), 1.5, (e3, e4)), "seed"),
        (
            lambda e3, e4: draw_and_split(tiny_config(), 0, (e3.jets, e4)),
            r"samples\[0\]",
        ),
        (
            lambda e3, e4: draw_and_split(
                tiny_config(), 0, (e3, e4.subset(slice(0, 10)))
            ),
            r"samples\[1\]",
        ),
        (lambda e3, e4: run_hh4b_study([tiny_config()], [], "unused"), "seeds"),
        (lambda e3, e4: run_hh4b_study([], [0], "unused"), "configs"),
        (lambda e3, e4: run_hh4b_study([{"n_3b": 10}], [0], "unused"), "configs"),
    ],
)
def test_bad_arguments_name_argument(call, name: str) -> None:
    # Each failed before with an error from numpy or pandas that named no argument.
    events_3b = simulate_background_3b(100, seed=0)
    events_4b = simulate_background_3b(100, seed=1)
    with pytest.raises(ValueError, match=name):
        call(events_3b, events_4b)


def test_no_signal_message_names_simulation() -> None:
    with pytest.raises(ValueError, match="simulated 4b sample contains no signal"):
        draw_and_split(tiny_config(signal_ratio=0.0, n_3b=200), 0)


def test_find_signal_region_names_its_arguments() -> None:
    # Errors named samples[0] and samples[1], which are not arguments of
    # find_signal_region, and negative weights were reported for one part only.
    events_3b = simulate_background_3b(100, seed=0)
    events_4b = simulate_background_3b(100, seed=1)
    config = tiny_config()
    with pytest.raises(ValueError, match="events_4b has 100 events with negative"):
        hh4b.find_signal_region(
            events_3b, events_4b.with_weights(-events_4b.weights), config
        )
    with pytest.raises(ValueError, match="events_3b has total weight 0"):
        hh4b.find_signal_region(
            events_3b.with_weights(np.zeros(100)), events_4b, config
        )
    with pytest.raises(ValueError, match="events_4b must be an Events sample"):
        hh4b.find_signal_region(events_3b, events_4b.jets, config)
