"""The HH to 4b study: one repeat of the method, and sweeps whose results stay on disk.

One repeat follows Yi, Alison and Kuusela (arXiv:2409.06960, Section 4):

1. draw (or take) a 3b sample and a 4b sample of equal total weight;
2. split each into 75 % for :math:`\\gamma` and the representation
   :math:`\\zeta`, 6.25 % for :math:`\\tilde\\gamma`, and 18.75 % held out;
3. train :class:`~srlib.network.FourJetNetwork` on the first part, which gives
   :math:`\\gamma` and :math:`\\zeta`;
4. train a fresh :class:`~srlib.network.RepresentationHead` on :math:`\\zeta` plus
   Gaussian noise of sd :math:`\\eta` times the range of each coordinate, on the
   second part, which gives :math:`\\tilde\\gamma`;
5. score the held-out 4b events with :math:`\\log\\gamma - \\log\\tilde\\gamma` and
   measure the concentration curve from the truth labels, which no training uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import numbers
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from srlib._validation import check_fraction, check_positive, check_sample_size
from srlib.events import Events
from srlib.network import (
    FourJetNetwork,
    RepresentationHead,
    count_parameters,
    load_network,
    save_network,
)
from srlib.ratio import (
    DensityRatioEstimator,
    TrainingConfig,
    TrainingHistory,
    resolve_device,
)
from srlib.region import (
    ConcentrationCurve,
    concentration_curve,
    default_region_sizes,
    select_signal_region,
    signal_region_score,
)
from srlib.simulation import simulate_samples

__all__ = [
    "DataDrivenRegion",
    "HH4bConfig",
    "HH4bRepeatResult",
    "SplitSamples",
    "curves_from_table",
    "draw_and_split",
    "find_signal_region",
    "load_histories",
    "load_repeat_network",
    "load_scores",
    "repeat_files",
    "representation",
    "run_hh4b_repeat",
    "run_hh4b_study",
    "save_repeat",
    "split_indices",
    "train_network",
    "train_smoothed_head",
]

logger = logging.getLogger(__name__)

DEFAULT_NETWORK_TRAINING = TrainingConfig(
    learning_rate=0.01,
    batch_size=512,
    batch_size_doubling_epochs=(2, 4, 6),
    max_epochs=20,
    patience=4,
    lr_patience=1,
    lr_factor=0.25,
    validation_fraction=0.1,
    progress=False,
)
DEFAULT_HEAD_TRAINING = TrainingConfig(
    learning_rate=0.01,
    batch_size=512,
    max_epochs=40,
    patience=6,
    lr_patience=2,
    validation_fraction=0.2,
    progress=False,
)


@dataclass(frozen=True)
class HH4bConfig:
    """One configuration of the HH to 4b study.

    Attributes:
        n_3b: Number of 3b events; the 4b sample has as many events and the same
            total weight.
        signal_ratio: Share :math:`\\epsilon` of signal in the 4b sample.
        eta: Noise sd of :math:`\\tilde\\gamma`, as a multiple of the range of each
            coordinate of :math:`\\zeta`.
        width: Channel width of the network.
        representation: ``"quadjets"`` (the per-pairing tensor, as the paper
            smears) or ``"pooled"`` (the vector after the softmax over pairings).
        gamma_fraction: Share of each sample for :math:`\\gamma` and :math:`\\zeta`.
        smoothed_fraction: Share of each sample for :math:`\\tilde\\gamma`; the rest
            is held out for measuring the SR.
        network_training: Training settings of the network.
        head_training: Training settings of the smoothed head.
    """

    n_3b: int = 100_000
    signal_ratio: float = 0.05
    eta: float = 0.1
    width: int = 6
    representation: str = "quadjets"
    gamma_fraction: float = 0.75
    smoothed_fraction: float = 0.0625
    network_training: TrainingConfig = field(default=DEFAULT_NETWORK_TRAINING)
    head_training: TrainingConfig = field(default=DEFAULT_HEAD_TRAINING)

    def __post_init__(self) -> None:
        check_sample_size("n_3b", self.n_3b)
        if (
            isinstance(self.signal_ratio, bool)
            or not isinstance(self.signal_ratio, numbers.Real)
            or not 0 <= self.signal_ratio < 1
        ):
            raise ValueError(
                f"signal_ratio must lie in [0, 1), got {self.signal_ratio!r}."
            )
        check_positive("eta", self.eta)
        check_sample_size("width", self.width)
        if self.representation not in ("quadjets", "pooled"):
            raise ValueError(
                "representation must be 'quadjets' or 'pooled', got "
                f"{self.representation!r}."
            )
        check_fraction("gamma_fraction", self.gamma_fraction, include_one=False)
        check_fraction("smoothed_fraction", self.smoothed_fraction, include_one=False)
        if self.gamma_fraction + self.smoothed_fraction >= 1:
            raise ValueError(
                "gamma_fraction + smoothed_fraction must stay below 1 to leave "
                f"held-out events, got {self.gamma_fraction + self.smoothed_fraction}."
            )
        for name in ("network_training", "head_training"):
            if not isinstance(getattr(self, name), TrainingConfig):
                raise ValueError(
                    f"{name} must be a TrainingConfig, got "
                    f"{type(getattr(self, name)).__name__}."
                )

    def to_dict(self) -> dict[str, object]:
        """Return the configuration as flat JSON-ready values."""
        flat: dict[str, object] = {}
        for key, value in dataclasses.asdict(self).items():
            if isinstance(value, dict):
                for inner, inner_value in value.items():
                    flat[f"{key}.{inner}"] = (
                        list(inner_value)
                        if isinstance(inner_value, tuple)
                        else inner_value
                    )
            else:
                flat[key] = value
        return flat

    def key(self) -> str:
        """Return a short hash that names this configuration's result files.

        Settings that do not change the numbers (progress bars, the training
        seeds, which each repeat sets from its own seed) or change them only as
        other hardware would (device, torch_compile) are left out. A rerun on
        another device or with compilation therefore reuses the finished repeats.
        """
        values = {
            k: v
            for k, v in self.to_dict().items()
            if not k.endswith((".progress", ".device", ".seed", ".torch_compile"))
        }
        text = json.dumps(values, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class HH4bRepeatResult:
    """Outcome of one repeat of the HH to 4b study.

    Attributes:
        config: The configuration.
        seed: Seed of the samples, splits and trainings.
        curve: Concentration curve of the SR ranked by :math:`\\gamma/\\tilde\\gamma`.
        gamma_only_curve: Concentration curve of the region ranked by
            :math:`\\gamma` alone.
        log_gamma: :math:`\\log\\gamma` of the held-out 4b events.
        log_gamma_smoothed: :math:`\\log\\tilde\\gamma` of the held-out 4b events.
        is_signal: Truth labels of the held-out 4b events.
        weights: Weights of the held-out 4b events.
        history_network: Training record of the network.
        history_head: Training record of the smoothed head.
        n_parameters: Trainable parameters of the network.
        seconds: Wall time of the repeat.
        network: The trained network, in eval mode.
        log_prior_ratio: Log ratio of the class weights that converts the
            network's logit into :math:`\\log\\gamma`.
    """

    config: HH4bConfig
    seed: int
    curve: ConcentrationCurve
    gamma_only_curve: ConcentrationCurve
    log_gamma: np.ndarray
    log_gamma_smoothed: np.ndarray
    is_signal: np.ndarray
    weights: np.ndarray
    history_network: TrainingHistory
    history_head: TrainingHistory
    n_parameters: int
    seconds: float
    network: FourJetNetwork = field(repr=False, compare=False)
    log_prior_ratio: float = 0.0

    def to_table(self) -> pd.DataFrame:
        """Return one tidy row per region size and ranking, with the configuration,
        seed, timing and package versions in every row."""
        rows = []
        for method, curve in (
            ("gamma/gamma~", self.curve),
            ("gamma", self.gamma_only_curve),
        ):
            for size, share, signal in zip(
                curve.sizes, curve.region_share, curve.signal_share, strict=True
            ):
                rows.append(
                    {
                        "method": method,
                        "size": float(size),
                        "region_share": float(share),
                        "signal_share": float(signal),
                    }
                )
        table = pd.DataFrame(rows)
        table["seed"] = self.seed
        table["config_key"] = self.config.key()
        for key, value in self.config.to_dict().items():
            table[key] = json.dumps(value) if isinstance(value, list) else value
        table["seconds"] = self.seconds
        table["n_parameters"] = self.n_parameters
        table["best_epoch_network"] = self.history_network.best_epoch
        table["best_epoch_head"] = self.history_head.best_epoch
        for name, version in _versions().items():
            table[f"version.{name}"] = version
        return table


def _versions() -> dict[str, str]:
    from srlib import __version__

    return {
        "srlib": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def split_indices(
    n_events: int, fractions: Sequence[float], rng: np.random.Generator
) -> list[np.ndarray]:
    """Split ``range(n_events)`` at random into consecutive parts of the given
    shares, plus a last part with the rest.

    Returns:
        ``len(fractions) + 1`` index arrays that together cover every event once.
    """
    order = rng.permutation(n_events)
    bounds = np.cumsum([int(round(f * n_events)) for f in fractions])
    return np.split(order, bounds)


def representation(
    network: FourJetNetwork, jets: np.ndarray, kind: str, device: str
) -> np.ndarray:
    """Return the representation :math:`\\zeta` of ``jets`` in batches, shape
    (N, D), computed by ``network`` in eval mode on ``device``."""
    target = resolve_device(device)
    network = network.to(target).eval()
    tensor = torch.from_numpy(np.array(jets, dtype=np.float32))
    parts = []
    with torch.no_grad():
        for start in range(0, len(tensor), 65536):
            batch = tensor[start : start + 65536].to(target)
            parts.append(network.representation(batch, kind=kind).double().cpu())
    return torch.cat(parts).numpy()


@dataclass(frozen=True)
class SplitSamples:
    """The 3b and 4b samples of one repeat with their three parts.

    Attributes:
        events_3b: The whole 3b sample.
        events_4b: The whole 4b sample, with truth labels.
        parts_3b: Indices of the 3b events for gamma, for gamma~ and held out.
        parts_4b: Indices of the 4b events for gamma, for gamma~ and held out.
        train_seed: Seed of the trainings of this repeat.
    """

    events_3b: Events
    events_4b: Events
    parts_3b: tuple[np.ndarray, np.ndarray, np.ndarray]
    parts_4b: tuple[np.ndarray, np.ndarray, np.ndarray]
    train_seed: int

    def jets(self, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return 3b jets, 3b weights, 4b jets and 4b weights of part 0, 1 or 2."""
        index_3b, index_4b = self.parts_3b[part], self.parts_4b[part]
        return (
            self.events_3b.jets[index_3b],
            self.events_3b.weights[index_3b],
            self.events_4b.jets[index_4b],
            self.events_4b.weights[index_4b],
        )


def draw_and_split(
    config: HH4bConfig,
    seed: int,
    samples: tuple[Events, Events] | None = None,
    *,
    require_labels: bool = True,
    names: tuple[str, str] = ("samples[0]", "samples[1]"),
) -> SplitSamples:
    """Simulate (or take) the samples of one repeat and split them.

    The same ``config`` and ``seed`` always give the same events, parts and
    training seed, so later steps (another noise scale, another test) can rebuild
    a repeat without storing its events.

    Args:
        config: The configuration; its sizes apply to simulated samples only.
        seed: Seed of the simulation, the split and the trainings.
        samples: The 3b and 4b samples to split in place of simulated ones.
        require_labels: Raise unless the 4b sample has truth labels with at least
            one signal event, which measuring the SR needs.
        names: Names of the given 3b and 4b samples in error messages.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer of 0 or more, got {seed!r}.")
    seeds = np.random.SeedSequence(seed).spawn(3)
    if samples is None:
        events_3b, events_4b = simulate_samples(
            config.n_3b, config.n_3b, config.signal_ratio, seed=seeds[0]
        )
    else:
        events_3b, events_4b = samples
    if samples is None:
        names = ("the simulated 3b sample", "the simulated 4b sample")
    for name, events in zip(names, (events_3b, events_4b), strict=True):
        if not isinstance(events, Events):
            raise ValueError(
                f"{name} must be an Events sample, got {type(events).__name__}."
            )
        # The trainings reject these too, but name only the part they train on.
        n_negative = int((events.weights < 0).sum())
        if n_negative:
            raise ValueError(
                f"{name} has {n_negative} events with negative weight, but the "
                "trainings need non-negative weights."
            )
        if len(events) and events.weights.sum() <= 0:
            raise ValueError(
                f"{name} has total weight 0, but the trainings need a positive one."
            )
    if require_labels and events_4b.is_signal is None:
        raise ValueError(
            f"{names[1]} has no truth labels (is_signal), so the signal share of the "
            "SR cannot be measured; pass a labelled 4b sample."
        )
    if require_labels and not events_4b.is_signal.any():
        raise ValueError(
            f"{names[1]} contains no signal event, so the signal share of the SR is "
            f"undefined; use signal_ratio above 0 (config has {config.signal_ratio})."
        )

    split_rng = np.random.default_rng(seeds[1])
    fractions = (config.gamma_fraction, config.smoothed_fraction)
    parts_3b = split_indices(len(events_3b), fractions, split_rng)
    parts_4b = split_indices(len(events_4b), fractions, split_rng)
    # Each training part is split again into training and validation events, so
    # it needs at least 2 events of each sample, and the held-out part needs 1.
    # Fewer would fail inside the training with a message about the part only.
    for name, events, parts in zip(
        names, (events_3b, events_4b), (parts_3b, parts_4b), strict=True
    ):
        smallest = (2, 2, 1)
        for role, part, minimum in zip(
            ("gamma", "gamma~", "held-out"), parts, smallest, strict=True
        ):
            if len(part) < minimum:
                raise ValueError(
                    f"{name} has {len(events)} events, which leaves {len(part)} for "
                    f"the {role} part (gamma_fraction={config.gamma_fraction}, "
                    f"smoothed_fraction={config.smoothed_fraction}); pass more events."
                )
    train_seed = int(np.random.default_rng(seeds[2]).integers(2**31))
    return SplitSamples(
        events_3b, events_4b, tuple(parts_3b), tuple(parts_4b), train_seed
    )


def train_network(
    config: HH4bConfig, split: SplitSamples, *, device: str, progress: bool
) -> DensityRatioEstimator:
    """Train the network on part 0: it gives :math:`\\gamma` and :math:`\\zeta`."""
    training = replace(
        config.network_training,
        seed=split.train_seed,
        device=device,
        progress=progress,
    )
    jets_3b, w_3b, jets_4b, w_4b = split.jets(0)
    return DensityRatioEstimator(
        config=training,
        model_factory=lambda _: FourJetNetwork(width=config.width),
    ).fit(jets_3b, jets_4b, w_3b, w_4b)


def train_smoothed_head(
    config: HH4bConfig,
    split: SplitSamples,
    network: FourJetNetwork,
    *,
    eta: float | None = None,
    device: str,
    progress: bool,
) -> DensityRatioEstimator:
    """Train a fresh head on :math:`\\zeta` plus noise of part 1: it gives
    :math:`\\tilde\\gamma`.

    Args:
        eta: Noise scale; ``config.eta`` if None.
    """
    training = replace(
        config.head_training,
        seed=split.train_seed + 1,
        device=device,
        progress=progress,
    )
    kind = config.representation
    jets_3b, w_3b, jets_4b, w_4b = split.jets(1)
    return DensityRatioEstimator(
        eta=config.eta if eta is None else eta,
        config=training,
        model_factory=lambda _: RepresentationHead(width=config.width, kind=kind),
    ).fit(
        representation(network, jets_3b, kind, device),
        representation(network, jets_4b, kind, device),
        w_3b,
        w_4b,
    )


@dataclass(frozen=True)
class DataDrivenRegion:
    """Scores of the held-out 4b events of a sample, from which SRs are cut.

    Attributes:
        indices: Positions of the held-out events in the 4b sample given.
        log_gamma: :math:`\\log\\gamma` of each held-out event.
        log_gamma_smoothed: :math:`\\log\\tilde\\gamma` of each held-out event.
        weights: Event weights of the held-out events.
        gamma: The trained network's estimator, which gives :math:`\\gamma`.
        smoothed: The trained head's estimator, which gives :math:`\\tilde\\gamma`
            on the representation.
    """

    indices: np.ndarray
    log_gamma: np.ndarray
    log_gamma_smoothed: np.ndarray
    weights: np.ndarray
    gamma: DensityRatioEstimator
    smoothed: DensityRatioEstimator

    @property
    def score(self) -> np.ndarray:
        """The SR score :math:`\\log\\gamma - \\log\\tilde\\gamma` of each
        held-out event."""
        return signal_region_score(self.log_gamma, self.log_gamma_smoothed)

    def select(self, size: float) -> np.ndarray:
        """Return the positions, in the 4b sample given, of the held-out events in
        the SR that contains the weighted share ``size`` of them."""
        mask = select_signal_region(self.score, size, self.weights)
        return self.indices[mask]


def find_signal_region(
    events_3b: Events,
    events_4b: Events,
    config: HH4bConfig | None = None,
    seed: int = 0,
    *,
    device: str = "auto",
    progress: bool = True,
) -> DataDrivenRegion:
    """Learn :math:`\\gamma` and :math:`\\tilde\\gamma` on a 3b and a 4b sample,
    and score the held-out 4b events, without truth labels.

    This is the method on data: the samples are split as in a study repeat, the
    network and the smoothed head train on their parts, and the held-out 4b events
    (``1 - gamma_fraction - smoothed_fraction`` of the sample) get scores from
    which :meth:`DataDrivenRegion.select` cuts an SR of any size. Truth labels,
    if present, are ignored.

    Args:
        events_3b: The 3b sample, for example from :func:`srlib.io.read_events`.
        events_4b: The 4b sample.
        config: Network, noise scale and training settings; its sample sizes and
            signal ratio are not used. ``HH4bConfig()`` if None.
        seed: Seed of the split and both trainings.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"`` for both trainings.
        progress: Show progress bars.
    """
    config = HH4bConfig() if config is None else config
    split = draw_and_split(
        config,
        seed,
        (events_3b, events_4b),
        require_labels=False,
        names=("events_3b", "events_4b"),
    )
    gamma = train_network(config, split, device=device, progress=progress)
    smoothed = train_smoothed_head(
        config, split, gamma.model_, device=device, progress=progress
    )
    _, _, jets, weights = split.jets(2)
    return DataDrivenRegion(
        indices=split.parts_4b[2],
        log_gamma=gamma.log_ratio(jets),
        log_gamma_smoothed=smoothed.log_ratio(
            representation(gamma.model_, jets, config.representation, device)
        ),
        weights=weights,
        gamma=gamma,
        smoothed=smoothed,
    )


def run_hh4b_repeat(
    config: HH4bConfig,
    seed: int,
    *,
    samples: tuple[Events, Events] | None = None,
    sizes: np.ndarray | None = None,
    device: str = "auto",
    progress: bool = False,
) -> HH4bRepeatResult:
    """Run the method once: train :math:`\\gamma`, :math:`\\zeta` and
    :math:`\\tilde\\gamma`, select SRs on held-out 4b events and measure them.

    Args:
        config: The configuration.
        seed: Seed of the simulation, the splits and both trainings.
        samples: The 3b and 4b samples to use in place of simulated ones. The 4b
            sample needs truth labels, because the SR is measured with them.
        sizes: SR sizes of the concentration curves.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"`` for both trainings.
        progress: Show progress bars.
    """
    started = time.perf_counter()
    sizes = default_region_sizes() if sizes is None else sizes
    split = draw_and_split(config, seed, samples)
    gamma = train_network(config, split, device=device, progress=progress)
    network = gamma.model_
    smoothed = train_smoothed_head(
        config, split, network, device=device, progress=progress
    )

    held_out = split.parts_4b[2]
    _, _, jets, weights = split.jets(2)
    is_signal = split.events_4b.is_signal[held_out]
    log_gamma = gamma.log_ratio(jets)
    log_gamma_smoothed = smoothed.log_ratio(
        representation(network, jets, config.representation, device)
    )
    score = signal_region_score(log_gamma, log_gamma_smoothed)
    seconds = time.perf_counter() - started
    logger.info(
        "HH4b repeat %s seed=%d finished in %.1f s", config.key(), seed, seconds
    )
    return HH4bRepeatResult(
        config=config,
        seed=seed,
        curve=concentration_curve(score, is_signal, sizes, weights),
        gamma_only_curve=concentration_curve(log_gamma, is_signal, sizes, weights),
        log_gamma=log_gamma,
        log_gamma_smoothed=log_gamma_smoothed,
        is_signal=is_signal,
        weights=weights,
        history_network=gamma.history_,
        history_head=smoothed.history_,
        n_parameters=count_parameters(network),
        seconds=seconds,
        network=network,
        log_prior_ratio=gamma.log_prior_ratio_,
    )


def repeat_files(
    results_dir: str | Path, config: HH4bConfig, seed: int
) -> dict[str, Path]:
    """Return the paths of the files one finished repeat leaves on disk.

    ``table`` contains the concentration curves in tidy form, ``scores`` the log
    ratios and truth labels of the held-out 4b events, ``history`` both training
    records, and ``network`` the trained network with its configuration and seed.
    The table is written last, so its presence marks a finished repeat.
    """
    folder = Path(results_dir) / config.key()
    stem = f"seed_{seed}"
    return {
        "table": folder / f"{stem}.parquet",
        "scores": folder / f"{stem}.scores.parquet",
        "history": folder / f"{stem}.history.json",
        "network": folder / f"{stem}.network.pt",
    }


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file and rename it, so a reader never sees a
    partial file."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(temporary)
    os.replace(temporary, path)


def save_repeat(result: HH4bRepeatResult, results_dir: str | Path) -> None:
    """Write the files of :func:`repeat_files` for a finished repeat."""
    files = repeat_files(results_dir, result.config, result.seed)
    files["table"].parent.mkdir(parents=True, exist_ok=True)
    scores = pd.DataFrame(
        {
            "log_gamma": result.log_gamma,
            "log_gamma_smoothed": result.log_gamma_smoothed,
            "is_signal": result.is_signal,
            "weight": result.weights,
        }
    )
    histories = {
        "network": result.history_network.to_dict(),
        "head": result.history_head.to_dict(),
    }
    extra = {
        "seed": result.seed,
        "config_key": result.config.key(),
        "log_prior_ratio": result.log_prior_ratio,
    }
    _write_atomic(files["scores"], scores.to_parquet)
    _write_atomic(files["history"], lambda p: p.write_text(json.dumps(histories)))
    _write_atomic(
        files["network"], lambda p: save_network(result.network, p, extra=extra)
    )
    _write_atomic(files["table"], result.to_table().to_parquet)


def load_scores(results_dir: str | Path, config: HH4bConfig, seed: int) -> pd.DataFrame:
    """Return the held-out 4b log ratios and truth labels of a finished repeat."""
    return pd.read_parquet(repeat_files(results_dir, config, seed)["scores"])


def load_histories(
    results_dir: str | Path, config: HH4bConfig, seed: int
) -> dict[str, TrainingHistory]:
    """Return the training records of the network and the head of a repeat."""
    path = repeat_files(results_dir, config, seed)["history"]
    stored = json.loads(path.read_text())
    return {name: TrainingHistory(**values) for name, values in stored.items()}


def load_repeat_network(
    results_dir: str | Path, config: HH4bConfig, seed: int
) -> tuple[FourJetNetwork, float]:
    """Return the trained network of a repeat and its log class-weight ratio."""
    checkpoint = load_network(repeat_files(results_dir, config, seed)["network"])
    return checkpoint.model, float(checkpoint.extra["log_prior_ratio"])


def run_hh4b_study(
    configs: Iterable[HH4bConfig],
    seeds: Iterable[int],
    results_dir: str | Path,
    *,
    device: str = "auto",
    progress: bool = False,
    executor: object = "serial",
) -> pd.DataFrame:
    """Run every configuration with every seed and return all curves as one table.

    Each finished repeat leaves the files of :func:`repeat_files`, each written
    through a temporary file and an atomic rename, so an interrupted sweep loses
    only the repeat in progress, and a rerun skips the repeats already on disk.
    A ``config.json`` beside the results records each configuration.

    Args:
        executor: ``"serial"`` runs the repeats here, one after the other, and
            stops at the first error. ``"dask-local"``, a Dask scheduler address,
            a ``distributed.Client`` or a Dask cluster runs them as Dask tasks
            through :func:`srlib.sweep.run_sweep`, which finishes the other
            repeats when one fails and then raises
            :class:`srlib.sweep.SweepError`.
    """
    configs, seeds = list(configs), list(seeds)
    if not configs:
        raise ValueError("configs is empty; pass at least one HH4bConfig.")
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed.")
    for config in configs:
        if not isinstance(config, HH4bConfig):
            raise ValueError(
                "configs must contain only HH4bConfig objects, got "
                f"{type(config).__name__}."
            )
    if executor != "serial":
        from srlib.sweep import SweepError, run_sweep

        outcome = run_sweep(
            configs,
            seeds,
            results_dir,
            executor=executor,
            device=device,
            progress=progress,
        )
        if outcome.failures:
            raise SweepError(outcome)
        return outcome.table

    results_dir = Path(results_dir)
    tables = []
    for config in configs:
        folder = results_dir / config.key()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        for seed in seeds:
            path = repeat_files(results_dir, config, seed)["table"]
            if path.exists():
                logger.info("skipping %s: already on disk", path)
            else:
                result = run_hh4b_repeat(config, seed, device=device, progress=progress)
                save_repeat(result, results_dir)
            tables.append(pd.read_parquet(path))
    return pd.concat(tables, ignore_index=True)


def curves_from_table(
    table: pd.DataFrame, method: str = "gamma/gamma~"
) -> list[ConcentrationCurve]:
    """Rebuild the concentration curves of one ranking method from a results table,
    one per seed."""
    rows = table[table["method"] == method]
    if rows.empty:
        raise ValueError(
            f"table has no rows with method {method!r}; the methods are "
            f"{sorted(table['method'].unique())}."
        )
    curves = []
    for _, group in rows.groupby("seed", sort=True):
        group = group.sort_values("size")
        curves.append(
            ConcentrationCurve(
                sizes=group["size"].to_numpy(),
                region_share=group["region_share"].to_numpy(),
                signal_share=group["signal_share"].to_numpy(),
            )
        )
    return curves
