import numpy as np
import pytest

from srlib.ratio import TrainingConfig
from srlib.study import run_toy_repeat, toy_peak_window
from srlib.toy import GaussianToy


def test_toy_repeat_shapes_and_exact_curve() -> None:
    toy = GaussianToy()
    config = TrainingConfig(max_epochs=2, progress=False, device="cpu")
    sizes = np.array([0.05, 0.5])
    result = run_toy_repeat(
        toy, n_train=1000, n_eval=20_000, config=config, seed=3, sizes=sizes
    )
    assert result.log_gamma.shape == result.grid.shape
    assert result.log_gamma_smoothed.shape == result.grid.shape
    low, high = toy_peak_window(toy)
    assert low <= result.peak <= high
    # The exact-ratio SR at 5 % holds 72.3 % of the signal in the population (by
    # integration on a fine grid); 1 000 signal events give a binomial sd of 0.014,
    # and the bound is about four of those.
    assert result.exact_curve.signal_share_at(0.05) == pytest.approx(0.723, abs=0.06)
    record = result.to_record(toy)
    assert record["seed"] == 3
    assert set(record) >= {"peak", "peak_error", "signal_share_5pct"}


def test_toy_repeat_rejects_grid_outside_window() -> None:
    config = TrainingConfig(max_epochs=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="grid"):
        run_toy_repeat(
            GaussianToy(),
            n_train=100,
            n_eval=100,
            config=config,
            seed=0,
            grid=np.array([50.0, 60.0]),
        )


def test_toy_repeat_without_signal_raises_before_training() -> None:
    # max_epochs=1 would still train; the error must come from the check on the
    # evaluation sample, which names signal_ratio.
    config = TrainingConfig(max_epochs=1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="signal_ratio=0.0"):
        run_toy_repeat(
            GaussianToy(signal_ratio=0.0),
            n_train=200,
            n_eval=500,
            config=config,
            seed=0,
        )
