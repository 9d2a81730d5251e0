"""End-to-end runs of the method for one configuration and seed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from srlib._validation import check_finite_array, check_sample_size
from srlib.ratio import DensityRatioEstimator, TrainingConfig, TrainingHistory
from srlib.region import (
    ConcentrationCurve,
    concentration_curve,
    default_region_sizes,
    signal_region_score,
)
from srlib.toy import GaussianToy

__all__ = ["ToyRepeatResult", "run_toy_repeat", "toy_peak_window"]

logger = logging.getLogger(__name__)

#: Region sizes at which results tables report the signal share.
REPORTED_SIZES = (0.01, 0.05, 0.10, 0.20)


@dataclass(frozen=True)
class ToyRepeatResult:
    """Learned ratios and signal regions of one repeat of the toy study.

    Attributes:
        seed: Seed of the samples and the trainings.
        n_train: Events per sample used to train each ratio.
        grid: Points at which the learned ratios were evaluated.
        log_gamma: Learned :math:`\\log\\gamma` on the grid.
        log_gamma_smoothed: Learned :math:`\\log\\tilde\\gamma` on the grid.
        peak: Position of the maximum of the learned :math:`\\gamma/\\tilde\\gamma`
            on the grid.
        curve: Concentration curve of the SR built from the learned ratios.
        exact_curve: Concentration curve of the SR built from the exact ratios, on
            the same evaluation events.
        gamma_only_curve: Concentration curve of the region ranked by the learned
            :math:`\\gamma` alone, without smoothing.
        history_gamma: Training record of :math:`\\gamma`.
        history_smoothed: Training record of :math:`\\tilde\\gamma`.
        seconds: Wall time of the repeat.
    """

    seed: int
    n_train: int
    grid: np.ndarray
    log_gamma: np.ndarray
    log_gamma_smoothed: np.ndarray
    peak: float
    curve: ConcentrationCurve
    exact_curve: ConcentrationCurve
    gamma_only_curve: ConcentrationCurve
    history_gamma: TrainingHistory
    history_smoothed: TrainingHistory
    seconds: float

    def to_record(self, toy: GaussianToy) -> dict[str, float | int]:
        """Return one row of numbers for a results table.

        The row holds the peak, its distance to the exact peak, the largest relative
        error of the learned :math:`\\tilde\\gamma` over the central 90 % of
        :math:`P_{4b}`, and the signal shares at :data:`REPORTED_SIZES` of the
        learned SR, the exact-ratio SR and the region ranked by :math:`\\gamma`
        alone.
        """
        low, high = toy.quantiles_4b(np.array([0.05, 0.95]))
        central = (self.grid >= low) & (self.grid <= high)
        error = np.exp(
            self.log_gamma_smoothed[central]
            - toy.log_gamma_smoothed(self.grid[central])
        )
        record: dict[str, float | int] = {
            "seed": self.seed,
            "n_train": self.n_train,
            "peak": self.peak,
            "peak_error": self.peak - toy.peak_of_score(*toy_peak_window(toy)),
            "max_relative_error_gamma_smoothed": float(np.abs(error - 1).max()),
            "seconds": self.seconds,
        }
        for size in REPORTED_SIZES:
            percent = round(100 * size)
            record[f"signal_share_{percent}pct"] = self.curve.signal_share_at(size)
            record[f"exact_signal_share_{percent}pct"] = (
                self.exact_curve.signal_share_at(size)
            )
            record[f"gamma_only_signal_share_{percent}pct"] = (
                self.gamma_only_curve.signal_share_at(size)
            )
        return record


def toy_peak_window(toy: GaussianToy) -> tuple[float, float]:
    """Return the central 99 % interval of :math:`P_{4b}`, where peaks are searched.

    Outside it the learned ratios extrapolate from few events, and the exact
    :math:`\\gamma/\\tilde\\gamma` of the default toy grows again far in the tails.
    """
    low, high = toy.quantiles_4b(np.array([0.005, 0.995]))
    return float(low), float(high)


def run_toy_repeat(
    toy: GaussianToy,
    *,
    n_train: int,
    n_eval: int,
    config: TrainingConfig,
    seed: int,
    grid: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
) -> ToyRepeatResult:
    """Learn both ratios on one toy draw and measure the SR they select.

    Both ratios are trained on the same ``n_train`` 3b and ``n_train`` 4b events,
    :math:`\\tilde\\gamma` with noise of sd ``toy.kernel_sd``. The SR is measured on
    ``n_eval`` further 4b events whose truth labels the trainings never see.

    Args:
        toy: The densities.
        n_train: Events per sample for training.
        n_eval: 4b events for measuring the SR.
        config: Training settings; its seed is replaced by ``seed``.
        seed: Seed of the samples and the trainings.
        grid: Points for the learned curves; 2001 points over the central 99 % of
            :math:`P_{4b}` if None.
        sizes: SR sizes of the concentration curves.
    """
    check_sample_size("n_train", n_train)
    check_sample_size("n_eval", n_eval)
    started = time.perf_counter()
    if grid is None:
        grid = np.linspace(*toy_peak_window(toy), 2001)
    grid = check_finite_array("grid", grid, ndim=1)
    sizes = default_region_sizes() if sizes is None else sizes

    # Independent streams for training and evaluation events.
    train_rng, eval_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    x_3b = toy.sample_3b(n_train, train_rng)
    x_4b, _ = toy.sample_4b(n_train, train_rng)
    x_eval, is_signal = toy.sample_4b(n_eval, eval_rng)
    # Checked before training, which would otherwise run for nothing.
    if not is_signal.any():
        raise ValueError(
            f"the n_eval={n_eval} evaluation events contain no signal event at "
            f"signal_ratio={toy.signal_ratio}, so the signal share of the SR is "
            "undefined; raise signal_ratio above 0 or n_eval."
        )

    config = replace(config, seed=seed)
    gamma = DensityRatioEstimator(config=config).fit(x_3b, x_4b)
    smoothed = DensityRatioEstimator(noise_sd=toy.kernel_sd, config=config).fit(
        x_3b, x_4b
    )

    log_gamma = gamma.log_ratio(grid)
    log_gamma_smoothed = smoothed.log_ratio(grid)
    low, high = toy_peak_window(toy)
    window = (grid >= low) & (grid <= high)
    if not window.any():
        raise ValueError(
            f"grid has no point inside the central 99 % of P_4b, [{low:.3g}, "
            f"{high:.3g}]; pass a grid that covers it."
        )
    learned_score_grid = (log_gamma - log_gamma_smoothed)[window]
    peak = float(grid[window][np.argmax(learned_score_grid)])

    log_gamma_eval = gamma.log_ratio(x_eval)
    score = signal_region_score(log_gamma_eval, smoothed.log_ratio(x_eval))
    curve = concentration_curve(score, is_signal, sizes)
    gamma_only_curve = concentration_curve(log_gamma_eval, is_signal, sizes)
    exact_curve = concentration_curve(toy.score(x_eval), is_signal, sizes)
    seconds = time.perf_counter() - started
    logger.info("toy repeat seed=%d: peak %.3f in %.1f s", seed, peak, seconds)
    return ToyRepeatResult(
        seed=seed,
        n_train=n_train,
        grid=grid,
        log_gamma=log_gamma,
        log_gamma_smoothed=log_gamma_smoothed,
        peak=peak,
        curve=curve,
        exact_curve=exact_curve,
        gamma_only_curve=gamma_only_curve,
        history_gamma=gamma.history_,
        history_smoothed=smoothed.history_,
        seconds=seconds,
    )
