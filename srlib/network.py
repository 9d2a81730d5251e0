"""Representation network for four-jet events, after the FvT classifier.

The architecture follows the "four-tag versus three-tag" (FvT) classifier of Manole
et al., Annals of Applied Statistics 18(4), 2024. It separates 4b from 3b events, and
its per-pairing "quadjet" tensor is the event representation :math:`\\zeta(x)` on
which the smoothed density ratio :math:`\\tilde\\gamma` is trained.

The network places the jets of each pairing next to each other. With jets sorted by
:math:`p_T`, the three ways to split four jets into two dijets are laid out as

.. code-block:: text

    positions   0 1 | 2 3   4 5 | 6 7   8 9 | 10 11
    jets        0 1 | 2 3   0 2 | 1 3   0 3 |  1  2
    dijets       0  |  1     2  |  3     4  |   5
    pairings       0            1             2

so a kernel-3, stride-3 convolution over (jet, jet, dijet) builds each dijet, and one
over (dijet, dijet, pairing) builds each quadjet.

Example:
    >>> import torch
    >>> net = FourJetNetwork(width=6)
    >>> jets = torch.tensor([[[120.0, 0.3, 0.1, 12.0], [90.0, -1.1, 2.5, 9.0],
    ...                       [60.0, 0.8, -2.0, 7.0], [45.0, 1.9, 1.0, 5.0]]])
    >>> net.eval()(jets).shape
    torch.Size([1])
    >>> net.representation(jets).shape
    torch.Size([1, 18])
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import pickle
import platform
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "FourJetNetwork",
    "NetworkCheckpoint",
    "NetworkConfig",
    "RepresentationHead",
    "RepresentationKind",
    "canonicalise_jets",
    "count_parameters",
    "load_network",
    "save_network",
]

logger = logging.getLogger(__name__)

RepresentationKind = Literal["quadjets", "pooled"]

N_JETS = 4
N_JET_FIELDS = 4
N_DIJETS = 6
N_PAIRINGS = 3
# Engineered inputs per event: 3 scaled fields and phi for each of the 12 laid-out
# jets, 2 per dijet and 2 per pairing.
N_ENGINEERED = 12 * 4 + N_DIJETS * 2 + N_PAIRINGS * 2

# Jet indices for the pairings 01|23, 02|13, 03|12. Layout positions 2k and 2k + 1
# form dijet k, and dijets 2p and 2p + 1 form pairing p.
PAIRING_LAYOUT = (0, 1, 2, 3, 0, 2, 1, 3, 0, 3, 1, 2)

# Lower bound, in GeV, on a dijet's transverse momentum when computing its
# pseudorapidity, so that a dijet of two back-to-back jets gets a finite eta.
_MIN_DIJET_PT = 1e-3

CHECKPOINT_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Constructor arguments of :class:`FourJetNetwork`, stored in checkpoints.

    Attributes:
        width: Number of channels of every jet, dijet and quadjet embedding.
        n_block_layers: Number of residual kernel-3 convolutions in the dijet block
            and, separately, in the quadjet block.
        n_event_layers: Number of residual 1x1 convolutions applied to the quadjets
            after the quadjet block.
    """

    width: int = 6
    n_block_layers: int = 2
    n_event_layers: int = 3

    def __post_init__(self) -> None:
        for name, minimum in [
            ("width", 1),
            ("n_block_layers", 1),
            ("n_event_layers", 0),
        ]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"{name} must be an integer >= {minimum}, got {value!r}."
                )


class NetworkCheckpoint(NamedTuple):
    """A network restored by :func:`load_network`, with what was saved beside it.

    Attributes:
        model: The network in eval mode, with the saved dtype and weights.
        config: The constructor arguments it was built from.
        extra: The ``extra`` mapping passed to :func:`save_network`.
        versions: Versions of srlib, torch and Python that wrote the file.
    """

    model: FourJetNetwork
    config: NetworkConfig
    extra: dict[str, Any]
    versions: dict[str, str]


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Count the scalar parameters of a module.

    Args:
        model: Any torch module.
        trainable_only: Count only parameters with ``requires_grad``.

    Returns:
        The total number of scalars. Batch-norm running statistics are buffers and are
        not counted.
    """
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )


def _check_jets(jets: Tensor) -> None:
    if not isinstance(jets, Tensor):
        raise ValueError(f"jets must be a torch.Tensor, got {type(jets).__name__}.")
    if not jets.is_floating_point():
        raise ValueError(f"jets must have a floating dtype, got {jets.dtype}.")
    if jets.ndim != 3 or tuple(jets.shape[1:]) != (N_JETS, N_JET_FIELDS):
        raise ValueError(
            "jets must have shape (N, 4, 4) with fields (pt, eta, phi, m) in the last "
            f"axis, got {tuple(jets.shape)}."
        )


def _sign(x: Tensor) -> Tensor:
    """Return -1 where x < 0 and +1 elsewhere, zero included, in x's dtype."""
    return 1.0 - 2.0 * (x < 0).to(x.dtype)


def _wrap_angle(angle: Tensor) -> Tensor:
    """Wrap angles in radians to [-pi, pi)."""
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


def canonicalise_jets(jets: Tensor) -> Tensor:
    """Map each event to a fixed representative of its symmetry orbit.

    The steps are, per event:

    1. sort the jets by :math:`p_T`, leading jet first;
    2. :math:`\\eta_i \\to s\\,\\eta_i` with :math:`s = \\operatorname{sign}\\eta_1`;
    3. :math:`\\phi_i \\to \\operatorname{wrap}(\\phi_i - \\phi_1)` into
       :math:`[-\\pi, \\pi)`, so the leading jet sits at :math:`\\phi = 0`;
    4. :math:`\\phi_i \\to s'\\,\\phi_i` with :math:`s' = \\operatorname{sign}\\phi_2`.

    A sign of zero counts as +1. The result is the same for every reordering of the
    jets, every global rotation in :math:`\\phi` and every reflection in :math:`\\eta`
    or :math:`\\phi`, because each step removes one of these transformations.

    Warning:
        Jets with exactly equal :math:`p_T` keep their input order, so for such ties
        the choice of leading or second jet, and hence the output, depends on the
        input order. After step 4 the angles lie in :math:`[-\\pi, \\pi]`, where
        :math:`\\pi` appears only when step 4 flips a jet sitting at :math:`-\\pi`.

    Args:
        jets: Raw jets, shape (N, 4, 4), fields (pt [GeV], eta, phi [rad], m [GeV])
            in the last axis.

    Returns:
        Canonical jets with the same shape, dtype and device.

    Raises:
        ValueError: If ``jets`` is not a floating tensor of shape (N, 4, 4).
    """
    _check_jets(jets)
    order = torch.argsort(jets[..., 0], dim=1, descending=True, stable=True)  # (N, 4)
    jets = torch.gather(jets, 1, order.unsqueeze(-1).expand(-1, -1, N_JET_FIELDS))
    pt, eta, phi, mass = jets.unbind(-1)  # each (N, 4)

    eta = eta * _sign(eta[:, :1])
    phi = _wrap_angle(phi - phi[:, :1])
    phi = phi * _sign(phi[:, 1:2])
    return torch.stack([pt, eta, phi, mass], dim=-1)


def _four_momenta(jets: Tensor) -> Tensor:
    """Convert (pt, eta, phi, m) in the last axis to (px, py, pz, E)."""
    pt, eta, phi, mass = jets.unbind(-1)
    px = pt * torch.cos(phi)
    py = pt * torch.sin(phi)
    pz = pt * torch.sinh(eta)
    energy = torch.sqrt(px**2 + py**2 + pz**2 + mass.clamp_min(0.0) ** 2)
    return torch.stack([px, py, pz, energy], dim=-1)


def _invariant_mass(momenta: Tensor) -> Tensor:
    """Return sqrt(E^2 - p^2) for (px, py, pz, E) in the last axis.

    Rounding can make E^2 - p^2 slightly negative for nearly massless systems, so it is
    clipped at zero.
    """
    px, py, pz, energy = momenta.unbind(-1)
    mass_squared = energy**2 - px**2 - py**2 - pz**2
    return torch.sqrt(mass_squared.clamp_min(0.0))


def _eta_phi(momenta: Tensor) -> Tensor:
    """Return (eta, phi) in the last axis from (px, py, pz, E) in the last axis."""
    px, py, pz, _ = momenta.unbind(-1)
    pt = torch.hypot(px, py).clamp_min(_MIN_DIJET_PT)
    return torch.stack([torch.asinh(pz / pt), torch.atan2(py, px)], dim=-1)


def _delta_r(angles_a: Tensor, angles_b: Tensor) -> Tensor:
    """Return sqrt(d_eta^2 + d_phi^2) for (eta, phi) in the last axis, d_phi wrapped."""
    difference = angles_a - angles_b
    return torch.hypot(difference[..., 0], _wrap_angle(difference[..., 1]))


def _symmetric_pair(members: Tensor) -> tuple[Tensor, Tensor]:
    """Combine consecutive members into a mean and an absolute difference.

    Both outputs are unchanged when the two members of a pair are swapped.

    Args:
        members: Shape (N, 2P, C), channels last, the members of pair k at positions
            2k and 2k + 1.

    Returns:
        The mean and the absolute difference, each of shape (N, P, C).
    """
    pairs = members.unflatten(1, (-1, 2))  # (N, P, 2, C)
    first, second = pairs.unbind(2)  # each (N, P, C)
    return 0.5 * (first + second), (first - second).abs()


def _pointwise(conv: nn.Conv1d, inputs: Tensor) -> Tensor:
    """Apply a 1x1 convolution to channels-last inputs as one matrix product.

    Args:
        conv: Convolution with kernel size 1, weight shape (C_out, C_in, 1).
        inputs: Shape (N, L, C_in).

    Returns:
        Shape (N, L, C_out), equal to ``conv(inputs.transpose(1, 2)).transpose(1, 2)``
        up to rounding.
    """
    return F.linear(inputs, conv.weight.squeeze(-1), conv.bias)


def _triplet_kernel(conv: nn.Conv1d) -> Tensor:
    """Flatten a kernel-3, stride-3 convolution weight to (C_out, 3 * C_in).

    A convolution whose stride equals its kernel size sees disjoint windows, so on
    channels-last inputs it is one matrix product of each window, flattened
    window-position-major, with this kernel. Computed this way it avoids oneDNN's
    convolution kernels, which are slow for a handful of channels and took about half
    of this network's CPU training time.
    """
    return conv.weight.transpose(1, 2).flatten(1)


def _batch_norm_channels_last(norm: nn.BatchNorm1d, inputs: Tensor) -> Tensor:
    """Apply batch norm to inputs of shape (N, L, C), pooling statistics over N and L.

    This is what ``norm`` computes on the channels-first layout (N, C, L).
    """
    return norm(inputs.flatten(0, 1)).view_as(inputs)


class _PairBlock(nn.Module):
    """Residual update of pair embeddings from the embeddings of their members.

    Each layer applies

    .. math::

        d \\leftarrow d + \\operatorname{SiLU}\\bigl(
            W [\\tfrac12(a + b),\\ |a - b|,\\ d] + c\\bigr)

    with a kernel-3, stride-3 convolution :math:`W`. The members ``a`` and ``b`` enter
    only through their mean and absolute difference, so swapping them leaves the output
    unchanged.
    """

    def __init__(self, width: int, n_layers: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(width, width, kernel_size=3, stride=3) for _ in range(n_layers)
        )

    def forward(self, members: Tensor, pairs: Tensor) -> Tensor:
        """Update the pairs.

        Args:
            members: Member embeddings, shape (N, 2P, C), channels last.
            pairs: Pair embeddings, shape (N, P, C), channels last.

        Returns:
            Updated pair embeddings, shape (N, P, C).
        """
        mean, difference = _symmetric_pair(members)
        symmetric = torch.cat([mean, difference], dim=-1)  # (N, P, 2C)
        width = pairs.shape[-1]
        for conv in self.convs:
            # The window is (mean, difference, pair). Splitting the flattened
            # kernel at 2C multiplies the fixed first two members without copying
            # them next to the pair again in every layer.
            kernel = _triplet_kernel(conv)  # (C, 3C)
            update = F.linear(symmetric, kernel[:, : 2 * width], conv.bias)
            update = update + F.linear(pairs, kernel[:, 2 * width :])  # (N, P, C)
            pairs = pairs + F.silu(update)
        return pairs


class RepresentationHead(nn.Module):
    """Map a flattened event representation to one logit per event.

    For ``kind="quadjets"`` the input is the per-pairing quadjet tensor
    :math:`q \\in \\mathbb{R}^{C \\times 3}` flattened channel-major, as returned by
    :meth:`FourJetNetwork.representation`. The head pools the pairings with learned
    softmax weights and applies a linear output layer,

    .. math::

        w_p = \\operatorname{softmax}_p(u^\\top q_{\\cdot p}), \\qquad
        \\operatorname{logit} = v^\\top \\sum_p w_p\\, q_{\\cdot p} + b,

    which is the structure of :class:`FourJetNetwork`'s own head. The score :math:`u`
    has no bias because the softmax ignores a shift common to all pairings. For
    ``kind="pooled"`` the input is the pooled vector of length C and the head is an MLP
    with one hidden SiLU layer.

    Trained on :math:`\\zeta + \\varepsilon` with Gaussian :math:`\\varepsilon` as a
    balanced 4b-versus-3b classifier, the logit estimates
    :math:`\\log\\tilde\\gamma(\\zeta)`.

    Args:
        width: Channel count C of the network that produced the representation.
        kind: Which representation the head reads, ``"quadjets"`` (input size 3C) or
            ``"pooled"`` (input size C).
        hidden_width: Hidden units of the MLP for ``kind="pooled"``. It is ignored for
            ``kind="quadjets"``.

    Raises:
        ValueError: If ``width`` or ``hidden_width`` is below 1 or ``kind`` is unknown.
    """

    def __init__(
        self,
        width: int = 6,
        kind: RepresentationKind = "quadjets",
        hidden_width: int = 16,
    ) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}.")
        _check_kind(kind)
        self.width = width
        self.kind: RepresentationKind = kind

        if kind == "quadjets":
            self.score = nn.Conv1d(width, 1, kernel_size=1, bias=False)
            self.output = nn.Linear(width, 1)
        else:
            if hidden_width < 1:
                raise ValueError(f"hidden_width must be >= 1, got {hidden_width}.")
            self.mlp = nn.Sequential(
                nn.Linear(width, hidden_width),
                nn.SiLU(),
                nn.Linear(hidden_width, 1),
            )

    @property
    def input_size(self) -> int:
        """Length D of the flattened representation that the head reads."""
        return self.width * N_PAIRINGS if self.kind == "quadjets" else self.width

    def pool(self, quadjets: Tensor) -> Tensor:
        """Average the pairings with learned softmax weights.

        Args:
            quadjets: Shape (N, C, 3).

        Returns:
            The pooled vectors, shape (N, C).

        Raises:
            ValueError: If the head was built with ``kind="pooled"``.
        """
        if self.kind != "quadjets":
            raise ValueError("pool needs a head built with kind='quadjets'.")
        return self._pool_channels_last(quadjets.transpose(1, 2))

    def _pool_channels_last(self, quadjets: Tensor) -> Tensor:
        """Pool quadjets of shape (N, 3, C) into vectors of shape (N, C)."""
        scores = _pointwise(self.score, quadjets)  # (N, 3, 1)
        weights = torch.softmax(scores, dim=1)
        return (quadjets * weights).sum(dim=1)

    def forward(self, representation: Tensor) -> Tensor:
        """Compute one logit per event.

        Args:
            representation: Shape (N, D) with D equal to :attr:`input_size`.

        Returns:
            Logits, shape (N,).

        Raises:
            ValueError: If ``representation`` does not have shape (N, D).
        """
        if representation.ndim != 2 or representation.shape[1] != self.input_size:
            raise ValueError(
                f"representation must have shape (N, {self.input_size}) for a "
                f"{self.kind!r} head of width {self.width}, "
                f"got {tuple(representation.shape)}."
            )
        if self.kind == "quadjets":
            quadjets = representation.unflatten(1, (self.width, N_PAIRINGS))  # (N,C,3)
            return self.output(self.pool(quadjets)).squeeze(-1)
        return self.mlp(representation).squeeze(-1)

    def _logits_channels_last(self, quadjets: Tensor) -> Tensor:
        """Compute logits, shape (N,), from quadjets of shape (N, 3, C)."""
        return self.output(self._pool_channels_last(quadjets)).squeeze(-1)


def _check_kind(kind: str) -> None:
    if kind not in ("quadjets", "pooled"):
        raise ValueError(f"kind must be 'quadjets' or 'pooled', got {kind!r}.")


class FourJetNetwork(nn.Module):
    """Classifier of four-jet events, invariant to the symmetries of the jet system.

    The forward pass

    1. canonicalises the jets with :func:`canonicalise_jets`;
    2. computes engineered inputs: per jet :math:`\\log(1 + p_T)`, :math:`\\eta`,
       :math:`\\log(1 + m)` and :math:`\\phi`; per dijet :math:`\\log(1 + m_{jj})` and
       :math:`\\Delta R_{jj}`; per pairing the :math:`\\Delta R` between its two dijets
       and :math:`\\log(1 + m_{4j})`, with masses in GeV. Each group is batch-normalised
       except :math:`\\phi`, which the canonicalisation already bounds;
    3. embeds jets, dijets and pairings with 1x1 convolutions to ``width`` channels;
    4. updates the dijets from their jets and the quadjets from their dijets with
       residual kernel-3, stride-3 convolutions, then applies ``n_event_layers``
       residual 1x1 convolutions to the quadjets;
    5. pools the three quadjets with softmax weights and returns a single logit.

    Trained as a balanced 4b-versus-3b classifier, the logit estimates
    :math:`\\log\\gamma(x) = \\log(p_{4b}(x) / p_{3b}(x))`.

    Steps 2 to 5 are invariant to any permutation of the four jets. Jets and dijets
    enter each pair only through a mean and an absolute difference, all pairings share
    weights, and the pooling is a weighted sum over pairings. Step 1 makes the logit
    invariant to rotations and reflections as well.

    Args:
        width: Channels of every embedding.
        n_block_layers: Residual convolutions in each of the dijet and quadjet blocks.
        n_event_layers: Residual 1x1 convolutions on the quadjets.

    Raises:
        ValueError: If an argument is out of range (see :class:`NetworkConfig`).
    """

    layout: Tensor

    def __init__(
        self, width: int = 6, n_block_layers: int = 2, n_event_layers: int = 3
    ) -> None:
        super().__init__()
        self.config = NetworkConfig(
            width=width, n_block_layers=n_block_layers, n_event_layers=n_event_layers
        )
        # A buffer follows .to(device). Being non-persistent, it stays out of the
        # state dict.
        self.register_buffer(
            "layout", torch.tensor(PAIRING_LAYOUT, dtype=torch.long), persistent=False
        )

        # Batch norm for (log pt, eta, log m). Phi is passed through unnormalised.
        self.jet_norm = nn.BatchNorm1d(3)
        self.dijet_norm = nn.BatchNorm1d(2)
        self.pairing_norm = nn.BatchNorm1d(2)

        self.jet_embed = nn.Conv1d(4, width, kernel_size=1)
        self.dijet_embed = nn.Conv1d(2, width, kernel_size=1)
        self.pairing_embed = nn.Conv1d(2, width, kernel_size=1)

        self.dijet_block = _PairBlock(width, n_block_layers)
        self.quadjet_block = _PairBlock(width, n_block_layers)
        self.event_layers = nn.ModuleList(
            nn.Conv1d(width, width, kernel_size=1) for _ in range(n_event_layers)
        )
        self.head = RepresentationHead(width, kind="quadjets")

    @classmethod
    def from_config(cls, config: NetworkConfig) -> FourJetNetwork:
        """Build a network from a :class:`NetworkConfig`."""
        return cls(**dataclasses.asdict(config))

    def engineered_inputs(self, jets: Tensor) -> Tensor:
        """Compute the unnormalised engineered inputs of each event, flattened.

        These depend on the jets alone, not on any parameter, so a training loop
        can compute them once per event with this method and pass batches of them
        to :meth:`forward_engineered` in place of calling the network on jets
        every epoch. Batch norm, which has parameters, is applied later.

        Args:
            jets: Raw jets, shape (N, 4, 4), fields (pt [GeV], eta, phi, m [GeV]).

        Returns:
            Shape (N, 66): per laid-out jet (12) log(1 + pt), eta, log(1 + m); per
            laid-out jet phi (12); per dijet (6) log(1 + m_jj) and Delta R_jj; per
            pairing (3) Delta R between its dijets and log(1 + m_4j).

        Raises:
            ValueError: If ``jets`` is not a floating tensor of shape (N, 4, 4).
        """
        return self._engineered(canonicalise_jets(jets))

    def _engineered(self, jets: Tensor) -> Tensor:
        """Compute :meth:`engineered_inputs` of jets in the given order."""
        laid_out = jets[:, self.layout, :]  # (N, 12, 4)
        pt, eta, phi, mass = laid_out.unbind(-1)  # each (N, 12)
        jet_scaled = torch.stack(
            [torch.log1p(pt.clamp_min(0.0)), eta, torch.log1p(mass.clamp_min(0.0))],
            dim=-1,
        )  # (N, 12, 3)

        members = laid_out.unflatten(1, (N_DIJETS, 2))  # (N, 6, 2, 4)
        first, second = members.unbind(2)  # each (N, 6, 4)
        dijet_momenta = _four_momenta(members).sum(dim=2)  # (N, 6, 4)
        dijet_mass = _invariant_mass(dijet_momenta)  # (N, 6)
        dijet_dr = _delta_r(first[..., 1:3], second[..., 1:3])  # (N, 6)
        dijet_scaled = torch.stack([torch.log1p(dijet_mass), dijet_dr], dim=-1)

        dijet_angles = _eta_phi(dijet_momenta)  # (N, 6, 2)
        pairing_dr = _delta_r(dijet_angles[:, 0::2], dijet_angles[:, 1::2])  # (N, 3)
        # m_4j does not depend on the pairing. Summing the jets once keeps it
        # bit-identical across pairings.
        m4j = _invariant_mass(_four_momenta(jets).sum(dim=1))  # (N,)
        m4j = m4j.unsqueeze(1).expand(-1, N_PAIRINGS)  # (N, 3)
        pairing_scaled = torch.stack([pairing_dr, torch.log1p(m4j)], dim=-1)

        return torch.cat(
            [
                jet_scaled.flatten(1),  # (N, 36)
                phi,  # (N, 12)
                dijet_scaled.flatten(1),  # (N, 12)
                pairing_scaled.flatten(1),  # (N, 6)
            ],
            dim=1,
        )

    def _features(self, engineered: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Normalise the engineered inputs and split them by object.

        Args:
            engineered: Output of :meth:`engineered_inputs`, shape (N, 66).

        Returns:
            Jet features (N, 12, 4), dijet features (N, 6, 2) and pairing features
            (N, 3, 2), channels last.
        """
        jet_scaled, phi, dijet_scaled, pairing_scaled = engineered.split(
            [12 * 3, 12, N_DIJETS * 2, N_PAIRINGS * 2], dim=1
        )
        jet_scaled = jet_scaled.unflatten(1, (12, 3))  # (N, 12, 3)
        jet_features = torch.cat(
            [_batch_norm_channels_last(self.jet_norm, jet_scaled), phi.unsqueeze(-1)],
            dim=-1,
        )  # (N, 12, 4)
        dijet_scaled = dijet_scaled.unflatten(1, (N_DIJETS, 2))  # (N, 6, 2)
        pairing_scaled = pairing_scaled.unflatten(1, (N_PAIRINGS, 2))  # (N, 3, 2)
        return (
            jet_features,
            _batch_norm_channels_last(self.dijet_norm, dijet_scaled),
            _batch_norm_channels_last(self.pairing_norm, pairing_scaled),
        )

    def _quadjets_channels_last(self, engineered: Tensor) -> Tensor:
        """Compute the quadjets, shape (N, 3, width), from engineered inputs.

        Every layer works channels last, so each 1x1 and stride-3 convolution is a
        single matrix product over the last axis (see :func:`_triplet_kernel`).
        """
        jet_features, dijet_features, pairing_features = self._features(engineered)
        jet_embedding = _pointwise(self.jet_embed, jet_features)  # (N, 12, C)
        dijets = self.dijet_block(
            jet_embedding, _pointwise(self.dijet_embed, dijet_features)
        )  # (N, 6, C)
        quadjets = self.quadjet_block(
            dijets, _pointwise(self.pairing_embed, pairing_features)
        )  # (N, 3, C)
        for conv in self.event_layers:
            quadjets = quadjets + F.silu(_pointwise(conv, quadjets))
        return quadjets

    def _quadjets(self, jets: Tensor) -> Tensor:
        """Compute the quadjet tensor from jets in any order, without canonicalising.

        Args:
            jets: Jets, shape (N, 4, 4), fields (pt, eta, phi, m).

        Returns:
            Quadjets, shape (N, width, 3), one column per pairing 01|23, 02|13, 03|12
            of the jets in the given order.
        """
        quadjets = self._quadjets_channels_last(self._engineered(jets))  # (N, 3, C)
        return quadjets.transpose(1, 2)  # (N, C, 3)

    def representation(
        self, jets: Tensor, kind: RepresentationKind = "quadjets"
    ) -> Tensor:
        """Compute the event representation :math:`\\zeta(x)` fed to the head.

        Call ``eval()`` first, so that batch norm uses its running statistics, and
        wrap the call in ``torch.no_grad()`` unless gradients are needed.

        Args:
            jets: Raw jets, shape (N, 4, 4), fields (pt [GeV], eta, phi, m [GeV]).
            kind: ``"quadjets"`` for the per-pairing tensor flattened channel-major,
                element ``[n, c * 3 + p]`` being channel c of pairing p, shape
                (N, 3 * width). ``"pooled"`` for the softmax-pooled vector, shape
                (N, width).

        Returns:
            The representation, shape (N, D).

        Raises:
            ValueError: If ``jets`` has the wrong shape or ``kind`` is unknown.
        """
        _check_kind(kind)
        quadjets = self._quadjets(canonicalise_jets(jets))  # (N, C, 3)
        if kind == "pooled":
            return self.head.pool(quadjets)  # (N, C)
        return quadjets.flatten(1)  # (N, 3C)

    def forward(self, jets: Tensor) -> Tensor:
        """Compute the 4b-versus-3b logit of each event.

        Args:
            jets: Raw jets, shape (N, 4, 4), fields (pt [GeV], eta, phi, m [GeV]).

        Returns:
            Logits, shape (N,).

        Raises:
            ValueError: If ``jets`` is not a floating tensor of shape (N, 4, 4).
        """
        return self.forward_engineered(self.engineered_inputs(jets))

    def forward_engineered(self, engineered: Tensor) -> Tensor:
        """Compute the logits from :meth:`engineered_inputs`, shape (N, 66).

        ``model.forward_engineered(model.engineered_inputs(jets))`` equals
        ``model(jets)``. Training loops use the split to compute the engineered
        inputs, which have no parameters, once per event instead of once per epoch.

        Returns:
            Logits, shape (N,).

        Raises:
            ValueError: If ``engineered`` does not have shape (N, 66).
        """
        if engineered.ndim != 2 or engineered.shape[1] != N_ENGINEERED:
            raise ValueError(
                f"engineered must have shape (N, {N_ENGINEERED}) as returned by "
                f"engineered_inputs, got {tuple(engineered.shape)}."
            )
        quadjets = self._quadjets_channels_last(engineered)  # (N, 3, C)
        return self.head._logits_channels_last(quadjets)


def _check_extra(value: Any, where: str = "extra") -> None:
    """Raise ValueError unless value can be read back with torch.load(weights_only)."""
    if value is None or isinstance(value, bool | int | float | str | Tensor):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_extra(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} keys must be strings, got {key!r}.")
            _check_extra(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where} has type {type(value).__name__}, which a weights-only load cannot "
        "read. Use None, bool, int, float, str, torch.Tensor, or lists, tuples and "
        "str-keyed dicts of these."
    )


def _versions() -> dict[str, str]:
    import srlib

    return {
        "srlib": getattr(srlib, "__version__", "unknown"),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }


def save_network(
    model: FourJetNetwork,
    path: str | os.PathLike[str],
    config: NetworkConfig | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Save a network with its constructor config, weights, dtype and versions.

    The state dict includes the batch-norm running statistics, so
    :func:`load_network` restores identical eval-mode outputs. Tensors are moved to
    the CPU before saving.

    Args:
        model: The network to save.
        path: Destination file.
        config: The network's configuration. It defaults to ``model.config`` and
            must equal it when given.
        extra: Metadata stored beside the weights, such as the seed or the training
            settings. Values must be None, bool, int, float, str, tensors, or lists,
            tuples and str-keyed dicts of these, because the file is read back with
            ``torch.load(weights_only=True)``.

    Raises:
        ValueError: If ``config`` differs from ``model.config`` or ``extra`` contains
            an unsupported type.
    """
    if config is None:
        config = model.config
    elif config != model.config:
        raise ValueError(
            f"config {config} does not match the model's {model.config}. Pass "
            "config=None to store the model's own."
        )
    extra = {} if extra is None else extra
    _check_extra(extra)

    dtype = next(model.parameters()).dtype
    checkpoint = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "config": dataclasses.asdict(config),
        "dtype": str(dtype).removeprefix("torch."),
        "state_dict": {
            name: tensor.detach().cpu() for name, tensor in model.state_dict().items()
        },
        "versions": _versions(),
        "extra": extra,
    }
    torch.save(checkpoint, path)
    logger.debug("Saved FourJetNetwork %s to %s.", config, path)


def load_network(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> NetworkCheckpoint:
    """Load a network written by :func:`save_network`.

    Args:
        path: File written by :func:`save_network`.
        map_location: Device on which to place the weights.

    Returns:
        The network in eval mode with its saved dtype, plus config, extra metadata
        and the versions that wrote the file.

    Raises:
        ValueError: If the file is missing, is not a checkpoint that torch can
            read, or has an unknown checkpoint format version.
    """
    if not os.path.isfile(path):
        raise ValueError(f"network file {os.fspath(path)} was not found.")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as error:
        raise ValueError(
            f"network file {os.fspath(path)} could not be read "
            f"({type(error).__name__}), so check that save_network wrote it and "
            "that it is complete."
        ) from error
    if not isinstance(checkpoint, dict):
        raise ValueError(
            f"network file {os.fspath(path)} contains a "
            f"{type(checkpoint).__name__}, but save_network writes a dict."
        )
    format_version = checkpoint.get("format_version")
    if format_version != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)} has checkpoint format version {format_version!r}, "
            f"expected {CHECKPOINT_FORMAT_VERSION}. Re-save it with this srlib version."
        )

    config = NetworkConfig(**checkpoint["config"])
    model = FourJetNetwork.from_config(config)
    model.to(device=map_location, dtype=getattr(torch, checkpoint["dtype"]))
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()

    versions = checkpoint["versions"]
    if versions.get("torch") != torch.__version__:
        logger.info(
            "%s was saved with torch %s and is loaded with torch %s.",
            os.fspath(path),
            versions.get("torch"),
            torch.__version__,
        )
    return NetworkCheckpoint(model, config, checkpoint["extra"], versions)
