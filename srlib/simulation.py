r"""Fast simulation of HH -> 4b signal and of 3b and 4b multijet background.

All three samples share one topology. A system X of mass M, transverse momentum
pT_X and rapidity y decays to two parents A and B, and each parent decays to two
jets:

.. math::

    X \to A B, \qquad A \to j_1 j_2, \qquad B \to j_3 j_4 .

The samples differ in how M, the parent masses and the production angle are
drawn (`SignalModel`, `BackgroundModel`, `ThreeTagModel`). A shared
`DetectorModel` then smears the jets, gives them a mass and applies the
four-jet selection. Events that fail the selection are replaced, so a request for
n events returns n selected events.

Only about 5 % of the background events pass the selection, so the sampler
computes an event in stages and drops it as soon as a bound shows that one of
its jets must fail (`_generate_selected`). The bounds are exact, so the selected
events have the distribution of the plain generate-and-select algorithm, which
stays as `_generate_selected_reference` for the tests.

The 4b sample of the study is the mixture of equation (1) of Yi, Alison and
Kuusela, "Toward Model-Agnostic Detection of New Physics Using Data-Driven
Signal Regions":

.. math::

    P_{4b} = (1 - \epsilon) B_{4b} + \epsilon S ,

with the 3b sample assumed free of signal. `simulate_samples` draws both.

The model stands in for CMS simulation, which is not public. Its defaults aim
at public MadGraph simulation of the 4b final state (Manole et al., Ann. Appl.
Stat. 18 (2024) 2950) and are not a tune to collision data.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from srlib.events import Events, concatenate_events

logger = logging.getLogger(__name__)

__all__ = [
    "DetectorModel",
    "SignalModel",
    "BackgroundModel",
    "ThreeTagModel",
    "simulate_signal",
    "simulate_background_4b",
    "simulate_background_3b",
    "simulate_samples",
]

#: Higgs boson mass in GeV.
HIGGS_MASS = 125.0

#: Largest number of events generated in one vectorized batch. Arrays of 2^14
#: float64 (128 KiB) stay in a typical L2 cache. On the 2-CPU Xeon of
#: benchmarks/README.md, batches of 2^14 ran about 30 % faster than batches
#: of 2^19.
MAX_BATCH = 1 << 14

Seed = int | np.random.SeedSequence | np.random.Generator | None
FloatArray = npt.NDArray[np.float64]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclasses.dataclass(frozen=True)
class DetectorModel:
    r"""Jet response, resolution, mass and selection shared by all samples.

    A parton of transverse momentum p (GeV) becomes a jet of

    .. math::

        p_T = c \, r \, (1 - f_\nu) \, (1 + \sigma(r p) z) \, p, \qquad
        \frac{\sigma(p)}{p} = \sqrt{(N / p)^2 + S^2 / p + C^2},

    with z ~ N(0, 1), response r (b or light), calibration c, and a neutrino loss
    f_nu ~ Beta(alpha, beta) for a share of b-jets (f_nu = 0 otherwise). The
    resolution is about 19 % at 30 GeV and 11 % at 100 GeV with the defaults. eta
    and phi get Gaussian smearing. The jet mass is
    ``m = mass_fraction * pT * exp(mass_spread * z')`` with z' ~ N(0, 1), times
    ``light_mass_scale`` for light jets. An event is selected when all four jets
    have pT > pt_min and |eta| < eta_max, and its jets are then sorted by pT.

    Attributes:
        resolution_noise: Noise term N in GeV. Default 3.0.
        resolution_stochastic: Stochastic term S in sqrt(GeV). Default 0.9.
        resolution_constant: Constant term C. Default 0.05.
        b_response: Mean measured over true pT of a b-jet before the neutrino
            loss. Default 0.93.
        light_response: The same for a light-flavour jet. Default 1.0.
        calibration: Factor c applied to every jet, as a b-jet energy regression
            would. ``None`` (default) means ``1 / b_response``, which puts the
            peak of b-jet pairs from a 125 GeV parent at 125 GeV.
        neutrino_probability: Share of b-jets that lose energy to a neutrino
            from a semileptonic b decay. Default 0.2.
        neutrino_loss_alpha: alpha of the Beta law of the lost fraction.
            Default 2.0.
        neutrino_loss_beta: beta of that law. Default 10.0, so the mean lost
            fraction is 1/6.
        eta_smearing: Standard deviation of the eta smearing. Default 0.02.
        phi_smearing: Standard deviation of the phi smearing in rad.
            Default 0.02.
        mass_fraction: Median jet mass over jet pT of a b-jet. Default 0.14.
        mass_spread: Standard deviation of log(m / pT). Default 0.3.
        light_mass_scale: Factor on the mass of a light jet. Default 1.2.
        pt_min: Selection threshold on every jet's pT in GeV. Default 40.0.
        eta_max: Selection threshold on every jet's |eta|. Default 2.5.
    """

    resolution_noise: float = 3.0
    resolution_stochastic: float = 0.9
    resolution_constant: float = 0.05
    b_response: float = 0.93
    light_response: float = 1.0
    calibration: float | None = None
    neutrino_probability: float = 0.2
    neutrino_loss_alpha: float = 2.0
    neutrino_loss_beta: float = 10.0
    eta_smearing: float = 0.02
    phi_smearing: float = 0.02
    mass_fraction: float = 0.14
    mass_spread: float = 0.3
    light_mass_scale: float = 1.2
    pt_min: float = 40.0
    eta_max: float = 2.5

    def __post_init__(self) -> None:
        for name in ("b_response", "light_response", "mass_fraction"):
            value = getattr(self, name)
            _require(value > 0, f"{name} is {value}, but it must be positive.")
        _require(
            self.calibration is None or self.calibration > 0,
            f"calibration is {self.calibration}, but it must be positive or None.",
        )
        _require(
            0.0 <= self.neutrino_probability <= 1.0,
            f"neutrino_probability is {self.neutrino_probability}, but it must "
            "lie in [0, 1].",
        )
        for name in (
            "resolution_noise",
            "resolution_stochastic",
            "resolution_constant",
            "eta_smearing",
            "phi_smearing",
            "mass_spread",
            "pt_min",
        ):
            value = getattr(self, name)
            _require(value >= 0, f"{name} is {value}, but it must be >= 0.")
        for name in ("neutrino_loss_alpha", "neutrino_loss_beta", "eta_max"):
            value = getattr(self, name)
            _require(value > 0, f"{name} is {value}, but it must be positive.")
        _require(
            self.light_mass_scale > 0,
            f"light_mass_scale is {self.light_mass_scale}, but it must be positive.",
        )

    @property
    def jet_calibration(self) -> float:
        """The calibration factor c that is applied to every jet."""
        if self.calibration is None:
            return 1.0 / self.b_response
        return self.calibration

    def relative_resolution(self, pt: npt.ArrayLike) -> FloatArray:
        """Compute sigma(pT) / pT for pT in GeV."""
        pt = np.asarray(pt, dtype=np.float64)
        return np.sqrt(
            (self.resolution_noise / pt) ** 2
            + self.resolution_stochastic**2 / pt
            + self.resolution_constant**2
        )


@dataclasses.dataclass(frozen=True)
class SignalModel:
    r"""Production of X -> A B -> 4 jets for HH -> 4b signal.

    By default M is a continuum shaped like the SM HH mass spectrum,

    .. math::

        M = M_0 + \Gamma(k, \theta), \qquad
        p_{T,X} \sim \Gamma(k_T, \theta_T), \qquad y \sim N(0, \sigma_y^2),

    and both parents are Higgs bosons of 125 GeV. Production and both decays are
    isotropic in their rest frames. Setting ``resonance_mass`` gives a narrow
    resonance X of fixed mass instead. Setting ``parent_masses`` to
    ``(125.0, 91.1876)`` gives a ZH-like signal.

    Attributes:
        mass_offset: M_0 in GeV. Default 250.0.
        mass_shape: Gamma shape k of M - M_0. Default 2.2.
        mass_scale: Gamma scale theta of M - M_0 in GeV. Default 85.0.
        resonance_mass: Fixed M in GeV, or ``None`` (default) for the continuum.
        parent_masses: Masses of A and B in GeV. Default (125.0, 125.0).
        rapidity_sigma: sigma_y of the rapidity of X. Default 0.9.
        system_pt_shape: Gamma shape k_T of pT_X. Default 1.5.
        system_pt_scale: Gamma scale theta_T of pT_X in GeV. Default 20.0.
    """

    mass_offset: float = 250.0
    mass_shape: float = 2.2
    mass_scale: float = 85.0
    resonance_mass: float | None = None
    parent_masses: tuple[float, float] = (HIGGS_MASS, HIGGS_MASS)
    rapidity_sigma: float = 0.9
    system_pt_shape: float = 1.5
    system_pt_scale: float = 20.0

    def __post_init__(self) -> None:
        _require(
            len(self.parent_masses) == 2 and min(self.parent_masses) > 0,
            f"parent_masses is {self.parent_masses}, but it must be two positive "
            "masses in GeV.",
        )
        threshold = sum(self.parent_masses)
        lowest = (
            self.mass_offset if self.resonance_mass is None else self.resonance_mass
        )
        _require(
            lowest >= threshold,
            f"the lowest X mass is {lowest} GeV, but it must be at least the sum of "
            f"parent_masses, {threshold} GeV.",
        )
        for name in (
            "mass_shape",
            "mass_scale",
            "rapidity_sigma",
            "system_pt_shape",
            "system_pt_scale",
        ):
            value = getattr(self, name)
            _require(value > 0, f"{name} is {value}, but it must be positive.")


@dataclasses.dataclass(frozen=True)
class BackgroundModel:
    r"""Production of X -> A B -> 4 jets for 4b multijet background.

    The four-jet mass falls as a power law above a threshold, and the parent
    masses form a broad continuum set by a Dirichlet share of M:

    .. math::

        p(M) \propto M^{-n} \ (M > M_{min}), \qquad
        (m_A, m_B, M - m_A - m_B) = M (s_A, s_B, s_0), \quad
        s \sim \mathrm{Dir}(\alpha_A, \alpha_B, \alpha_0),

    redrawn until both parent masses exceed ``parent_mass_min``. The production
    angle in the X rest frame is forward peaked,

    .. math::

        p(\cos\theta^*) \propto \frac{1}{1 - a \cos^2\theta^*},

    as t-channel gluon exchange makes it, and the parent decays are isotropic.
    pT_X and y are drawn as in `SignalModel`.

    Attributes:
        mass_min: M_min in GeV. Default 190.0.
        mass_exponent: n of the power law. Default 4.4.
        parent_share_alpha: Dirichlet parameters (alpha_A, alpha_B, alpha_0).
            Default (2.0, 2.0, 2.0).
        parent_mass_min: Lower bound of both parent masses in GeV.
            Default 15.0.
        production_anisotropy: a of the production angle law, in [0, 1).
            Default 0.8.
        rapidity_sigma: sigma_y of the rapidity of X. Default 1.1.
        system_pt_shape: Gamma shape of pT_X. Default 1.5.
        system_pt_scale: Gamma scale of pT_X in GeV. Default 30.0, harder than
            the signal's, for the extra QCD radiation of multijet production.
    """

    mass_min: float = 190.0
    mass_exponent: float = 4.4
    parent_share_alpha: tuple[float, float, float] = (2.0, 2.0, 2.0)
    parent_mass_min: float = 15.0
    production_anisotropy: float = 0.8
    rapidity_sigma: float = 1.1
    system_pt_shape: float = 1.5
    system_pt_scale: float = 30.0

    def __post_init__(self) -> None:
        _require(
            self.mass_exponent > 1,
            f"mass_exponent is {self.mass_exponent}, but it must exceed 1 for the "
            "power law to be normalisable.",
        )
        _require(
            len(self.parent_share_alpha) == 3 and min(self.parent_share_alpha) > 0,
            f"parent_share_alpha is {self.parent_share_alpha}, but it must be "
            "three positive Dirichlet parameters.",
        )
        _require(
            0 <= self.parent_mass_min < self.mass_min / 2,
            f"parent_mass_min is {self.parent_mass_min} GeV, but it must lie in "
            f"[0, mass_min / 2) = [0, {self.mass_min / 2}).",
        )
        _require(
            0 <= self.production_anisotropy < 1,
            f"production_anisotropy is {self.production_anisotropy}, but it must "
            "lie in [0, 1).",
        )
        for name in (
            "mass_min",
            "rapidity_sigma",
            "system_pt_shape",
            "system_pt_scale",
        ):
            value = getattr(self, name)
            _require(value > 0, f"{name} is {value}, but it must be positive.")


@dataclasses.dataclass(frozen=True)
class ThreeTagModel:
    """Smooth differences of the 3b background from the 4b background.

    The 3b sample uses `BackgroundModel` with a softer M spectrum
    (``mass_exponent + mass_exponent_shift``), a wider rapidity
    (``rapidity_sigma + rapidity_sigma_shift``), and ``n_light_jets`` jets chosen
    at random that get the light-jet response and mass of `DetectorModel` and
    no neutrino loss. Setting all three to zero makes the 3b and 4b backgrounds
    identical in distribution.

    Attributes:
        mass_exponent_shift: Added to the power-law exponent. Default 0.2.
        rapidity_sigma_shift: Added to sigma_y. Default 0.1.
        n_light_jets: Number of light jets per event, 0 to 4. Default 1.
    """

    mass_exponent_shift: float = 0.2
    rapidity_sigma_shift: float = 0.1
    n_light_jets: int = 1

    def __post_init__(self) -> None:
        _require(
            self.n_light_jets in range(5),
            f"n_light_jets is {self.n_light_jets}, but it must be an integer "
            "from 0 to 4.",
        )

    def apply(self, background: BackgroundModel) -> BackgroundModel:
        """Return the background model with the 3b shifts applied."""
        return dataclasses.replace(
            background,
            mass_exponent=background.mass_exponent + self.mass_exponent_shift,
            rapidity_sigma=background.rapidity_sigma + self.rapidity_sigma_shift,
        )


# A sampler of (M, m_A, m_B) in GeV, each of shape (n,).
MassSampler = Callable[
    [int, np.random.Generator], tuple[FloatArray, FloatArray, FloatArray]
]


@dataclasses.dataclass(frozen=True)
class _Process:
    sample_masses: MassSampler
    production_anisotropy: float
    rapidity_sigma: float
    system_pt_shape: float
    system_pt_scale: float
    n_light_jets: int


def _signal_process(model: SignalModel) -> _Process:
    def sample_masses(
        n: int, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        if model.resonance_mass is None:
            mass = model.mass_offset + rng.gamma(model.mass_shape, model.mass_scale, n)
        else:
            mass = np.full(n, float(model.resonance_mass))
        mass_a = np.full(n, float(model.parent_masses[0]))
        mass_b = np.full(n, float(model.parent_masses[1]))
        return mass, mass_a, mass_b

    return _Process(
        sample_masses=sample_masses,
        production_anisotropy=0.0,
        rapidity_sigma=model.rapidity_sigma,
        system_pt_shape=model.system_pt_shape,
        system_pt_scale=model.system_pt_scale,
        n_light_jets=0,
    )


def _background_process(model: BackgroundModel, n_light_jets: int) -> _Process:
    def sample_masses(
        n: int, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        # Inverse CDF of p(M) ~ M^-n above M_min, with 1 - U in (0, 1].
        uniform = 1.0 - rng.random(n)
        mass = model.mass_min * uniform ** (-1.0 / (model.mass_exponent - 1.0))

        # Redraw the shares of the events with a parent below parent_mass_min.
        # Only those events are tested again.
        shares = rng.dirichlet(model.parent_share_alpha, n)  # (n, 3)
        smaller = np.minimum(shares[:, 0], shares[:, 1])
        low = np.flatnonzero(smaller * mass < model.parent_mass_min)
        while low.size > 0:
            shares[low] = rng.dirichlet(model.parent_share_alpha, low.size)
            smaller = np.minimum(shares[low, 0], shares[low, 1])
            low = low[smaller * mass[low] < model.parent_mass_min]
        return mass, shares[:, 0] * mass, shares[:, 1] * mass

    return _Process(
        sample_masses=sample_masses,
        production_anisotropy=model.production_anisotropy,
        rapidity_sigma=model.rapidity_sigma,
        system_pt_shape=model.system_pt_shape,
        system_pt_scale=model.system_pt_scale,
        n_light_jets=n_light_jets,
    )


def _sample_cos_theta(
    n: int, anisotropy: float, rng: np.random.Generator
) -> FloatArray:
    """Draw cos(theta) from p(c) ~ 1 / (1 - a c^2) on [-1, 1] by inverse CDF."""
    uniform = rng.uniform(-1.0, 1.0, n)
    if anisotropy == 0:
        return uniform
    root = math.sqrt(anisotropy)
    # The CDF is proportional to atanh(sqrt(a) c), which inverts to
    # c = tanh(u atanh(sqrt(a))) / sqrt(a) with u uniform on [-1, 1].
    return np.tanh(uniform * math.atanh(root)) / root


class _FourVector(NamedTuple):
    """Four-momenta as separate component arrays in GeV, each of shape (n,)."""

    e: FloatArray
    px: FloatArray
    py: FloatArray
    pz: FloatArray


def _two_body_decay(
    parent: _FourVector,
    parent_mass: FloatArray,
    mass_1: FloatArray,
    mass_2: FloatArray,
    cos_theta: FloatArray,
    azimuth: FloatArray,
) -> tuple[_FourVector, _FourVector]:
    """Decay parents into two daughters and boost them to the lab frame.

    Args:
        parent: Parent four-momenta.
        parent_mass: Parent masses, shape (n,).
        mass_1: First daughter masses, shape (n,).
        mass_2: Second daughter masses, shape (n,).
        cos_theta: Cosine of the first daughter's polar angle in the parent rest
            frame, measured from the beam axis, shape (n,).
        azimuth: Azimuth of the first daughter in the parent rest frame,
            shape (n,).

    Returns:
        The two daughters' lab four-momenta.
    """
    # Momentum in the rest frame from the Kallen function.
    kallen = (parent_mass**2 - (mass_1 + mass_2) ** 2) * (
        parent_mass**2 - (mass_1 - mass_2) ** 2
    )
    momentum = np.sqrt(np.clip(kallen, 0.0, None)) / (2.0 * parent_mass)
    transverse = momentum * np.sqrt(1.0 - cos_theta**2)
    px = transverse * np.cos(azimuth)
    py = transverse * np.sin(azimuth)
    pz = momentum * cos_theta
    energy_1 = np.sqrt(momentum**2 + mass_1**2)
    energy_2 = np.sqrt(momentum**2 + mass_2**2)

    gamma = parent.e / parent_mass
    boost_x = parent.px / parent_mass  # gamma * beta_x
    boost_y = parent.py / parent_mass
    boost_z = parent.pz / parent_mass
    projection = boost_x * px + boost_y * py + boost_z * pz  # gamma beta . p
    daughter_1 = _boost(
        energy_1, px, py, pz, projection, gamma, boost_x, boost_y, boost_z
    )
    daughter_2 = _boost(
        energy_2, -px, -py, -pz, -projection, gamma, boost_x, boost_y, boost_z
    )
    return daughter_1, daughter_2


def _boost(
    energy: FloatArray,
    px: FloatArray,
    py: FloatArray,
    pz: FloatArray,
    projection: FloatArray,
    gamma: FloatArray,
    boost_x: FloatArray,
    boost_y: FloatArray,
    boost_z: FloatArray,
) -> _FourVector:
    """Boost a rest-frame four-momentum to the lab frame.

    With gamma = E_P / m_P and u = gamma beta = p_P / m_P, the lab momentum is
    ``p + (E + (u . p) / (gamma + 1)) u`` and the lab energy ``gamma E + u . p``.
    This form avoids dividing by beta^2 for a parent at rest.
    """
    factor = energy + projection / (gamma + 1.0)
    return _FourVector(
        e=gamma * energy + projection,
        px=px + factor * boost_x,
        py=py + factor * boost_y,
        pz=pz + factor * boost_z,
    )


def _sample_system(
    mass: FloatArray, process: _Process, rng: np.random.Generator
) -> _FourVector:
    """Draw pT, azimuth and rapidity of systems X of the given masses."""
    n = mass.shape[0]
    system_pt = rng.gamma(process.system_pt_shape, process.system_pt_scale, n)
    system_phi = rng.uniform(-np.pi, np.pi, n)
    rapidity = rng.normal(0.0, process.rapidity_sigma, n)

    # Transverse mass m_T = sqrt(M^2 + pT^2), E = m_T cosh y, pz = m_T sinh y.
    transverse_mass = np.sqrt(mass**2 + system_pt**2)
    return _FourVector(
        e=transverse_mass * np.cosh(rapidity),
        px=system_pt * np.cos(system_phi),
        py=system_pt * np.sin(system_phi),
        pz=transverse_mass * np.sinh(rapidity),
    )


@dataclasses.dataclass(frozen=True)
class _TrueJets:
    """Particle-level jets of a batch."""

    pt: FloatArray  # (n, 4) in GeV
    eta: FloatArray  # (n, 4)
    phi: FloatArray  # (n, 4)
    mass: FloatArray  # (n, 4) in GeV
    is_light: npt.NDArray[np.bool_]  # (n, 4)


def _generate_true_jets(
    n: int, process: _Process, detector: DetectorModel, rng: np.random.Generator
) -> _TrueJets:
    """Generate X -> A B -> 4 jets with massive jets at particle level."""
    mass, mass_a, mass_b = process.sample_masses(n, rng)
    system = _sample_system(mass, process, rng)

    cos_production = _sample_cos_theta(n, process.production_anisotropy, rng)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    parent_a, parent_b = _two_body_decay(
        system, mass, mass_a, mass_b, cos_production, azimuth
    )

    # Light jets: the first n_light_jets of a random permutation of the four.
    is_light = np.zeros((n, 4), dtype=bool)
    if process.n_light_jets > 0:
        rank = np.argsort(rng.random((n, 4)), axis=1)
        is_light = rank < process.n_light_jets
    mass_ratio = detector.mass_fraction * np.exp(
        detector.mass_spread * rng.standard_normal((n, 4))
    )
    mass_ratio *= np.where(is_light, detector.light_mass_scale, 1.0)

    zeros = np.zeros(n)
    jets: list[_FourVector] = []
    jet_masses: list[FloatArray] = []
    for index, (parent, parent_mass) in enumerate(
        ((parent_a, mass_a), (parent_b, mass_b))
    ):
        cos_decay = rng.uniform(-1.0, 1.0, n)
        azimuth = rng.uniform(-np.pi, np.pi, n)

        # Jet masses follow m = ratio * pT. pT is taken from a massless decay
        # with the same angles, and the decay is then redone with massive jets,
        # so each jet pair keeps the parent's invariant mass.
        massless = _two_body_decay(
            parent, parent_mass, zeros, zeros, cos_decay, azimuth
        )
        mass_1, mass_2 = (
            mass_ratio[:, 2 * index + k] * np.hypot(massless[k].px, massless[k].py)
            for k in range(2)
        )
        # Keep the decay open: shrink both masses so that m_1 + m_2 <= 0.9 m_A.
        # This only touches strongly boosted light parents.
        shrink = np.minimum(1.0, 0.9 * parent_mass / (mass_1 + mass_2))
        mass_1, mass_2 = mass_1 * shrink, mass_2 * shrink

        jets.extend(
            _two_body_decay(parent, parent_mass, mass_1, mass_2, cos_decay, azimuth)
        )
        jet_masses.extend((mass_1, mass_2))

    px = np.stack([jet.px for jet in jets], axis=1)  # (n, 4)
    py = np.stack([jet.py for jet in jets], axis=1)
    pz = np.stack([jet.pz for jet in jets], axis=1)
    pt = np.hypot(px, py)
    return _TrueJets(
        pt=pt,
        eta=np.arcsinh(pz / pt),
        phi=np.arctan2(py, px),
        mass=np.stack(jet_masses, axis=1),
        is_light=is_light,
    )


def _detector_response(
    true_jets: _TrueJets, detector: DetectorModel, rng: np.random.Generator
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Turn particle-level jets into measured jets and apply the selection.

    The response scales the whole four-momentum, so pT and mass change by the
    same factor.

    Returns:
        Jets (pt, eta, phi, m) of shape (n, 4, 4), unsorted, and the selection
        mask of shape (n,).
    """
    is_light = true_jets.is_light
    n = is_light.shape[0]
    true_pt = true_jets.pt

    response = np.where(is_light, detector.light_response, detector.b_response)
    has_neutrino = (~is_light) & (rng.random((n, 4)) < detector.neutrino_probability)
    lost = rng.beta(detector.neutrino_loss_alpha, detector.neutrino_loss_beta, (n, 4))
    response = response * np.where(has_neutrino, 1.0 - lost, 1.0)

    raw_pt = true_pt * response
    smear = 1.0 + detector.relative_resolution(raw_pt) * rng.standard_normal((n, 4))
    # Clip the rare negative Gaussian tails at low pT, far below any threshold.
    scale = response * np.clip(smear, 1e-3, None) * detector.jet_calibration
    pt = true_pt * scale
    mass = true_jets.mass * scale

    eta = true_jets.eta + detector.eta_smearing * rng.standard_normal((n, 4))
    phi = true_jets.phi + detector.phi_smearing * rng.standard_normal((n, 4))
    phi = np.mod(phi + np.pi, 2.0 * np.pi) - np.pi

    jets = np.stack([pt, eta, phi, mass], axis=2)  # (n, 4, 4)
    passed = ((pt > detector.pt_min) & (np.abs(eta) < detector.eta_max)).all(axis=1)
    return jets, passed


@dataclasses.dataclass(frozen=True)
class _SlotNoise:
    """Detector draws of the jet slots of a batch.

    Slots 0 and 1 are the jets of parent A, slots 2 and 3 those of parent B.
    All fields share one array, so that selecting events is a single copy.
    """

    values: FloatArray  # (4, n, slots): mass scale, response, z, minimum pT

    @property
    def mass_scale(self) -> FloatArray:
        """Factor on the jet mass: light_mass_scale for light jets, else 1."""
        return self.values[0]

    @property
    def response(self) -> FloatArray:
        """b or light response times (1 - neutrino loss)."""
        return self.values[1]

    @property
    def pt_noise(self) -> FloatArray:
        """Standard normal z of the pT smearing."""
        return self.values[2]

    @property
    def min_pt(self) -> FloatArray:
        """True pT in GeV below which the jet fails pt_min, `_min_true_pt`."""
        return self.values[3]

    def subset(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> _SlotNoise:
        if keep.dtype == np.bool_:
            keep = np.flatnonzero(keep)
        return _SlotNoise(self.values.take(keep, axis=1))

    def slots(self, columns: slice) -> _SlotNoise:
        return _SlotNoise(self.values[:, :, columns])


def _draw_slot_noise(
    n: int, n_light_jets: int, detector: DetectorModel, rng: np.random.Generator
) -> _SlotNoise:
    """Draw the flavour, response and pT noise of every jet slot of n events.

    These draws do not depend on the kinematics, so drawing them first leaves
    the joint distribution of an event as in `_generate_true_jets` and
    `_detector_response`.
    """
    is_light = np.zeros((n, 4), dtype=bool)
    if n_light_jets > 0:
        # The ranks of four i.i.d. uniforms are a uniformly random permutation,
        # so the slots of rank below n_light_jets are a uniformly random subset.
        uniform = rng.random((n, 4))
        rank = np.zeros((n, 4), dtype=np.int8)
        for column in range(4):
            rank += uniform[:, column : column + 1] < uniform
        is_light = rank < n_light_jets

    # Only the b-jets with a neutrino need a draw of the lost fraction.
    response = np.where(is_light, detector.light_response, detector.b_response)
    has_neutrino = (~is_light) & (rng.random((n, 4)) < detector.neutrino_probability)
    lost = rng.beta(
        detector.neutrino_loss_alpha,
        detector.neutrino_loss_beta,
        int(np.count_nonzero(has_neutrino)),
    )
    # Flat integer indices update much faster than a boolean mask.
    response.reshape(-1)[np.flatnonzero(has_neutrino)] *= 1.0 - lost

    values = np.empty((4, n, 4))
    values[0] = np.where(is_light, detector.light_mass_scale, 1.0)
    values[1] = response
    values[2] = rng.standard_normal((n, 4))
    values[3] = _min_true_pt(response, values[2], detector)
    return _SlotNoise(values)


def _measured_pt(
    true_pt: FloatArray,
    response: FloatArray,
    pt_noise: FloatArray,
    detector: DetectorModel,
) -> FloatArray:
    """Smear and calibrate true jet pT in GeV as `_detector_response` does."""
    raw_pt = true_pt * response
    smear = 1.0 + detector.relative_resolution(raw_pt) * pt_noise
    return raw_pt * np.clip(smear, 1e-3, None) * detector.jet_calibration


def _min_true_pt(
    response: FloatArray, pt_noise: FloatArray, detector: DetectorModel
) -> FloatArray:
    r"""Compute a lower bound of the true pT that a jet needs to pass pt_min.

    With raw pT x = r p, calibration c and L = pt_min / c, a jet passes when
    x max(1 + sigma(x) z, 1e-3) > L. For z <= 0 the left side is at most x, so
    the jet needs x > L. For z > 0 the left side is
    h(x) = x + z sqrt(N^2 + S^2 x + C^2 x^2), which grows with x, and
    h(x) = L at the root in [0, L] of

    .. math::

        (1 - z^2 C^2) x^2 - (2 L + z^2 S^2) x + L^2 - z^2 N^2 = 0,

    written as x = 2 c_0 / (b + sqrt(b^2 - 4 a c_0)), which holds for any sign of
    a and avoids cancellation. A negative root means that any x passes.

    Returns:
        The bound in GeV, with the shape of response.
    """
    if detector.pt_min == 0:
        return np.zeros_like(response)
    level = detector.pt_min / detector.jet_calibration
    noise_term = detector.resolution_noise**2
    stochastic_term = detector.resolution_stochastic**2
    constant_term = detector.resolution_constant**2

    # With w = max(z, 0)^2 the discriminant b^2 - 4 a c_0 is w (alpha + beta w).
    w = np.maximum(pt_noise, 0.0)
    w *= w
    alpha = 4.0 * (level * stochastic_term + noise_term + constant_term * level**2)
    beta = stochastic_term**2 - 4.0 * constant_term * noise_term
    discriminant = np.maximum(w * (alpha + beta * w), 0.0)
    root = (2.0 * level**2 - 2.0 * noise_term * w) / (
        2.0 * level + stochastic_term * w + np.sqrt(discriminant)
    )
    # A relative margin covers rounding in the exact selection.
    np.maximum(root, 0.0, out=root)
    root *= 1.0 - 1e-9
    return root / response


def _pair_can_pass(
    parent: _FourVector, parent_mass: FloatArray, min_pt: FloatArray
) -> npt.NDArray[np.bool_]:
    """Test whether both jets of a parent can exceed their minimum true pT.

    A boost along the beam keeps every pT, and in the frame where the parent
    has no longitudinal momentum the jet energies add up to its transverse mass
    m_T. As pT <= |p| <= E for each jet, pT_1 + pT_2 <= m_T at any decay
    angle, whatever the jet masses are.

    Args:
        parent: Parent four-momenta, each component of shape (n,).
        parent_mass: Parent masses, shape (n,).
        min_pt: Minimum true pT of the two jets from `_min_true_pt`, shape (n, 2).

    Returns:
        False for events whose two jets cannot both pass, shape (n,).
    """
    transverse_mass = np.sqrt(parent_mass**2 + parent.px**2 + parent.py**2)
    return min_pt[:, 0] + min_pt[:, 1] < transverse_mass * (1.0 + 1e-9)


class _PairJets(NamedTuple):
    """Measured jets of one parent for the events that pass, each of shape (k, 2).

    phi is kept as (px, py) and only computed for the events that pass every
    stage.
    """

    pt: FloatArray  # GeV
    eta: FloatArray
    px: FloatArray  # true px in GeV
    py: FloatArray  # true py in GeV
    mass: FloatArray  # GeV

    def subset(self, keep: npt.NDArray[np.intp]) -> _PairJets:
        return _PairJets(*(field[keep] for field in self))


def _select_pair(
    parent: _FourVector,
    parent_mass: FloatArray,
    noise: _SlotNoise,
    detector: DetectorModel,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.intp], _PairJets]:
    """Decay parents into two jets, measure them and keep the pairs that pass.

    The decay is that of `_generate_true_jets` for one parent: isotropic decay
    angles, jet masses from the pT of a massless decay at the same angles, then
    the massive decay. A jet of massless-decay pT p_0 and mass m_j has a
    massive-decay pT of at most p_0 + m_j p_T / m (p_T and m of the parent,
    because E* - p* <= m_j in the rest frame). Events where this bound stays
    below a jet's minimum true pT skip the massive decay.

    Args:
        parent: Parent four-momenta, each component of shape (n,).
        parent_mass: Parent masses, shape (n,).
        noise: Detector draws of the parent's two jet slots, fields (n, 2).
        detector: Detector response and selection.
        rng: Random generator for the decay and the eta smearing.

    Returns:
        The indices of the events whose two jets pass, shape (k,), and their jets.
    """
    n = parent_mass.shape[0]
    cos_decay = rng.uniform(-1.0, 1.0, n)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    mass_ratio = detector.mass_fraction * np.exp(
        detector.mass_spread * rng.standard_normal((n, 2))
    )
    mass_ratio *= noise.mass_scale

    # Rest-frame direction of the first jet, and u = p / m and gamma = E / m of
    # the parent as in `_two_body_decay`.
    sin_decay = np.sqrt(1.0 - cos_decay**2)
    nx, ny, nz = sin_decay * np.cos(azimuth), sin_decay * np.sin(azimuth), cos_decay
    ux, uy, uz = (
        parent.px / parent_mass,
        parent.py / parent_mass,
        parent.pz / parent_mass,
    )
    lift = (ux * nx + uy * ny + uz * nz) / (parent.e / parent_mass + 1.0)

    # Massless decay: p* = E* = m / 2 for both jets.
    half = 0.5 * parent_mass
    factor_1, factor_2 = half * (1.0 + lift), half * (1.0 - lift)
    massless_pt = np.stack(
        [
            np.hypot(half * nx + factor_1 * ux, half * ny + factor_1 * uy),
            np.hypot(factor_2 * ux - half * nx, factor_2 * uy - half * ny),
        ],
        axis=1,
    )  # (n, 2)
    masses = mass_ratio * massless_pt
    masses *= np.minimum(1.0, 0.9 * parent_mass / (masses[:, 0] + masses[:, 1]))[
        :, None
    ]

    # Skip the massive decay where a jet cannot reach its minimum true pT.
    bound = massless_pt + masses * np.hypot(ux, uy)[:, None]
    possible = bound * (1.0 + 1e-9) > noise.min_pt
    index = np.flatnonzero(possible[:, 0] & possible[:, 1])
    nx, ny, nz, ux, uy, uz, lift = (
        array[index] for array in (nx, ny, nz, ux, uy, uz, lift)
    )
    parent_mass, masses, noise = parent_mass[index], masses[index], noise.subset(index)

    # Massive decay: momentum from the Kallen function, energies E*_1, E*_2.
    mass_1, mass_2 = masses[:, 0], masses[:, 1]
    kallen = (parent_mass**2 - (mass_1 + mass_2) ** 2) * (
        parent_mass**2 - (mass_1 - mass_2) ** 2
    )
    momentum = np.sqrt(np.clip(kallen, 0.0, None)) / (2.0 * parent_mass)
    signs = np.array([1.0, -1.0])
    energy = np.sqrt(momentum[:, None] ** 2 + masses**2)  # (k, 2)
    factor = energy + signs * (momentum * lift)[:, None]
    px = signs * (momentum * nx)[:, None] + factor * ux[:, None]
    py = signs * (momentum * ny)[:, None] + factor * uy[:, None]
    pz = signs * (momentum * nz)[:, None] + factor * uz[:, None]
    true_pt = np.hypot(px, py)

    pt = _measured_pt(true_pt, noise.response, noise.pt_noise, detector)
    eta = np.arcsinh(pz / true_pt)
    eta += detector.eta_smearing * rng.standard_normal(eta.shape)
    passed = (pt > detector.pt_min) & (np.abs(eta) < detector.eta_max)
    kept = np.flatnonzero(passed[:, 0] & passed[:, 1])

    # The response scales the whole four-momentum, so the mass too.
    jets = _PairJets(pt, eta, px, py, masses * (pt / true_pt)).subset(kept)
    return index[kept], jets


def _subset_vector(vector: _FourVector, keep: npt.NDArray[np.bool_]) -> _FourVector:
    return _FourVector(*(component[keep] for component in vector))


def _generate_selected(
    n: int, process: _Process, detector: DetectorModel, rng: np.random.Generator
) -> FloatArray:
    """Generate n events and return the measured jets of those that pass.

    Every event gets independent draws from the same distributions as in the
    reference (`_generate_selected_reference`), in another order, and the same
    selection. So the selected events have the same distribution, though not
    the same values for a seed. The draws are made in stages, and an event is
    dropped as soon as one of its jets must fail, before the later stages run:

    1. system X, its decay to A and B, and the response and pT noise of the
       four jet slots. Events where the jets of A or of B cannot both reach
       pt_min at any decay angle (`_min_true_pt`, `_pair_can_pass`) are
       dropped.
    2. the decay of A and the selection of its two jets (`_select_pair`).
    3. the decay of B and the selection of its two jets.

    Returns:
        Jets (pt, eta, phi, m) of the selected events, shape (k, 4, 4), unsorted.
    """
    mass, mass_a, mass_b = process.sample_masses(n, rng)
    system = _sample_system(mass, process, rng)
    cos_production = _sample_cos_theta(n, process.production_anisotropy, rng)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    parent_a, parent_b = _two_body_decay(
        system, mass, mass_a, mass_b, cos_production, azimuth
    )
    noise = _draw_slot_noise(n, process.n_light_jets, detector, rng)

    # Stage 1: drop events where the jets of a parent cannot both pass pt_min.
    keep = _pair_can_pass(parent_a, mass_a, noise.min_pt[:, :2]) & _pair_can_pass(
        parent_b, mass_b, noise.min_pt[:, 2:]
    )
    parent_a, mass_a = _subset_vector(parent_a, keep), mass_a[keep]
    parent_b, mass_b = _subset_vector(parent_b, keep), mass_b[keep]
    noise = noise.subset(keep)

    # Stage 2: the jets of A. Only events where both pass go on to B.
    index, jets_a = _select_pair(
        parent_a, mass_a, noise.slots(slice(0, 2)), detector, rng
    )
    parent_b, mass_b = _subset_vector(parent_b, index), mass_b[index]

    # Stage 3: the jets of B.
    noise_b = noise.subset(index).slots(slice(2, 4))
    index, jets_b = _select_pair(parent_b, mass_b, noise_b, detector, rng)
    jets_a = jets_a.subset(index)

    pt, eta, px, py, jet_mass = (
        np.concatenate([field_a, field_b], axis=1)  # (k, 4)
        for field_a, field_b in zip(jets_a, jets_b, strict=True)
    )
    phi = np.arctan2(py, px) + detector.phi_smearing * rng.standard_normal(pt.shape)
    phi = np.mod(phi + np.pi, 2.0 * np.pi) - np.pi
    return np.stack([pt, eta, phi, jet_mass], axis=2)  # (k, 4, 4)


def _generate_selected_reference(
    n: int, process: _Process, detector: DetectorModel, rng: np.random.Generator
) -> FloatArray:
    """Generate n events in full and return the measured jets of those that pass.

    This is the plain algorithm that `_generate_selected` speeds up. It stays
    as the reference that the tests compare the fast sampler against.
    """
    true_jets = _generate_true_jets(n, process, detector, rng)
    jets, passed = _detector_response(true_jets, detector, rng)
    return jets[passed]


# A generator of a batch: (n, process, detector, rng) -> selected jets (k, 4, 4).
BatchGenerator = Callable[
    [int, _Process, DetectorModel, np.random.Generator], FloatArray
]


def _simulate_selected(
    n: int,
    process: _Process,
    detector: DetectorModel,
    rng: np.random.Generator,
    is_signal: bool,
    name: str,
    generate: BatchGenerator = _generate_selected,
) -> Events:
    """Generate batches until n events pass the selection.

    ``generate`` makes one batch, the staged sampler by default.
    """
    _require(
        isinstance(n, int | np.integer) and n >= 0,
        f"n is {n!r}, but it must be a non-negative integer.",
    )
    chunks: list[FloatArray] = []
    n_selected = 0
    n_generated = 0
    while n_selected < n:
        # Size the batch from the acceptance seen so far, with a 10 % margin.
        acceptance = 0.1 if n_generated == 0 else max(n_selected, 1) / n_generated
        batch = int(min(MAX_BATCH, max(1024, 1.1 * (n - n_selected) / acceptance)))
        selected = generate(batch, process, detector, rng)
        n_generated += batch
        chunks.append(selected[: n - n_selected])
        n_selected += len(selected)

    logger.debug(
        "Simulated %d %s events, selected from %d generated (acceptance %.3f).",
        n,
        name,
        n_generated,
        n / max(n_generated, 1),
    )
    jets = np.concatenate(chunks) if chunks else np.empty((0, 4, 4))
    return Events(jets, np.ones(n), np.full(n, is_signal))


def simulate_signal(
    n: int,
    *,
    seed: Seed = None,
    model: SignalModel | None = None,
    detector: DetectorModel | None = None,
) -> Events:
    """Simulate n selected HH -> 4b signal events.

    Args:
        n: Number of selected events to return.
        seed: Seed or random generator. ``None`` draws fresh entropy.
        model: Signal production, ``SignalModel()`` by default.
        detector: Detector response and selection, ``DetectorModel()`` by default.

    Returns:
        Events with unit weights and ``is_signal`` all True.
    """
    process = _signal_process(model or SignalModel())
    rng = np.random.default_rng(seed)
    return _simulate_selected(
        n, process, detector or DetectorModel(), rng, True, "signal"
    )


def simulate_background_4b(
    n: int,
    *,
    seed: Seed = None,
    model: BackgroundModel | None = None,
    detector: DetectorModel | None = None,
) -> Events:
    """Simulate n selected 4b multijet background events.

    Args:
        n: Number of selected events to return.
        seed: Seed or random generator. ``None`` draws fresh entropy.
        model: Background production, ``BackgroundModel()`` by default.
        detector: Detector response and selection, ``DetectorModel()`` by default.

    Returns:
        Events with unit weights and ``is_signal`` all False.
    """
    process = _background_process(model or BackgroundModel(), n_light_jets=0)
    rng = np.random.default_rng(seed)
    return _simulate_selected(
        n, process, detector or DetectorModel(), rng, False, "4b background"
    )


def simulate_background_3b(
    n: int,
    *,
    seed: Seed = None,
    model: BackgroundModel | None = None,
    three_tag: ThreeTagModel | None = None,
    detector: DetectorModel | None = None,
) -> Events:
    """Simulate n selected 3b multijet background events.

    Args:
        n: Number of selected events to return.
        seed: Seed or random generator. ``None`` draws fresh entropy.
        model: The 4b background production that the 3b model departs from,
            ``BackgroundModel()`` by default.
        three_tag: Differences from the 4b background, ``ThreeTagModel()`` by
            default.
        detector: Detector response and selection, ``DetectorModel()`` by default.

    Returns:
        Events with unit weights and ``is_signal`` all False.
    """
    three_tag = three_tag or ThreeTagModel()
    shifted = three_tag.apply(model or BackgroundModel())
    process = _background_process(shifted, n_light_jets=three_tag.n_light_jets)
    rng = np.random.default_rng(seed)
    return _simulate_selected(
        n, process, detector or DetectorModel(), rng, False, "3b background"
    )


def simulate_samples(
    n_3b: int,
    n_4b: int,
    signal_ratio: float,
    seed: Seed = None,
    *,
    signal: SignalModel | None = None,
    background: BackgroundModel | None = None,
    three_tag: ThreeTagModel | None = None,
    detector: DetectorModel | None = None,
) -> tuple[Events, Events]:
    """Simulate the 3b sample and the 4b mixture of background and signal.

    The number of signal events in the 4b sample is drawn as
    Binomial(n_4b, signal_ratio), as for n_4b independent draws from
    ``(1 - eps) B_4b + eps S``. The 4b events are shuffled so that signal is
    spread through the sample. 3b events get unit weights and 4b events get
    ``n_3b / n_4b``, so both samples have the same total weight.

    Args:
        n_3b: Number of 3b events.
        n_4b: Number of 4b events, signal included.
        signal_ratio: Signal share eps of the 4b sample, in [0, 1].
        seed: Seed or random generator. The three samples use independent
            streams spawned from it.
        signal: Signal production, ``SignalModel()`` by default.
        background: 4b background production, ``BackgroundModel()`` by default.
        three_tag: 3b differences, ``ThreeTagModel()`` by default.
        detector: Detector response and selection, ``DetectorModel()`` by default.

    Returns:
        The 3b events and the 4b events, both with truth labels.

    Raises:
        ValueError: If a count is negative or signal_ratio is outside [0, 1].
    """
    _require(
        0.0 <= signal_ratio <= 1.0,
        f"signal_ratio is {signal_ratio}, but it must lie in [0, 1].",
    )
    for name, value in (("n_3b", n_3b), ("n_4b", n_4b)):
        _require(
            isinstance(value, int | np.integer) and value >= 0,
            f"{name} is {value!r}, but it must be a non-negative integer.",
        )

    rng = np.random.default_rng(seed)
    rng_3b, rng_4b, rng_signal, rng_mix = rng.spawn(4)
    n_signal = int(rng_mix.binomial(n_4b, signal_ratio))

    events_3b = simulate_background_3b(
        n_3b, seed=rng_3b, model=background, three_tag=three_tag, detector=detector
    )
    background_4b = simulate_background_4b(
        n_4b - n_signal, seed=rng_4b, model=background, detector=detector
    )
    signal_events = simulate_signal(
        n_signal, seed=rng_signal, model=signal, detector=detector
    )
    mixture = concatenate_events([background_4b, signal_events])
    mixture = mixture.subset(rng_mix.permutation(n_4b))

    weight = n_3b / n_4b if n_4b > 0 else 1.0
    mixture = mixture.with_weights(np.full(n_4b, weight))
    logger.info(
        "Simulated %d 3b events and %d 4b events with %d signal events "
        "(signal_ratio %.4g).",
        n_3b,
        n_4b,
        n_signal,
        signal_ratio,
    )
    return events_3b, mixture
