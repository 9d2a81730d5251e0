"""Figures of the study. Each function takes ``ax=None`` and returns what it drew."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from srlib.ratio import TrainingHistory
from srlib.region import ConcentrationCurve, summarize_curves
from srlib.toy import GaussianToy

__all__ = [
    "plot_band",
    "plot_concentration_curves",
    "plot_score_distributions",
    "plot_toy_figure",
    "plot_training_history",
]


def _axes(ax: Axes | None) -> Axes:
    return plt.gca() if ax is None else ax


def plot_band(
    x: np.ndarray,
    values: np.ndarray,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    color: str | None = None,
) -> Axes:
    """Draw the mean of ``values`` (repeats, points) over ``x`` with a ±1 sd band.

    A single repeat, shape (points,) or (1, points), draws a line without a band.
    """
    ax = _axes(ax)
    values = np.atleast_2d(values)
    mean = values.mean(axis=0)
    (line,) = ax.plot(x, mean, label=label, color=color)
    if values.shape[0] > 1:
        sd = values.std(axis=0, ddof=1)
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.25)
    return ax


def plot_toy_figure(
    toy: GaussianToy,
    grid: np.ndarray,
    log_gamma: np.ndarray | None = None,
    log_gamma_smoothed: np.ndarray | None = None,
    *,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the four panels of the toy: densities, :math:`\\gamma`,
    :math:`\\tilde\\gamma` and :math:`\\gamma/\\tilde\\gamma`.

    Exact curves are black; learned ones, if given as arrays of shape
    (repeats, len(grid)) of log ratios, are drawn as mean ± sd bands. A dashed line
    marks the signal centre in every panel.

    Returns:
        The 2 × 2 array of axes.
    """
    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True, layout="constrained")
    upper_left, upper_right, lower_left, lower_right = axes.ravel()

    upper_left.plot(grid, np.exp(toy.log_pdf_3b(grid)), label=r"$p_{3b}$")
    upper_left.plot(grid, np.exp(toy.log_pdf_4b(grid)), label=r"$p_{4b}$")
    upper_left.plot(
        grid,
        toy.signal_ratio * np.exp(toy.log_pdf_signal(grid)),
        label=r"$\epsilon\, s$",
        linestyle=":",
    )
    upper_left.set_ylabel("density")

    exact = {
        upper_right: (toy.log_gamma(grid), log_gamma, r"$\gamma$"),
        lower_left: (
            toy.log_gamma_smoothed(grid),
            log_gamma_smoothed,
            r"$\tilde\gamma$",
        ),
    }
    learned_score = None
    if log_gamma is not None and log_gamma_smoothed is not None:
        learned_score = np.atleast_2d(log_gamma) - np.atleast_2d(log_gamma_smoothed)
    exact[lower_right] = (toy.score(grid), learned_score, r"$\gamma/\tilde\gamma$")

    for ax, (exact_log, learned_log, name) in exact.items():
        ax.plot(grid, np.exp(exact_log), color="black", label=f"exact {name}")
        if learned_log is not None:
            plot_band(grid, np.exp(learned_log), ax=ax, label=f"learned {name}")
        ax.set_ylabel(name)

    for ax in axes.ravel():
        ax.axvline(toy.mean_signal, color="grey", linestyle="--", linewidth=1)
        ax.legend(fontsize="small")
    for ax in axes[-1]:
        ax.set_xlabel(r"$\zeta$")
    return axes


def plot_concentration_curves(
    curves: Mapping[str, Sequence[ConcentrationCurve]],
    *,
    ax: Axes | None = None,
    log_x: bool = True,
) -> Axes:
    """Draw :math:`S(\\mathcal X_s)` against :math:`P_{4b}(\\mathcal X_s)`, mean ± sd
    over the repeats of each labelled method, with the diagonal of a region that
    ignores the signal."""
    ax = _axes(ax)
    for label, repeats in curves.items():
        sizes, mean, sd = summarize_curves(repeats)
        (line,) = ax.plot(sizes, mean, label=label)
        if len(repeats) > 1:
            ax.fill_between(
                sizes,
                np.clip(mean - sd, 0, 1),
                np.clip(mean + sd, 0, 1),
                color=line.get_color(),
                alpha=0.25,
            )
    all_sizes = np.concatenate([c.sizes for r in curves.values() for c in r])
    diagonal = np.geomspace(all_sizes.min(), 1, 100)
    ax.plot(diagonal, diagonal, color="grey", linestyle=":", label="no enrichment")
    if log_x:
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(r"$P_{4b}(\mathcal{X}_s)$, share of 4b events in the SR")
    ax.set_ylabel(r"$S(\mathcal{X}_s)$, share of signal in the SR")
    ax.legend(fontsize="small")
    return ax


def plot_training_history(
    history: TrainingHistory, *, ax: Axes | None = None, label: str = ""
) -> Axes:
    """Draw the training and validation loss per epoch and mark the kept epoch."""
    ax = _axes(ax)
    epochs = np.arange(len(history.train_loss))
    prefix = f"{label} " if label else ""
    (line,) = ax.plot(epochs, history.train_loss, label=f"{prefix}training")
    ax.plot(
        epochs,
        history.validation_loss,
        linestyle="--",
        color=line.get_color(),
        label=f"{prefix}validation",
    )
    if history.best_epoch >= 0:
        ax.plot(
            history.best_epoch,
            history.validation_loss[history.best_epoch],
            marker="o",
            color=line.get_color(),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted cross-entropy")
    ax.legend(fontsize="small")
    return ax


def plot_score_distributions(
    score: np.ndarray,
    is_signal: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    ax: Axes | None = None,
    bins: int = 60,
    xlabel: str = r"$\log\gamma - \log\tilde\gamma$",
) -> Axes:
    """Draw normalised histograms of a score for signal and background events."""
    ax = _axes(ax)
    score = np.asarray(score)
    is_signal = np.asarray(is_signal, dtype=bool)
    weights = np.ones(len(score)) if weights is None else np.asarray(weights)
    low, high = np.quantile(score, [0.001, 0.999])
    edges = np.linspace(low, high, bins + 1)
    for mask, label in ((~is_signal, "background"), (is_signal, "signal")):
        ax.hist(
            np.clip(score[mask], low, high),
            bins=edges,
            weights=weights[mask],
            density=True,
            histtype="step",
            linewidth=1.5,
            label=f"{label} ({int(mask.sum()):,} events)",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax
