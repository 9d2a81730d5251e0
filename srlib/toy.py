"""One-dimensional Gaussian toy model of the 3b and 4b densities.

The toy of Yi, Alison and Kuusela (arXiv:2409.06960, Figure 2) places a narrow signal
on top of a smooth 4b background whose ratio to the 3b density is itself not flat:

.. math::

    P_{3b} = \\mathcal N(\\mu_{3b}, \\sigma_{3b}^2), \\qquad
    P_{4b} = (1 - \\epsilon)\\,\\mathcal N(\\mu_b, \\sigma_b^2)
             + \\epsilon\\,\\mathcal N(\\mu_s, \\sigma_s^2),

smoothed by the kernel :math:`K = \\mathcal N(0, \\sigma_K^2)`. Every density and
ratio here is exact, because a Gaussian convolved with a Gaussian kernel is a Gaussian
whose variance is the sum of the two.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from srlib._validation import check_finite_array, check_positive, check_sample_size

__all__ = ["GaussianToy"]


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class GaussianToy:
    """Gaussian mixture toy of the 3b and 4b densities with a Gaussian kernel.

    The defaults are the numbers of the paper's Figure 2:
    :math:`P_{3b} = \\mathcal N(1, 4^2)`,
    :math:`P_{4b} = 0.95\\,\\mathcal N(-1, 4^2) + 0.05\\,\\mathcal N(7, 0.5^2)`
    and :math:`K = \\mathcal N(0, 2^2)`.

    Attributes:
        mean_3b: Mean of the 3b density.
        sd_3b: Standard deviation of the 3b density.
        mean_background: Mean of the 4b background density.
        sd_background: Standard deviation of the 4b background density.
        mean_signal: Mean of the signal density.
        sd_signal: Standard deviation of the signal density.
        signal_ratio: Share :math:`\\epsilon` of signal in the 4b sample, in [0, 1).
        kernel_sd: Standard deviation :math:`\\sigma_K` of the smoothing kernel.
    """

    mean_3b: float = 1.0
    sd_3b: float = 4.0
    mean_background: float = -1.0
    sd_background: float = 4.0
    mean_signal: float = 7.0
    sd_signal: float = 0.5
    signal_ratio: float = 0.05
    kernel_sd: float = 2.0

    def __post_init__(self) -> None:
        for name in ("mean_3b", "mean_background", "mean_signal"):
            value = getattr(self, name)
            if not _is_real(value) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}.")
        for name in ("sd_3b", "sd_background", "sd_signal", "kernel_sd"):
            check_positive(name, getattr(self, name))
        if not _is_real(self.signal_ratio) or not 0.0 <= self.signal_ratio < 1.0:
            raise ValueError(
                f"signal_ratio must lie in [0, 1), got {self.signal_ratio!r}."
            )

    # Sampling

    def sample_3b(
        self, n: int, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Draw ``n`` values from :math:`P_{3b}`.

        Returns:
            Array of shape (n,).
        """
        check_sample_size("n", n)
        rng = np.random.default_rng(rng)
        return rng.normal(self.mean_3b, self.sd_3b, size=n)

    def sample_4b(
        self, n: int, rng: np.random.Generator | int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` values from the 4b mixture with their truth labels.

        Each event is signal with probability :math:`\\epsilon`, so the number of
        signal events is binomial, as in a real sample.

        Returns:
            The values, shape (n,), and a boolean array that is True for signal.
        """
        check_sample_size("n", n)
        rng = np.random.default_rng(rng)
        is_signal = rng.random(n) < self.signal_ratio
        values = np.where(
            is_signal,
            rng.normal(self.mean_signal, self.sd_signal, size=n),
            rng.normal(self.mean_background, self.sd_background, size=n),
        )
        return values, is_signal

    # Exact densities, optionally convolved with the kernel

    def _widen(self, sd: float, smoothed: bool) -> float:
        return float(np.hypot(sd, self.kernel_sd)) if smoothed else sd

    def log_pdf_3b(self, z: np.ndarray, smoothed: bool = False) -> np.ndarray:
        """Return :math:`\\log p_{3b}(z)`, or :math:`\\log (p_{3b} * K)(z)`."""
        z = check_finite_array("z", z)
        return norm.logpdf(z, self.mean_3b, self._widen(self.sd_3b, smoothed))

    def log_pdf_background(self, z: np.ndarray, smoothed: bool = False) -> np.ndarray:
        """Return the log density of the 4b background, optionally smoothed."""
        z = check_finite_array("z", z)
        sd = self._widen(self.sd_background, smoothed)
        return norm.logpdf(z, self.mean_background, sd)

    def log_pdf_signal(self, z: np.ndarray, smoothed: bool = False) -> np.ndarray:
        """Return the log density of the signal, optionally smoothed."""
        z = check_finite_array("z", z)
        return norm.logpdf(z, self.mean_signal, self._widen(self.sd_signal, smoothed))

    def log_pdf_4b(self, z: np.ndarray, smoothed: bool = False) -> np.ndarray:
        """Return :math:`\\log p_{4b}(z)`, or :math:`\\log (p_{4b} * K)(z)`."""
        log_background = self.log_pdf_background(z, smoothed)
        if self.signal_ratio == 0.0:
            return log_background
        terms = np.stack(
            [
                np.log1p(-self.signal_ratio) + log_background,
                np.log(self.signal_ratio) + self.log_pdf_signal(z, smoothed),
            ]
        )
        return logsumexp(terms, axis=0)

    # Exact ratios

    def log_gamma(self, z: np.ndarray) -> np.ndarray:
        """Return :math:`\\log\\gamma(z) = \\log p_{4b}(z) - \\log p_{3b}(z)`."""
        return self.log_pdf_4b(z) - self.log_pdf_3b(z)

    def log_gamma_smoothed(self, z: np.ndarray) -> np.ndarray:
        """Return :math:`\\log\\tilde\\gamma(z)`, the ratio of the smoothed densities.

        .. math::

            \\tilde\\gamma(z) = \\frac{(p_{4b} * K)(z)}{(p_{3b} * K)(z)}
        """
        return self.log_pdf_4b(z, smoothed=True) - self.log_pdf_3b(z, smoothed=True)

    def score(self, z: np.ndarray) -> np.ndarray:
        """Return the signal-region score :math:`\\log\\gamma - \\log\\tilde\\gamma`."""
        return self.log_gamma(z) - self.log_gamma_smoothed(z)

    def quantiles_4b(self, probabilities: np.ndarray) -> np.ndarray:
        """Return quantiles of :math:`P_{4b}`, found by bisection on its CDF.

        Args:
            probabilities: Values in (0, 1).
        """
        probabilities = check_finite_array("probabilities", probabilities)
        if np.any((probabilities <= 0) | (probabilities >= 1)):
            raise ValueError("probabilities must lie strictly between 0 and 1.")

        def cdf(z: np.ndarray) -> np.ndarray:
            return (1 - self.signal_ratio) * norm.cdf(
                z, self.mean_background, self.sd_background
            ) + self.signal_ratio * norm.cdf(z, self.mean_signal, self.sd_signal)

        spread = max(self.sd_background, self.sd_signal) * 40
        low = np.full_like(probabilities, min(self.mean_background, self.mean_signal))
        high = np.full_like(probabilities, max(self.mean_background, self.mean_signal))
        low -= spread
        high += spread
        # 200 halvings shrink an interval of 80 sd far below float64 resolution.
        for _ in range(200):
            middle = 0.5 * (low + high)
            below = cdf(middle) < probabilities
            low = np.where(below, middle, low)
            high = np.where(below, high, middle)
        return 0.5 * (low + high)

    def peak_of_score(self, low: float, high: float, n_points: int = 200_001) -> float:
        """Return the position of the maximum of :math:`\\gamma/\\tilde\\gamma` on
        ``[low, high]``, found on a uniform grid of ``n_points``."""
        if not low < high:
            raise ValueError(f"low must be below high, got low={low}, high={high}.")
        grid = np.linspace(low, high, n_points)
        return float(grid[np.argmax(self.score(grid))])
