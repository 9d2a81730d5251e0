from dataclasses import replace

import numpy as np
import pytest

from srlib import hh4b
from srlib.sensitivity import (
    EtaSweep,
    check_rebuilt_repeat,
    choose_eta_one_se,
    held_out_cross_entropy,
    smoothing_diagnostics,
    sweep_eta,
    sweep_file,
)


def tiny_config() -> hh4b.HH4bConfig:
    config = hh4b.HH4bConfig(n_3b=1500, signal_ratio=0.2)
    return replace(
        config,
        network_training=replace(config.network_training, max_epochs=1),
        head_training=replace(config.head_training, max_epochs=2),
    )


def gaussian_sweep(rng: np.random.Generator, n: int = 4000) -> EtaSweep:
    """A sweep whose 3b events follow N(0, 1) and 4b events N(1, 1), with the exact
    log ratio x - 1/2 as log gamma and four made-up smoothed ratios."""
    x_3b, x_4b = rng.normal(0, 1, n), rng.normal(1, 1, n)
    exact_3b, exact_4b = x_3b - 0.5, x_4b - 0.5
    smoothed_4b = np.stack([exact_4b, 0.5 * exact_4b, np.zeros(n), rng.normal(0, 1, n)])
    smoothed_3b = np.stack([exact_3b, 0.5 * exact_3b, np.zeros(n), rng.normal(0, 1, n)])
    return EtaSweep(
        etas=np.array([0.01, 0.1, 1.0, 10.0]),
        log_gamma=exact_4b,
        log_gamma_smoothed=smoothed_4b,
        is_signal=x_4b > 2.5,
        weights=np.ones(n),
        log_gamma_smoothed_3b=smoothed_3b,
        weights_3b=np.ones(n),
    )


def test_cross_entropy_of_zero_logit_is_log2() -> None:
    value, losses, weights = held_out_cross_entropy(np.zeros(5), np.zeros(7))
    assert value == pytest.approx(np.log(2), rel=1e-12)
    assert weights[:5].sum() == pytest.approx(0.5)
    assert weights[5:].sum() == pytest.approx(0.5)
    assert losses.shape == (12,)


def test_cross_entropy_of_exact_ratio_matches_integral(rng) -> None:
    n = 20_000
    x_3b, x_4b = rng.normal(0, 1, n), rng.normal(1, 1, n)
    value, losses, weights = held_out_cross_entropy(x_3b - 0.5, x_4b - 0.5)

    # Population value by quadrature. By the symmetry x -> 1 - x both classes
    # contribute the same, E_{x~N(0,1)} softplus(x - 1/2).
    grid = np.linspace(-10, 10, 200_001)
    density = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi)
    exact = np.sum(density * np.logaddexp(0, grid - 0.5)) * (grid[1] - grid[0])

    # Standard error of a weighted mean of independent terms; four of them bound
    # a false failure below 1e-4.
    centred = np.concatenate(
        [losses[:n] - losses[:n].mean(), losses[n:] - losses[n:].mean()]
    )
    error = np.sqrt(np.sum(weights**2 * centred**2))
    assert value == pytest.approx(exact, abs=4 * error)
    assert value < np.log(2)


def test_cross_entropy_rejects_wrong_weights() -> None:
    with pytest.raises(ValueError, match="weights_3b"):
        held_out_cross_entropy(np.zeros(3), np.zeros(3), np.ones(2), None)


def test_sweep_cross_entropy_and_error(rng) -> None:
    sweep = gaussian_sweep(rng)
    values, errors = sweep.cross_entropy()

    # The exact ratio (k = 0) is Bayes-optimal, so it has the lowest value up to
    # noise, and the standard error of its difference from itself is 0.
    assert int(np.argmin(values)) == 0
    assert errors[0] == 0
    assert values[2] == pytest.approx(np.log(2), rel=1e-12)

    # With unit weights and N events per class the paired error reduces to
    # sqrt(var_3b(d) / N + var_4b(d) / N) / 2, with the population variances.
    n = len(sweep.log_gamma)
    _, loss_best, _ = held_out_cross_entropy(
        sweep.log_gamma_smoothed_3b[0], sweep.log_gamma_smoothed[0]
    )
    _, loss_flat, _ = held_out_cross_entropy(
        sweep.log_gamma_smoothed_3b[2], sweep.log_gamma_smoothed[2]
    )
    d = loss_flat - loss_best
    expected = 0.5 * np.sqrt(d[:n].var() / n + d[n:].var() / n)
    assert errors[2] == pytest.approx(expected, rel=1e-10)


def test_choose_eta_one_se_picks_largest_within_error() -> None:
    etas = [0.01, 0.1, 1.0]
    values = [0.500, 0.501, 0.510]
    errors = [0.0, 0.002, 0.005]
    assert choose_eta_one_se(etas, values, errors) == 0.1
    assert choose_eta_one_se(etas, values, errors, n_se=0) == 0.01
    assert choose_eta_one_se(etas, values, errors, n_se=3) == 1.0


def test_choose_eta_one_se_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        choose_eta_one_se([0.1, 1.0], [0.5], [0.0])
    with pytest.raises(ValueError, match="n_se"):
        choose_eta_one_se([0.1], [0.5], [0.0], n_se=-1)


@pytest.mark.parametrize(
    ("etas", "errors", "n_se", "name"),
    [
        # n_se=NaN accepted no scale and failed in numpy's max of an empty array.
        ([0.1, 1.0], [0.0, 0.01], float("nan"), "n_se"),
        ([-0.1, 1.0], [0.0, 0.01], 1.0, "etas"),
        ([0.1, 1.0], [0.0, -0.01], 1.0, "standard_error"),
    ],
)
def test_choose_eta_one_se_names_bad_argument(etas, errors, n_se, name) -> None:
    with pytest.raises(ValueError, match=name):
        choose_eta_one_se(etas, [0.5, 0.6], errors, n_se=n_se)


@pytest.mark.parametrize("etas", [0.1, "0.1", ["a"], [np.nan]])
def test_sweep_eta_names_bad_etas(etas, tmp_path) -> None:
    # A scalar raised "'float' object is not iterable" and a string entry
    # "could not convert string to float".
    with pytest.raises(ValueError, match="etas"):
        sweep_eta(hh4b.HH4bConfig(n_3b=200), 0, tmp_path, etas)


def test_smoothing_diagnostics_reads_failure_modes(rng) -> None:
    sweep = gaussian_sweep(rng)
    table = smoothing_diagnostics(sweep, 0.05).set_index("eta")

    # gamma~ = gamma: correlation and sd ratio 1.
    assert table.loc[0.01, "corr(log gamma, log gamma~)"] == pytest.approx(1.0)
    assert table.loc[0.01, "sd ratio"] == pytest.approx(1.0)
    # gamma~ = gamma / 2: the score is gamma / 2, so the SR is gamma's.
    assert table.loc[0.1, "sd ratio"] == pytest.approx(0.5)
    assert table.loc[0.1, "overlap with gamma-only SR"] == pytest.approx(1.0)
    # A flat gamma~: sd ratio 0 and the SR is gamma's.
    assert table.loc[1.0, "sd ratio"] == 0
    assert table.loc[1.0, "overlap with gamma-only SR"] == pytest.approx(1.0)
    # Independent noise: the correlation of 4000 pairs has sd 1/sqrt(4000) = 0.016,
    # so 0.07 is over four sd.
    assert abs(table.loc[10.0, "corr(log gamma, log gamma~)"]) < 0.07


def test_sweep_eta_reuses_network_and_cache(tmp_path) -> None:
    config = tiny_config()
    hh4b.run_hh4b_study([config], [0], tmp_path, device="cpu")
    sweep = sweep_eta(config, 0, tmp_path, [1.0, config.eta], device="cpu")

    # The grid is sorted, and at the repeat's own eta the retrained head is the
    # stored one: same events, same seed, same network.
    assert list(sweep.etas) == [config.eta, 1.0]
    stored = hh4b.load_scores(tmp_path, config, 0)
    np.testing.assert_allclose(
        sweep.log_gamma_smoothed[0], stored["log_gamma_smoothed"], atol=1e-6
    )
    np.testing.assert_array_equal(sweep.is_signal, stored["is_signal"])
    assert sweep.log_gamma_smoothed_3b.shape[1] == len(
        hh4b.draw_and_split(config, 0).parts_3b[2]
    )

    # A second call with the same grid reads the file back.
    assert sweep_file(tmp_path, config, 0).exists()
    again = sweep_eta(config, 0, tmp_path, [config.eta, 1.0], device="cpu")
    np.testing.assert_array_equal(again.log_gamma_smoothed, sweep.log_gamma_smoothed)
    np.testing.assert_array_equal(again.weights_3b, sweep.weights_3b)


def test_sweep_eta_needs_finished_repeat(tmp_path) -> None:
    with pytest.raises(ValueError, match="run_hh4b_study"):
        sweep_eta(tiny_config(), 0, tmp_path, [0.1], device="cpu")
    with pytest.raises(ValueError, match="etas"):
        sweep_eta(tiny_config(), 0, tmp_path, [0.0], device="cpu")


def test_check_rebuilt_repeat_detects_other_events(tmp_path) -> None:
    config = tiny_config()
    hh4b.run_hh4b_study([config], [0], tmp_path, device="cpu")
    split = hh4b.draw_and_split(config, 0)
    stored = check_rebuilt_repeat(tmp_path, config, 0, split, device="cpu")
    assert len(stored) == len(split.parts_4b[2])

    # Events drawn with another seed stand in for a changed simulator.
    other = hh4b.draw_and_split(config, 1)
    with pytest.raises(ValueError, match="simulator or the network changed"):
        check_rebuilt_repeat(tmp_path, config, 0, other, device="cpu")
