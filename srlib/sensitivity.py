"""Sensitivity of the signal region to the noise scale :math:`\\eta`, and a choice of
:math:`\\eta` that needs no truth labels.

Only the smoothed head :math:`\\tilde\\gamma` depends on :math:`\\eta`. The network
that gives :math:`\\gamma` and the representation :math:`\\zeta` is trained once per
repeat, so :func:`sweep_eta` loads it from a finished repeat and retrains only the
small head per :math:`\\eta`, on the same events and with the same seed.

The paper (Yi, Alison and Kuusela, arXiv:2409.06960, Section 3) names two ways the
choice of :math:`\\eta` fails. With too little noise, :math:`\\tilde\\gamma \\approx
\\gamma` and the score :math:`\\log\\gamma - \\log\\tilde\\gamma` is the difference of
two noisy estimates of one function. With too much, :math:`\\tilde\\gamma` flattens the
smooth (low-frequency) 3b/4b difference as well, and the SR follows :math:`\\gamma`
alone. :func:`smoothing_diagnostics` measures both.

The label-free choice, :func:`choose_eta_one_se`, reads the held-out cross-entropy
of :math:`\\tilde\\gamma` as a 4b-versus-3b classifier on clean :math:`\\zeta`. It
takes the largest :math:`\\eta` whose cross-entropy stays within one standard error
of the lowest: the most smoothing that still describes the 3b/4b difference as well
as the best fit does, within the held-out noise. This is the one-standard-error rule
of cross-validation (Hastie, Tibshirani and Friedman, *The Elements of Statistical
Learning*, 2nd ed., Section 7.10).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from srlib import hh4b
from srlib._validation import check_finite_array, check_positive
from srlib.ratio import predict_logits
from srlib.region import (
    ConcentrationCurve,
    concentration_curve,
    default_region_sizes,
    select_signal_region,
    signal_region_score,
)

__all__ = [
    "EtaSweep",
    "check_rebuilt_repeat",
    "choose_eta_one_se",
    "held_out_cross_entropy",
    "smoothing_diagnostics",
    "sweep_eta",
    "sweep_file",
]

logger = logging.getLogger(__name__)


def _softplus(x: np.ndarray) -> np.ndarray:
    """Return log(1 + exp(x)) without overflow."""
    return np.logaddexp(0.0, x)


def held_out_cross_entropy(
    log_ratio_3b: np.ndarray,
    log_ratio_4b: np.ndarray,
    weights_3b: np.ndarray | None = None,
    weights_4b: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Return the class-balanced cross-entropy of a log density ratio used as a
    4b-versus-3b classifier, with the per-event terms behind it.

    With both classes rescaled to total weight 1/2, a classifier whose logit is the
    log ratio :math:`\\log p_{4b}/p_{3b}` is Bayes-optimal, so a lower held-out value
    means a better estimate of the ratio on those events.

    Args:
        log_ratio_3b: Log ratio at held-out 3b events (label 0), shape (N_3b,).
        log_ratio_4b: Log ratio at held-out 4b events (label 1), shape (N_4b,).
        weights_3b: Event weights of the 3b events; ones if None.
        weights_4b: Event weights of the 4b events; ones if None.

    Returns:
        The cross-entropy in nats, the per-event losses (3b first, then 4b) and the
        normalised weights, which sum to 1, in the same order.
    """
    log_ratio_3b = check_finite_array("log_ratio_3b", log_ratio_3b, ndim=1)
    log_ratio_4b = check_finite_array("log_ratio_4b", log_ratio_4b, ndim=1)
    w_3b = np.ones(len(log_ratio_3b)) if weights_3b is None else np.asarray(weights_3b)
    w_4b = np.ones(len(log_ratio_4b)) if weights_4b is None else np.asarray(weights_4b)
    if len(w_3b) != len(log_ratio_3b) or len(w_4b) != len(log_ratio_4b):
        raise ValueError("weights_3b and weights_4b need one weight per event.")
    weights = np.concatenate([0.5 * w_3b / w_3b.sum(), 0.5 * w_4b / w_4b.sum()])
    losses = np.concatenate([_softplus(log_ratio_3b), _softplus(-log_ratio_4b)])
    return float(np.dot(weights, losses)), losses, weights


@dataclass(frozen=True)
class EtaSweep:
    """Held-out log ratios of one repeat for a grid of noise scales.

    Attributes:
        etas: Noise scales, increasing, shape (K,).
        log_gamma: :math:`\\log\\gamma` of the held-out 4b events, shape (N_4b,).
        log_gamma_smoothed: :math:`\\log\\tilde\\gamma` of the held-out 4b events per
            noise scale, shape (K, N_4b).
        is_signal: Truth labels of the held-out 4b events, used only to measure.
        weights: Weights of the held-out 4b events.
        log_gamma_smoothed_3b: :math:`\\log\\tilde\\gamma` of the held-out 3b events
            per noise scale, shape (K, N_3b); the label-free criterion reads it.
        weights_3b: Weights of the held-out 3b events.
    """

    etas: np.ndarray
    log_gamma: np.ndarray
    log_gamma_smoothed: np.ndarray
    is_signal: np.ndarray
    weights: np.ndarray
    log_gamma_smoothed_3b: np.ndarray
    weights_3b: np.ndarray

    def score(self, index: int) -> np.ndarray:
        """Return the SR score :math:`\\log\\gamma - \\log\\tilde\\gamma` at
        ``etas[index]``."""
        return signal_region_score(self.log_gamma, self.log_gamma_smoothed[index])

    def curves(self, sizes: np.ndarray | None = None) -> list[ConcentrationCurve]:
        """Return the concentration curve of the SR at each noise scale."""
        sizes = default_region_sizes() if sizes is None else sizes
        return [
            concentration_curve(self.score(k), self.is_signal, sizes, self.weights)
            for k in range(len(self.etas))
        ]

    def cross_entropy(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the held-out cross-entropy of :math:`\\tilde\\gamma` per noise
        scale and the standard error of its difference from the lowest one.

        The difference is paired event by event, because every noise scale is
        scored on the same events: with per-event differences :math:`d_i` and
        normalised weights :math:`w_i`, the standard error is
        :math:`\\sqrt{\\sum_i w_i^2 (d_i - \\bar d_c)^2}` with :math:`\\bar d_c` the
        weighted mean of :math:`d` in the event's class, since each class has a
        fixed total weight.

        Returns:
            Two arrays of shape (K,); the standard error is 0 at the lowest value.
        """
        n_3b = self.log_gamma_smoothed_3b.shape[1]
        values, losses = [], []
        for k in range(len(self.etas)):
            # The normalised weights depend only on the events, not on k.
            value, loss, weights = held_out_cross_entropy(
                self.log_gamma_smoothed_3b[k],
                self.log_gamma_smoothed[k],
                self.weights_3b,
                self.weights,
            )
            values.append(value)
            losses.append(loss)
        values = np.array(values)
        best = int(np.argmin(values))
        errors = np.zeros(len(values))
        for k, loss in enumerate(losses):
            difference = loss - losses[best]
            centred = difference.copy()
            for part in (slice(0, n_3b), slice(n_3b, None)):
                w = weights[part]
                centred[part] -= np.dot(w, difference[part]) / w.sum()
            errors[k] = float(np.sqrt(np.sum(weights**2 * centred**2)))
        return values, errors


def choose_eta_one_se(
    etas: Sequence[float],
    cross_entropy: Sequence[float],
    standard_error: Sequence[float],
    n_se: float = 1.0,
) -> float:
    """Return the largest noise scale whose held-out cross-entropy lies within
    ``n_se`` standard errors of the lowest.

    Args:
        etas: Noise scales.
        cross_entropy: Held-out cross-entropy of :math:`\\tilde\\gamma` per scale.
        standard_error: Standard error of each value's difference from the lowest.
        n_se: Number of standard errors of tolerance, 0 or above; 0 picks the scale
            with the lowest cross-entropy.

    Warning:
        The rule uses no truth label, so it cannot tell a smooth 3b/4b difference
        from a signal. Because the held-out fit also rewards a
        :math:`\\tilde\\gamma` that follows the signal, a large signal pulls the
        choice towards too little noise.
    """
    etas = check_finite_array("etas", etas, ndim=1)
    values = check_finite_array("cross_entropy", cross_entropy, ndim=1)
    errors = check_finite_array("standard_error", standard_error, ndim=1)
    if not len(etas) == len(values) == len(errors):
        raise ValueError(
            f"etas, cross_entropy and standard_error need equal lengths, got "
            f"{len(etas)}, {len(values)} and {len(errors)}."
        )
    if not np.isfinite(n_se) or n_se < 0:
        raise ValueError(f"n_se must be a finite number of 0 or above, got {n_se!r}.")
    if np.any(etas <= 0):
        raise ValueError(f"etas must all be above 0, got {etas.tolist()}.")
    if np.any(errors < 0):
        raise ValueError(
            f"standard_error must all be 0 or above, got {errors.tolist()}."
        )
    accepted = values <= values.min() + n_se * errors
    return float(etas[accepted].max())


def smoothing_diagnostics(sweep: EtaSweep, size: float = 0.05) -> pd.DataFrame:
    """Measure, per noise scale, how far :math:`\\tilde\\gamma` sits from the two
    failure modes, using no truth label.

    Columns:
        ``corr(log gamma, log gamma~)``: near 1 when :math:`\\tilde\\gamma \\approx
        \\gamma` (too little noise).
        ``sd ratio``: sd of :math:`\\log\\tilde\\gamma` over sd of
        :math:`\\log\\gamma` on the held-out 4b events; near 0 when the smoothing
        flattens :math:`\\tilde\\gamma` (too much noise).
        ``overlap with gamma-only SR``: weighted share of the SR of ``size`` that
        the region ranked by :math:`\\gamma` alone also holds; near 1 when the SR
        follows :math:`\\gamma` alone.
    """
    gamma_region = select_signal_region(sweep.log_gamma, size, sweep.weights)
    sd_gamma = np.sqrt(np.cov(sweep.log_gamma, aweights=sweep.weights))
    rows = []
    for k, eta in enumerate(sweep.etas):
        smoothed = sweep.log_gamma_smoothed[k]
        region = select_signal_region(sweep.score(k), size, sweep.weights)
        sd_smoothed = np.sqrt(np.cov(smoothed, aweights=sweep.weights))
        correlation = np.corrcoef(sweep.log_gamma, smoothed)[0, 1] if sd_smoothed else 0
        rows.append(
            {
                "eta": float(eta),
                "corr(log gamma, log gamma~)": float(correlation),
                "sd ratio": float(sd_smoothed / sd_gamma),
                "overlap with gamma-only SR": float(
                    sweep.weights[region & gamma_region].sum()
                    / sweep.weights[region].sum()
                ),
            }
        )
    return pd.DataFrame(rows)


def check_rebuilt_repeat(
    results_dir: str | Path,
    config: hh4b.HH4bConfig,
    seed: int,
    split: hh4b.SplitSamples,
    *,
    n_events: int = 256,
    tolerance: float = 1e-3,
    device: str = "auto",
) -> pd.DataFrame:
    """Check that rebuilt events are those a stored repeat was scored on, and
    return the stored scores.

    A repeat's cache key holds its configuration but not the code of the simulator
    or the network, so a changed simulator rebuilds other events under the same
    key. The stored network scores the first ``n_events`` rebuilt held-out 4b
    events, and their :math:`\\log\\gamma` must match the stored values within
    ``tolerance``, well above float32 rounding (about 1e-6) and well below the
    change that other events give (order 0.1 and above).

    Raises:
        ValueError: If the labels or :math:`\\log\\gamma` differ, which means that
            the simulator or the network changed since the repeat was trained.
    """
    stored = hh4b.load_scores(results_dir, config, seed)
    held_out = split.parts_4b[2]
    labels = split.events_4b.is_signal[held_out]
    network, log_prior_ratio = hh4b.load_repeat_network(results_dir, config, seed)
    jets = split.events_4b.jets[held_out[:n_events]]
    log_gamma = predict_logits(network, jets, device=device) - log_prior_ratio
    difference = np.abs(log_gamma - stored["log_gamma"].to_numpy()[:n_events])
    if not np.array_equal(labels, stored["is_signal"].to_numpy(bool)) or (
        difference.max() > tolerance
    ):
        raise ValueError(
            f"the rebuilt events of seed {seed} of config {config.key()} are not "
            f"those stored in {results_dir} (largest log gamma difference "
            f"{difference.max():.3g}); the simulator or the network changed since "
            "the repeat was trained, so delete that config's folder and rerun."
        )
    return stored


def sweep_file(results_dir: str | Path, config: hh4b.HH4bConfig, seed: int) -> Path:
    """Return the path of the cached sweep of a repeat, beside its other files."""
    folder = hh4b.repeat_files(results_dir, config, seed)["table"].parent
    return folder / f"seed_{seed}.eta_sweep.parquet"


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(temporary)
    os.replace(temporary, path)


def _sweep_to_frame(sweep: EtaSweep) -> pd.DataFrame:
    """Store a sweep in long form: one row per event and noise scale."""
    frames = []
    for sample, values, weights, labels in (
        ("4b", sweep.log_gamma_smoothed, sweep.weights, sweep.is_signal),
        ("3b", sweep.log_gamma_smoothed_3b, sweep.weights_3b, None),
    ):
        n_events = values.shape[1]
        for k, eta in enumerate(sweep.etas):
            frame = pd.DataFrame(
                {
                    "eta": float(eta),
                    "sample": sample,
                    "log_gamma_smoothed": values[k],
                    "weight": weights,
                    "is_signal": np.zeros(n_events, bool) if labels is None else labels,
                    "log_gamma": sweep.log_gamma if sample == "4b" else np.nan,
                }
            )
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _sweep_from_frame(frame: pd.DataFrame) -> EtaSweep:
    etas = np.sort(frame["eta"].unique())
    parts = {}
    for sample in ("4b", "3b"):
        rows = frame[frame["sample"] == sample]
        parts[sample] = [rows[rows["eta"] == eta] for eta in etas]
    first = parts["4b"][0]
    return EtaSweep(
        etas=etas,
        log_gamma=first["log_gamma"].to_numpy(),
        log_gamma_smoothed=np.stack(
            [p["log_gamma_smoothed"].to_numpy() for p in parts["4b"]]
        ),
        is_signal=first["is_signal"].to_numpy(bool),
        weights=first["weight"].to_numpy(),
        log_gamma_smoothed_3b=np.stack(
            [p["log_gamma_smoothed"].to_numpy() for p in parts["3b"]]
        ),
        weights_3b=parts["3b"][0]["weight"].to_numpy(),
    )


def sweep_eta(
    config: hh4b.HH4bConfig,
    seed: int,
    results_dir: str | Path,
    etas: Sequence[float],
    *,
    device: str = "auto",
    progress: bool = False,
) -> EtaSweep:
    """Retrain the smoothed head of a finished repeat at each noise scale.

    The repeat's events are rebuilt with :func:`~srlib.hh4b.draw_and_split` and its
    network is loaded from ``results_dir``, so only the head is trained, with the
    repeat's head seed at every scale. The result is cached beside the repeat's
    files (see :func:`sweep_file`) and read back when the grid is the same.

    Args:
        config: Configuration of a repeat that :func:`~srlib.hh4b.run_hh4b_study`
            has finished in ``results_dir``.
        seed: Seed of that repeat.
        results_dir: Folder of the finished repeats.
        etas: Noise scales, each above 0.
        device: Device of the head trainings.
        progress: Show training progress bars.

    Raises:
        ValueError: If ``etas`` is empty or contains a value not above 0, or if
            the repeat is not on disk.
    """
    if isinstance(etas, str) or not isinstance(etas, Iterable):
        raise ValueError(f"etas must be a sequence of noise scales, got {etas!r}.")
    etas = np.unique([check_positive("etas", eta) for eta in etas])
    if len(etas) == 0:
        raise ValueError("etas is empty; pass at least one noise scale.")
    files = hh4b.repeat_files(results_dir, config, seed)
    if not files["network"].exists():
        raise ValueError(
            f"results_dir has no finished repeat for seed {seed} of config "
            f"{config.key()} ({files['network']} not found); run "
            "hh4b.run_hh4b_study first."
        )
    path = sweep_file(results_dir, config, seed)
    if path.exists():
        frame = pd.read_parquet(path)
        if np.allclose(np.sort(frame["eta"].unique()), etas):
            logger.info("reading eta sweep %s", path)
            return _sweep_from_frame(frame)

    network, _ = hh4b.load_repeat_network(results_dir, config, seed)
    split = hh4b.draw_and_split(config, seed)
    stored = check_rebuilt_repeat(results_dir, config, seed, split, device=device)
    jets_3b, w_3b, jets_4b, w_4b = split.jets(2)
    kind = config.representation
    zeta_3b = hh4b.representation(network, jets_3b, kind, device)
    zeta_4b = hh4b.representation(network, jets_4b, kind, device)

    smoothed_4b, smoothed_3b = [], []
    for eta in etas:
        head = hh4b.train_smoothed_head(
            config, split, network, eta=float(eta), device=device, progress=progress
        )
        smoothed_4b.append(head.log_ratio(zeta_4b))
        smoothed_3b.append(head.log_ratio(zeta_3b))
        logger.info("eta sweep %s seed=%d: eta=%g done", config.key(), seed, eta)

    sweep = EtaSweep(
        etas=etas,
        log_gamma=stored["log_gamma"].to_numpy(),
        log_gamma_smoothed=np.stack(smoothed_4b),
        is_signal=split.events_4b.is_signal[split.parts_4b[2]],
        weights=w_4b,
        log_gamma_smoothed_3b=np.stack(smoothed_3b),
        weights_3b=w_3b,
    )
    _write_atomic(path, _sweep_to_frame(sweep).to_parquet)
    return sweep
