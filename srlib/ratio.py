"""Density ratios learned by classifiers, plain and smoothed.

A classifier :math:`f` trained with weighted binary cross-entropy to tell 4b events
(label 1) from 3b events (label 0) converges to the posterior odds

.. math::

    \\frac{f(x)}{1 - f(x)} = \\frac{W_{4b}\\, p_{4b}(x)}{W_{3b}\\, p_{3b}(x)},

where :math:`W_{4b}` and :math:`W_{3b}` are the total training weights of the two
classes. The network outputs the logit :math:`\\ell(x) = \\log f/(1-f)`, so

.. math::

    \\log\\gamma(x) = \\ell(x) - \\log(W_{4b} / W_{3b}).

Training on inputs plus noise :math:`\\mathcal E \\sim K = \\mathcal N(0,
\\operatorname{diag}\\sigma^2)` replaces both densities by their convolutions with
:math:`K`, and the same correction gives the smoothed ratio
:math:`\\log\\tilde\\gamma = \\log (p_{4b} * K) - \\log (p_{3b} * K)`, which is then
evaluated on inputs without noise (Yi, Alison and Kuusela, arXiv:2409.06960, Section 3).
"""

from __future__ import annotations

import copy
import logging
import numbers
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from srlib._validation import (
    check_finite_array,
    check_fraction,
    check_positive,
    check_sample_size,
    check_weights,
)

__all__ = [
    "DensityRatioEstimator",
    "MLPClassifier",
    "TrainingConfig",
    "TrainingHistory",
    "noise_scale_from_range",
    "predict_logits",
    "resolve_device",
    "train_classifier",
]

logger = logging.getLogger(__name__)

# Guards torch's global random generator while a model is built from a seed, so that
# fits running in threads of one process (a threaded Dask worker) cannot reseed it
# under each other.
_GLOBAL_SEED_LOCK = threading.Lock()


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return the torch device for ``device``; ``"auto"`` picks CUDA when present."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    message = f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}."
    if not isinstance(device, str):
        raise ValueError(message)
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(message) from error
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(message)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device is {device!r} but torch finds no CUDA device; use 'auto' or 'cpu'."
        )
    return resolved


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one classifier training.

    Attributes:
        learning_rate: Initial Adam learning rate.
        batch_size: Initial number of events per step.
        batch_size_doubling_epochs: Epochs (counted from 0) at whose start the batch
            size doubles.
        max_epochs: Upper limit on the number of epochs.
        patience: Epochs without a better validation loss before training stops.
        lr_patience: Epochs without improvement before the learning rate is reduced.
        lr_factor: Factor applied to the learning rate at each reduction.
        weight_decay: Adam weight decay.
        validation_fraction: Share of events held out for validation and early
            stopping, in (0, 1).
        balance_classes: Rescale the weights so that both classes carry the same
            total weight, which keeps the logit near the log ratio.
        seed: Seed of the initial weights, the validation split, the batch order
            and the noise.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:N]"``.
        progress: Show a progress bar on stderr.
        eval_batch_size: Events per forward pass when predicting.
        torch_compile: Run the training and validation passes through
            ``torch.compile`` (TorchInductor), which fuses the many small
            element-wise kernels of a narrow network. Compiling happens once per
            process and took 5 to 30 s on a 2-core CPU, depending on torch's disk
            cache. It needs a C++ compiler on the CPU and Triton on CUDA. The
            results agree with the eager ones to rounding, not bit for bit. The
            Performance chapter times it.
    """

    learning_rate: float = 1e-3
    batch_size: int = 1024
    batch_size_doubling_epochs: tuple[int, ...] = ()
    max_epochs: int = 40
    patience: int = 6
    lr_patience: int = 2
    lr_factor: float = 0.5
    weight_decay: float = 0.0
    validation_fraction: float = 0.2
    balance_classes: bool = True
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    eval_batch_size: int = 65536
    torch_compile: bool = False

    def __post_init__(self) -> None:
        check_positive("learning_rate", self.learning_rate)
        check_sample_size("batch_size", self.batch_size)
        check_sample_size("max_epochs", self.max_epochs)
        check_sample_size("patience", self.patience)
        check_sample_size("lr_patience", self.lr_patience)
        check_fraction("lr_factor", self.lr_factor, include_one=False)
        check_fraction(
            "validation_fraction", self.validation_fraction, include_one=False
        )
        check_sample_size("eval_batch_size", self.eval_batch_size)
        if (
            isinstance(self.weight_decay, bool)
            or not isinstance(self.weight_decay, numbers.Real)
            or not 0 <= self.weight_decay < np.inf
        ):
            raise ValueError(
                f"weight_decay must be a finite number of 0 or above, got "
                f"{self.weight_decay!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ValueError(f"seed must be an integer, got {self.seed!r}.")
        epochs = self.batch_size_doubling_epochs
        if not isinstance(epochs, tuple) or any(
            isinstance(epoch, bool)
            or not isinstance(epoch, numbers.Integral)
            or epoch < 0
            for epoch in epochs
        ):
            raise ValueError(
                "batch_size_doubling_epochs must be a tuple of epochs of 0 or above, "
                f"got {epochs!r}."
            )
        # Plain sorted ints: numpy integers would break the JSON of the cache key,
        # and (4, 2) is the same schedule as (2, 4).
        object.__setattr__(
            self,
            "batch_size_doubling_epochs",
            tuple(sorted({int(epoch) for epoch in epochs})),
        )
        for name in ("balance_classes", "progress", "torch_compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name} must be True or False, got {getattr(self, name)!r}."
                )


@dataclass
class TrainingHistory:
    """Per-epoch record of one training, with the epoch whose weights were kept."""

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    batch_size: list[int] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Return the history as plain Python objects, for JSON or tables."""
        return asdict(self)


class MLPClassifier(nn.Module):
    """Fully connected classifier that standardises its inputs and outputs a logit.

    Args:
        n_features: Number of input features after flattening.
        hidden: Widths of the hidden layers.
        loc: Per-feature offset subtracted before the first layer.
        scale: Per-feature scale divided out before the first layer.
    """

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...] = (64, 64, 64),
        loc: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        check_sample_size("n_features", n_features)
        self.register_buffer(
            "loc", torch.zeros(n_features) if loc is None else loc.float()
        )
        self.register_buffer(
            "scale", torch.ones(n_features) if scale is None else scale.float()
        )
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.SiLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    @classmethod
    def from_data(
        cls, inputs: np.ndarray, hidden: tuple[int, ...] = (64, 64, 64)
    ) -> MLPClassifier:
        """Build a classifier whose standardisation uses the mean and sd of
        ``inputs`` (shape (N, ...), flattened per event)."""
        flat = np.asarray(inputs, dtype=np.float64).reshape(len(inputs), -1)
        loc = torch.as_tensor(flat.mean(axis=0))
        scale = torch.as_tensor(flat.std(axis=0)).clamp_min(1e-12)
        return cls(flat.shape[1], hidden, loc, scale)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        flat = inputs.reshape(inputs.shape[0], -1)  # (N, n_features)
        return self.layers((flat - self.loc) / self.scale).squeeze(-1)  # (N,)


def _weighted_bce(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return (weights * losses).sum() / weights.sum()


def predict_logits(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 65536,
    device: str | torch.device = "auto",
) -> np.ndarray:
    """Evaluate ``model`` in eval mode on ``inputs`` in batches.

    Returns:
        Logits as a float64 array of shape (N,).
    """
    target = resolve_device(device)
    model = model.to(target).eval()
    # np.array copies, so read-only inputs (such as Events arrays) convert cleanly.
    tensor = torch.from_numpy(np.array(inputs, dtype=np.float32))
    outputs = []
    with torch.no_grad():
        for start in range(0, tensor.shape[0], batch_size):
            batch = tensor[start : start + batch_size].to(target)
            outputs.append(model(batch).double().cpu())
    return torch.cat(outputs).numpy()


def train_classifier(
    model: nn.Module,
    inputs: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    config: TrainingConfig,
    *,
    noise_sd: np.ndarray | None = None,
    description: str = "training",
) -> tuple[TrainingHistory, float]:
    """Train ``model`` in place to separate label 1 from label 0 with early stopping.

    The events are split once into training and validation parts. With
    ``noise_sd``, fresh Gaussian noise with that sd (shape of one event's inputs)
    is added to each training batch, and one fixed noise draw to the validation
    events, so early stopping judges the smoothed problem. The weights of the
    epoch with the lowest validation loss are restored at the end.

    Args:
        model: Module mapping a float32 batch (B, ...) to logits (B,).
        inputs: Events, shape (N, ...).
        labels: 0 or 1 per event, shape (N,).
        weights: Non-negative weight per event, shape (N,).
        config: Training settings.
        noise_sd: Per-feature sd of the added noise, or None for no noise.
        description: Label of the progress bar and the log messages.

    Returns:
        The history and :math:`\\log(W_1/W_0)`, the log ratio of the total training
        weights of the two classes, which converts the logit to a log density ratio.
    """
    device = resolve_device(config.device)
    generator = torch.Generator().manual_seed(config.seed)
    n_events = len(inputs)
    order = torch.randperm(n_events, generator=generator)
    n_validation = max(1, int(round(config.validation_fraction * n_events)))
    if n_events - n_validation < 2:
        raise ValueError(
            f"{description} needs at least 3 events to split off validation events, "
            f"got {n_events}."
        )
    validation_index, train_index = order[:n_validation], order[n_validation:]

    x_all = torch.from_numpy(np.array(inputs, dtype=np.float32))
    y_all = torch.from_numpy(np.array(labels, dtype=np.float32))
    w_all = torch.from_numpy(np.array(weights, dtype=np.float32))
    x_train, y_train, w_train = (
        t[train_index].to(device) for t in (x_all, y_all, w_all)
    )
    x_val, y_val, w_val = (
        t[validation_index].to(device) for t in (x_all, y_all, w_all)
    )

    weight_1 = float(w_train[y_train == 1].sum())
    weight_0 = float(w_train[y_train == 0].sum())
    if weight_1 <= 0 or weight_0 <= 0:
        raise ValueError(
            f"{description}: after the validation split one class has no training "
            "weight; pass more events of each class."
        )
    log_prior_ratio = float(np.log(weight_1 / weight_0))

    sd = None
    if noise_sd is not None:
        sd = torch.as_tensor(noise_sd, dtype=torch.float32).to(device)
        noise_generator = torch.Generator(device=device).manual_seed(config.seed + 1)
        x_val = x_val + sd * torch.randn(
            x_val.shape, generator=noise_generator, device=device
        )

    model.to(device)
    forward = _engineered_forward(model, noise_sd)
    if forward is not model:
        x_train = _engineer(model, x_train, config.eval_batch_size)
        x_val = _engineer(model, x_val, config.eval_batch_size)
    if config.torch_compile:
        # dynamic=True compiles one graph for every batch size (the doubling
        # schedule, the short last batch, the validation batches). Each mode,
        # training and evaluation, is compiled once per process.
        forward = torch.compile(forward, dynamic=True)

    # foreach=True updates all parameters with a few multi-tensor kernels. Torch
    # picks it by default only on CUDA, and on the CPU its per-tensor loop took
    # about 8 % of a FourJetNetwork step at batch 1024.
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        foreach=True,
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_factor, patience=config.lr_patience
    )
    history = TrainingHistory()
    best_loss, best_state, stale_epochs = np.inf, None, 0
    batch_size = config.batch_size
    n_train = x_train.shape[0]
    started = time.perf_counter()
    logger.info(
        "%s: %d training and %d validation events on %s",
        description,
        n_train,
        n_validation,
        device,
    )

    bar = tqdm(
        range(config.max_epochs),
        desc=description,
        disable=not config.progress,
        leave=False,
    )
    for epoch in bar:
        if epoch in config.batch_size_doubling_epochs:
            batch_size *= 2

        # One pass over the training events in a seeded random order.
        model.train()
        permutation = torch.randperm(n_train, generator=generator).to(device)
        total_loss, total_weight = 0.0, 0.0
        for start in range(0, n_train, batch_size):
            index = permutation[start : start + batch_size]
            x_batch, y_batch, w_batch = x_train[index], y_train[index], w_train[index]
            if sd is not None:
                x_batch = x_batch + sd * torch.randn(
                    x_batch.shape, generator=noise_generator, device=device
                )
            loss = _weighted_bce(forward(x_batch), y_batch, w_batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            batch_weight = float(w_batch.sum())
            total_loss += float(loss.detach()) * batch_weight
            total_weight += batch_weight

        # The validation loss sets the learning rate, early stopping and the kept
        # weights.
        model.eval()
        with torch.no_grad():
            validation_loss = 0.0
            for start in range(0, x_val.shape[0], config.eval_batch_size):
                stop = start + config.eval_batch_size
                logits = forward(x_val[start:stop])
                validation_loss += float(
                    _weighted_bce(logits, y_val[start:stop], w_val[start:stop])
                    * w_val[start:stop].sum()
                )
            validation_loss /= float(w_val.sum())
        scheduler.step(validation_loss)

        history.train_loss.append(total_loss / total_weight)
        history.validation_loss.append(validation_loss)
        history.learning_rate.append(optimizer.param_groups[0]["lr"])
        history.batch_size.append(batch_size)
        bar.set_postfix(
            train=f"{total_loss / total_weight:.4f}", val=f"{validation_loss:.4f}"
        )

        if validation_loss < best_loss - 1e-7:
            best_loss, stale_epochs = validation_loss, 0
            best_state = copy.deepcopy(model.state_dict())
            history.best_epoch = epoch
        else:
            stale_epochs += 1
            if stale_epochs >= config.patience:
                logger.info("%s: early stop after epoch %d", description, epoch)
                break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - started
    logger.info(
        "%s: best validation loss %.5f at epoch %d, %.1f s",
        description,
        best_loss,
        history.best_epoch,
        history.seconds,
    )
    return history, log_prior_ratio


def _engineered_forward(
    model: nn.Module, noise_sd: np.ndarray | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return ``model.forward_engineered`` where training may use it, else ``model``.

    A model with ``engineered_inputs`` and ``forward_engineered`` methods (such as
    FourJetNetwork) computes parameter-free features of its inputs first. Computing
    them once per event saves about a quarter of its CPU training time. Noise must
    be added to the raw inputs, so with ``noise_sd`` the model is called as usual.
    """
    engineered_inputs = getattr(model, "engineered_inputs", None)
    forward_engineered = getattr(model, "forward_engineered", None)
    if (
        noise_sd is None
        and callable(engineered_inputs)
        and callable(forward_engineered)
    ):
        return forward_engineered
    return model


def _engineer(model: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Apply ``model.engineered_inputs`` to ``inputs`` in batches, without gradients."""
    with torch.no_grad():
        parts = [
            model.engineered_inputs(inputs[start : start + batch_size])
            for start in range(0, inputs.shape[0], batch_size)
        ]
    return torch.cat(parts)


def noise_scale_from_range(inputs: np.ndarray, eta: float) -> np.ndarray:
    """Return the per-feature noise sd: ``eta`` times the range of each feature.

    Args:
        inputs: Events, shape (N, ...).
        eta: Noise scale :math:`\\eta` relative to the range (max minus min).

    Returns:
        Array of shape ``inputs.shape[1:]``.
    """
    check_positive("eta", eta)
    inputs = check_finite_array("inputs", inputs)
    return eta * (inputs.max(axis=0) - inputs.min(axis=0))


ModelFactory = Callable[[np.ndarray], nn.Module]


class DensityRatioEstimator:
    """Estimate :math:`\\gamma = p_{4b}/p_{3b}`, or its smoothed version, with a
    classifier.

    Without noise the estimator learns :math:`\\gamma`. With ``eta`` or
    ``noise_sd`` it trains on inputs plus Gaussian noise and learns the smoothed
    :math:`\\tilde\\gamma`, which is evaluated on inputs without noise.

    Args:
        eta: Noise sd per feature as a multiple of that feature's range in the
            training inputs (both samples pooled).
        noise_sd: Explicit noise sd, a scalar or one value per feature. Give at most
            one of ``eta`` and ``noise_sd``.
        config: Training settings.
        model_factory: Function that builds the classifier from the pooled training
            inputs; defaults to :class:`MLPClassifier` standardised on those inputs.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> x_3b, x_4b = rng.normal(0, 1, 4000), rng.normal(0.5, 1, 4000)
        >>> config = TrainingConfig(max_epochs=3, progress=False, device="cpu")
        >>> ratio = DensityRatioEstimator(config=config).fit(x_3b, x_4b)
        >>> ratio.log_ratio(np.array([0.0])).shape
        (1,)
    """

    def __init__(
        self,
        *,
        eta: float | None = None,
        noise_sd: float | np.ndarray | None = None,
        config: TrainingConfig | None = None,
        model_factory: ModelFactory | None = None,
    ) -> None:
        if eta is not None and noise_sd is not None:
            raise ValueError("pass eta or noise_sd, not both.")
        if eta is not None:
            check_positive("eta", eta)
        if noise_sd is not None:
            sd = np.asarray(noise_sd, dtype=np.float64)
            if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
                raise ValueError(
                    f"noise_sd must be finite and above 0 everywhere, got {noise_sd!r}."
                )
        self.eta = eta
        self.noise_sd = noise_sd
        self.config = config or TrainingConfig()
        self.model_factory = model_factory or MLPClassifier.from_data

    @property
    def smoothed(self) -> bool:
        """Whether the estimator learns the smoothed ratio."""
        return self.eta is not None or self.noise_sd is not None

    def fit(
        self,
        x_3b: np.ndarray,
        x_4b: np.ndarray,
        weights_3b: np.ndarray | None = None,
        weights_4b: np.ndarray | None = None,
    ) -> DensityRatioEstimator:
        """Train the classifier on the 3b (label 0) and 4b (label 1) samples.

        Args:
            x_3b: 3b events, shape (N_3b,) or (N_3b, ...).
            x_4b: 4b events with the same per-event shape as ``x_3b``.
            weights_3b: Optional non-negative event weights of the 3b sample.
            weights_4b: Optional non-negative event weights of the 4b sample.

        Returns:
            The fitted estimator.
        """
        x_3b = _as_events("x_3b", x_3b)
        x_4b = _as_events("x_4b", x_4b)
        if x_3b.shape[1:] != x_4b.shape[1:]:
            raise ValueError(
                f"x_3b has per-event shape {x_3b.shape[1:]} but x_4b has "
                f"{x_4b.shape[1:]}; both samples need the same features."
            )
        w_3b = check_weights("weights_3b", weights_3b, len(x_3b))
        w_4b = check_weights("weights_4b", weights_4b, len(x_4b))
        if self.config.balance_classes:
            w_3b = w_3b * (len(x_3b) + len(x_4b)) / (2 * w_3b.sum())
            w_4b = w_4b * (len(x_3b) + len(x_4b)) / (2 * w_4b.sum())

        inputs = np.concatenate([x_3b, x_4b])
        labels = np.concatenate([np.zeros(len(x_3b)), np.ones(len(x_4b))])
        weights = np.concatenate([w_3b, w_4b])

        self.noise_sd_: np.ndarray | None = None
        if self.eta is not None:
            self.noise_sd_ = noise_scale_from_range(inputs, self.eta)
        elif self.noise_sd is not None:
            sd = np.asarray(self.noise_sd, dtype=np.float64)
            try:
                self.noise_sd_ = np.broadcast_to(sd, inputs.shape[1:]).copy()
            except ValueError as error:
                raise ValueError(
                    f"noise_sd has shape {sd.shape}, but it must be a scalar or "
                    f"broadcast to the per-event shape {inputs.shape[1:]}."
                ) from error

        self.feature_shape_ = inputs.shape[1:]
        with _GLOBAL_SEED_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            self.model_ = self.model_factory(inputs)
        description = "smoothed ratio" if self.smoothed else "density ratio"
        self.history_, self.log_prior_ratio_ = train_classifier(
            self.model_,
            inputs,
            labels,
            weights,
            self.config,
            noise_sd=self.noise_sd_,
            description=description,
        )
        return self

    def log_ratio(self, x: np.ndarray) -> np.ndarray:
        """Return the learned log ratio at ``x`` (no noise added), shape (N,)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit before log_ratio.")
        x = _as_events("x", x)
        if x.shape[1:] != self.feature_shape_:
            raise ValueError(
                f"x has per-event shape {x.shape[1:]} but the estimator was fitted on "
                f"{self.feature_shape_}."
            )
        logits = predict_logits(
            self.model_,
            x,
            batch_size=self.config.eval_batch_size,
            device=self.config.device,
        )
        return logits - self.log_prior_ratio_

    def ratio(self, x: np.ndarray) -> np.ndarray:
        """Return the learned ratio at ``x``, shape (N,)."""
        return np.exp(self.log_ratio(x))


def _as_events(name: str, values: np.ndarray) -> np.ndarray:
    """Return ``values`` as a finite float array of shape (N, ...), where a 1-D
    input becomes (N, 1)."""
    array = check_finite_array(name, values)
    if array.ndim == 0:
        raise ValueError(f"{name} must hold one row per event, got a scalar.")
    # The networks run in float32, where larger values become inf and give NaN
    # ratios without any error.
    largest = float(np.abs(array).max())
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"{name} contains |value| {largest:.3g}, above the float32 limit "
            f"{limit:.3g} of the networks; rescale the inputs."
        )
    if array.ndim == 1:
        array = array[:, None]
    return array
