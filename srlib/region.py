"""Data-driven signal regions and the signal concentration they achieve.

The signal region of Yi, Alison and Kuusela (arXiv:2409.06960, equation 3) is

.. math::

    \\mathcal X_s = \\{x : \\gamma(\\zeta(x)) / \\tilde\\gamma(\\zeta(x))
                     \\ge \\tau_s\\},

with the threshold :math:`\\tau_s` set so that the region holds a requested share
:math:`P_{4b}(\\mathcal X_s)` of the 4b events. Its quality is the concentration
curve: the share of signal :math:`S(\\mathcal X_s)` against the share of 4b events
:math:`P_{4b}(\\mathcal X_s)`, as the region grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srlib._validation import (
    check_finite_array,
    check_fraction,
    check_sample_size,
    check_weights,
)

__all__ = [
    "ConcentrationCurve",
    "concentration_curve",
    "default_region_sizes",
    "select_signal_region",
    "signal_region_score",
    "signal_region_threshold",
    "summarize_curves",
]


def signal_region_score(
    log_gamma: np.ndarray, log_gamma_smoothed: np.ndarray
) -> np.ndarray:
    """Return the score :math:`\\log\\gamma - \\log\\tilde\\gamma` of each event.

    Ranking by this score is ranking by :math:`\\gamma/\\tilde\\gamma`, and the log
    form avoids overflow where either ratio is extreme.
    """
    log_gamma = check_finite_array("log_gamma", log_gamma, ndim=1)
    log_gamma_smoothed = check_finite_array(
        "log_gamma_smoothed", log_gamma_smoothed, ndim=1
    )
    if log_gamma.shape != log_gamma_smoothed.shape:
        raise ValueError(
            f"log_gamma has shape {log_gamma.shape} but log_gamma_smoothed has "
            f"{log_gamma_smoothed.shape}; pass one value of each per event."
        )
    return log_gamma - log_gamma_smoothed


@dataclass(frozen=True)
class _Ranking:
    """Events sorted by decreasing score with cumulative weights."""

    order: np.ndarray  # event indices by decreasing score
    scores: np.ndarray  # descending
    cumulative_weight: np.ndarray
    total_weight: float

    @classmethod
    def build(cls, score: np.ndarray, weights: np.ndarray | None) -> _Ranking:
        score = check_finite_array("score", score, ndim=1)
        weights = check_weights("weights", weights, len(score))
        order = np.argsort(-score, kind="stable")
        cumulative = np.cumsum(weights[order])
        return cls(order, score[order], cumulative, float(cumulative[-1]))

    def count_inside(self, size: float) -> int:
        """Return how many ranked events form the smallest region of at least
        ``size``, with events tied at the threshold all included."""
        target = size * self.total_weight * (1 - 1e-12)
        last = min(
            int(np.searchsorted(self.cumulative_weight, target)), len(self.scores) - 1
        )
        threshold = self.scores[last]
        # Scores are descending, so the events at or above the threshold are those
        # whose negated score is at most the negated threshold.
        return int(np.searchsorted(-self.scores, -threshold, side="right"))


def signal_region_threshold(
    score: np.ndarray, size: float, weights: np.ndarray | None = None
) -> float:
    """Return the threshold :math:`\\tau_s` of a signal region of a given size.

    The region :math:`\\{\\text{score} \\ge \\tau_s\\}` is the smallest upper set of
    the scores whose weighted share of the events is at least ``size``. Events tied
    at the threshold are all inside, so with ties the share can exceed ``size``;
    without ties it exceeds ``size`` by less than the largest single event weight
    share.

    Args:
        score: Score per 4b event, shape (N,).
        size: Requested share :math:`P_{4b}(\\mathcal X_s)`, in (0, 1].
        weights: Non-negative event weights, shape (N,); ones if None.
    """
    size = check_fraction("size", size)
    ranking = _Ranking.build(score, weights)
    return float(ranking.scores[ranking.count_inside(size) - 1])


def select_signal_region(
    score: np.ndarray, size: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Return a boolean mask of the events inside the signal region of ``size``.

    See :func:`signal_region_threshold` for how the threshold is set.
    """
    threshold = signal_region_threshold(score, size, weights)
    return np.asarray(score) >= threshold


def default_region_sizes(n_points: int = 60, smallest: float = 0.002) -> np.ndarray:
    """Return region sizes from ``smallest`` to 1, log-spaced so that small regions,
    where a search is most sensitive, are sampled densely."""
    check_sample_size("n_points", n_points)
    check_fraction("smallest", smallest)
    return np.geomspace(smallest, 1.0, n_points)


@dataclass(frozen=True)
class ConcentrationCurve:
    """Signal share of signal regions of increasing size.

    Attributes:
        sizes: Requested shares :math:`P_{4b}(\\mathcal X_s)`.
        region_share: Achieved weighted share of 4b events in each region, at least
            the requested one.
        signal_share: :math:`S(\\mathcal X_s)`, the weighted share of all signal
            events that falls inside each region.
    """

    sizes: np.ndarray
    region_share: np.ndarray
    signal_share: np.ndarray

    def signal_share_at(self, size: float) -> float:
        """Return :math:`S(\\mathcal X_s)` at ``size``, interpolated linearly."""
        check_fraction("size", size)
        return float(np.interp(size, self.region_share, self.signal_share))


def concentration_curve(
    score: np.ndarray,
    is_signal: np.ndarray,
    sizes: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> ConcentrationCurve:
    """Measure :math:`S(\\mathcal X_s)` against :math:`P_{4b}(\\mathcal X_s)`.

    The truth labels are used only here, to measure the regions; the scores that
    define the regions never see them.

    Args:
        score: Score per 4b event, shape (N,); larger means more signal-like.
        is_signal: Truth label per 4b event, shape (N,).
        sizes: Region sizes in (0, 1]; :func:`default_region_sizes` if None.
        weights: Non-negative event weights, shape (N,); ones if None.
    """
    score = check_finite_array("score", score, ndim=1)
    is_signal = np.asarray(is_signal)
    if is_signal.shape != score.shape:
        raise ValueError(
            f"is_signal has shape {is_signal.shape} but score has {score.shape}; "
            "pass one label per event."
        )
    if is_signal.dtype != bool:
        raise ValueError(f"is_signal must be boolean, got dtype {is_signal.dtype}.")
    weights = check_weights("weights", weights, len(score))
    signal_weight = np.where(is_signal, weights, 0.0)
    if signal_weight.sum() <= 0:
        raise ValueError(
            "is_signal marks no weighted signal event, so the signal share is "
            "undefined; pass a sample that contains signal."
        )
    sizes = default_region_sizes() if sizes is None else np.asarray(sizes, float)
    if sizes.size == 0:
        raise ValueError("sizes is empty; pass at least one region size in (0, 1].")
    for size in np.atleast_1d(sizes):
        check_fraction("sizes", float(size))

    ranking = _Ranking.build(score, weights)
    cumulative_signal = np.cumsum(signal_weight[ranking.order])
    counts = np.array([ranking.count_inside(float(size)) for size in sizes])
    return ConcentrationCurve(
        sizes=sizes,
        region_share=ranking.cumulative_weight[counts - 1] / ranking.total_weight,
        signal_share=cumulative_signal[counts - 1] / cumulative_signal[-1],
    )


def summarize_curves(
    curves: Sequence[ConcentrationCurve],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sizes and the mean and sd of :math:`S(\\mathcal X_s)` over repeats.

    Each curve is first interpolated to its requested sizes, which all curves must
    share. The sd uses ``ddof=1`` and is zero for a single curve.
    """
    if len(curves) == 0:
        raise ValueError("curves is empty; pass at least one concentration curve.")
    sizes = curves[0].sizes
    for curve in curves[1:]:
        if curve.sizes.shape != sizes.shape or not np.allclose(curve.sizes, sizes):
            raise ValueError("curves were measured at different sizes.")
    shares = np.array(
        [np.interp(sizes, curve.region_share, curve.signal_share) for curve in curves]
    )
    sd = shares.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(len(sizes))
    return sizes, shares.mean(axis=0), sd
