"""References and ablations for the data-driven SR of the HH to 4b study.

Every ranking here is measured on the held-out 4b events of a repeat of
:mod:`srlib.hh4b`, rebuilt with :func:`~srlib.hh4b.draw_and_split`, so all curves
share one set of events:

- the mass-window baseline, ranked by :math:`-X_{HH}`, so that moving the cut on
  :math:`X_{HH}` traces its concentration curve (:func:`baseline_score`);
- an oracle, a classifier trained with truth labels to tell signal from 4b background
  on a separate sample (:func:`train_oracle`). It estimates the ranking by
  :math:`S/B_{4b}`, which is optimal, so no model-agnostic method can beat it by more
  than the estimation noise;
- ablation 1, the method with a plain MLP in place of the pairing-aware network
  (:func:`run_mlp_repeat`);
- ablation 2, the method on samples whose 3b/4b mismatch is scaled from 0 upward
  (:func:`scaled_three_tag`, :func:`run_mismatch_repeat`).

Results of trainings are cached under ``results_dir`` as score tables, so that a
rerun only reads them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from srlib import hh4b
from srlib._validation import check_fraction, check_sample_size
from srlib.baseline import baseline_selection
from srlib.kinematics import dijet_pairings, four_jet_mass, normalize_symmetry
from srlib.network import FourJetNetwork, load_network, save_network
from srlib.ratio import (
    DensityRatioEstimator,
    MLPClassifier,
    TrainingConfig,
    predict_logits,
    resolve_device,
)
from srlib.region import select_signal_region
from srlib.simulation import (
    ThreeTagModel,
    simulate_background_4b,
    simulate_samples,
    simulate_signal,
)

__all__ = [
    "FEATURE_SETS",
    "baseline_score",
    "cached_scores",
    "jet_features",
    "mlp_representation",
    "oracle_scores",
    "region_quantile",
    "run_mismatch_repeat",
    "run_mlp_repeat",
    "scaled_three_tag",
    "train_oracle",
]

logger = logging.getLogger(__name__)

#: Inputs of the MLP ablation: the 16 jet features, or those plus the six dijet
#: masses of the three pairings.
FEATURE_SETS = ("jets", "jets+dijet_masses")


def baseline_score(jets: np.ndarray) -> np.ndarray:
    """Return :math:`-X_{HH}` of each event, so that larger is more signal-like.

    Events without a pairing that passes the :math:`\\Delta R` window have
    :math:`X_{HH} = \\infty`; they get one finite value below every other score, so
    they tie at the bottom and enter an SR only when it contains all of them.

    Args:
        jets: Jets of shape (N, 4, 4), fields (pt [GeV], eta, phi, m [GeV]).
    """
    distance = baseline_selection(jets).x_hh
    finite = np.isfinite(distance)
    worst = distance[finite].max() + 1.0 if finite.any() else 0.0
    return -np.where(finite, distance, worst)


def region_quantile(
    score: np.ndarray,
    values: np.ndarray,
    size: float,
    weights: np.ndarray | None = None,
    quantile: float = 0.5,
) -> float:
    """Return a quantile of ``values`` over the events in the SR of ``size``.

    For example, the median :math:`m_{4j}` of the events that a ranking puts in its
    top 5 % shows whether that ranking is drawn to the high-mass tail.
    """
    check_fraction("quantile", quantile)
    region = select_signal_region(score, size, weights)
    return float(np.quantile(np.asarray(values)[region], quantile))


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(temporary)
    os.replace(temporary, path)


def cached_scores(
    path: str | Path, compute: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """Return the score table at ``path``, computing and writing it if missing."""
    path = Path(path)
    if path.exists():
        logger.info("reading %s", path)
        return pd.read_parquet(path)
    table = compute()
    _write_atomic(path, table.to_parquet)
    return table


# --- oracle ------------------------------------------------------------------------


def train_oracle(
    n_events: int,
    seed: int,
    *,
    width: int = 6,
    training: TrainingConfig = hh4b.DEFAULT_NETWORK_TRAINING,
    device: str = "auto",
    progress: bool = False,
) -> FourJetNetwork:
    """Train the pairing-aware network to tell signal (label 1) from 4b background
    (label 0) with truth labels, on samples of its own.

    The samples come from a seed stream separate from every repeat's
    (``SeedSequence(seed, spawn_key=(1,))``), so the oracle is never trained on
    the events it is measured on. Its logit ranks events by :math:`S/B_{4b}`, the
    ranking that maximises the signal share at every SR size, up to the estimation
    noise.

    Args:
        n_events: Signal events, and as many background events.
        seed: Seed of the samples and the training.
        width: Channel width of the network.
        training: Training settings; the seed, device and progress are replaced.
        device: Device of the training.
        progress: Show a progress bar.
    """
    check_sample_size("n_events", n_events)
    streams = np.random.SeedSequence(seed, spawn_key=(1,)).spawn(2)
    background = simulate_background_4b(n_events, seed=streams[0])
    signal = simulate_signal(n_events, seed=streams[1])
    config = replace(training, seed=seed, device=device, progress=progress)
    estimator = DensityRatioEstimator(
        config=config, model_factory=lambda _: FourJetNetwork(width=width)
    ).fit(background.jets, signal.jets)
    return estimator.model_


def oracle_scores(
    results_dir: str | Path,
    n_events: int,
    seed: int,
    jets: np.ndarray,
    *,
    width: int = 6,
    training: TrainingConfig = hh4b.DEFAULT_NETWORK_TRAINING,
    device: str = "auto",
    progress: bool = False,
) -> np.ndarray:
    """Return the oracle's logits at ``jets``, training the oracle once per
    ``(n_events, seed, width, max_epochs)`` and caching it under ``results_dir``."""
    name = f"n{n_events}_w{width}_e{training.max_epochs}_seed{seed}.pt"
    path = Path(results_dir) / "oracle" / name
    if path.exists():
        network = load_network(path).model
    else:
        network = train_oracle(
            n_events,
            seed,
            width=width,
            training=training,
            device=device,
            progress=progress,
        )
        _write_atomic(
            path, lambda p: save_network(network, p, extra={"n_events": n_events})
        )
    return predict_logits(network, jets, device=device)


# --- ablation 1: a plain MLP -------------------------------------------------------


def jet_features(jets: np.ndarray, feature_set: str = "jets") -> np.ndarray:
    """Return flat per-event inputs of a plain MLP, shape (N, 16) or (N, 22).

    The jets are first mapped to their canonical copy under the detector's
    symmetries (:func:`~srlib.kinematics.normalize_symmetry`), which an MLP cannot
    learn on its own, and flattened jet by jet (pt, eta, phi, m). With
    ``"jets+dijet_masses"`` the six dijet masses of the three pairings follow, in
    GeV, in the order 01, 23, 02, 13, 03, 12.
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(
            f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}."
        )
    canonical = normalize_symmetry(np.asarray(jets, dtype=np.float64))
    flat = canonical.reshape(len(canonical), 16)  # (N, 4 jets x 4 fields)
    if feature_set == "jets":
        return flat
    masses = dijet_pairings(canonical).mass.reshape(len(canonical), 6)  # (N, 3 x 2)
    return np.concatenate([flat, masses], axis=1)


def mlp_representation(
    model: MLPClassifier, inputs: np.ndarray, device: str = "auto"
) -> np.ndarray:
    """Return the last hidden layer of an MLP classifier, shape (N, hidden[-1]):
    the representation :math:`\\zeta` that the MLP ablation smooths."""
    import torch

    target = resolve_device(device)
    model = model.to(target).eval()
    body = model.layers[:-1]
    tensor = torch.from_numpy(np.array(inputs, dtype=np.float32))
    parts = []
    with torch.no_grad():
        for start in range(0, len(tensor), 65536):
            batch = tensor[start : start + 65536].to(target)
            parts.append(body((batch - model.loc) / model.scale).double().cpu())
    return torch.cat(parts).numpy()


def run_mlp_repeat(
    config: hh4b.HH4bConfig,
    seed: int,
    feature_set: str,
    *,
    hidden: tuple[int, ...] = (64, 64, 64),
    device: str = "auto",
    progress: bool = False,
) -> pd.DataFrame:
    """Run the method once with a plain MLP in place of the pairing-aware network.

    The events, parts and training settings are those of the repeat
    ``(config, seed)`` of :mod:`srlib.hh4b`. The MLP learns :math:`\\gamma` on
    part 0; its last hidden layer is :math:`\\zeta`, and an MLP with two hidden
    layers of 16 learns :math:`\\tilde\\gamma` on :math:`\\zeta` plus noise of
    ``config.eta`` times each coordinate's range, on part 1.

    Returns:
        The held-out 4b events' ``log_gamma``, ``log_gamma_smoothed``,
        ``is_signal`` and ``weight``, one row per event.
    """
    split = hh4b.draw_and_split(config, seed)
    features = {
        part: [jet_features(array, feature_set) for array in split.jets(part)[0::2]]
        for part in range(3)
    }
    weights = {part: split.jets(part)[1::2] for part in range(3)}

    training = replace(
        config.network_training, seed=split.train_seed, device=device, progress=progress
    )
    gamma = DensityRatioEstimator(
        config=training,
        model_factory=lambda inputs: MLPClassifier.from_data(inputs, hidden),
    ).fit(*features[0], *weights[0])

    def zeta(inputs: np.ndarray) -> np.ndarray:
        return mlp_representation(gamma.model_, inputs, device)

    head_training = replace(
        config.head_training,
        seed=split.train_seed + 1,
        device=device,
        progress=progress,
    )
    smoothed = DensityRatioEstimator(
        eta=config.eta,
        config=head_training,
        model_factory=lambda inputs: MLPClassifier.from_data(inputs, (16, 16)),
    ).fit(zeta(features[1][0]), zeta(features[1][1]), *weights[1])

    held_out = features[2][1]
    return pd.DataFrame(
        {
            "log_gamma": gamma.log_ratio(held_out),
            "log_gamma_smoothed": smoothed.log_ratio(zeta(held_out)),
            "is_signal": split.events_4b.is_signal[split.parts_4b[2]],
            "weight": weights[2][1],
        }
    )


# --- ablation 2: the strength of the 3b/4b mismatch --------------------------------


def scaled_three_tag(
    scale: float, reference: ThreeTagModel | None = None
) -> ThreeTagModel:
    """Return the 3b model with its differences from the 4b background scaled.

    The shifts of the mass exponent and of the rapidity width are multiplied by
    ``scale``; the number of light jets is ``reference.n_light_jets * scale``
    rounded to an integer and capped at 4. ``scale=0`` makes the 3b and 4b
    backgrounds identical in distribution and ``scale=1`` returns ``reference``.

    Args:
        scale: Strength of the mismatch, 0 or above.
        reference: The mismatch at scale 1; ``ThreeTagModel()`` if None.
    """
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale must be a finite number of 0 or above, got {scale!r}.")
    reference = reference or ThreeTagModel()
    return ThreeTagModel(
        mass_exponent_shift=reference.mass_exponent_shift * scale,
        rapidity_sigma_shift=reference.rapidity_sigma_shift * scale,
        n_light_jets=min(4, int(round(reference.n_light_jets * scale))),
    )


def run_mismatch_repeat(
    config: hh4b.HH4bConfig,
    seed: int,
    scale: float,
    *,
    device: str = "auto",
    progress: bool = False,
) -> pd.DataFrame:
    """Run the method once on samples whose 3b/4b mismatch is scaled by ``scale``.

    The samples are drawn from the same seed stream as
    :func:`~srlib.hh4b.draw_and_split` uses, so the 4b sample, and hence the
    held-out 4b events, are the same at every scale, and ``scale=1`` reproduces the
    repeat ``(config, seed)`` of :mod:`srlib.hh4b` exactly.

    Returns:
        The held-out 4b events' ``log_gamma``, ``log_gamma_smoothed``,
        ``is_signal``, ``weight`` and ``m4j`` (GeV), one row per event.
    """
    simulation_seed = np.random.SeedSequence(seed).spawn(3)[0]
    samples = simulate_samples(
        config.n_3b,
        config.n_3b,
        config.signal_ratio,
        seed=simulation_seed,
        three_tag=scaled_three_tag(scale),
    )
    result = hh4b.run_hh4b_repeat(
        config, seed, samples=samples, device=device, progress=progress
    )
    split = hh4b.draw_and_split(config, seed, samples)
    return pd.DataFrame(
        {
            "log_gamma": result.log_gamma,
            "log_gamma_smoothed": result.log_gamma_smoothed,
            "is_signal": result.is_signal,
            "weight": result.weights,
            "m4j": four_jet_mass(split.jets(2)[2]),
        }
    )
