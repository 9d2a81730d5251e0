"""Four-jet kinematics: pairings, dijet masses and Delta R, m_4j and symmetries.

Jets arrive as an array of shape (N, 4, 4) with fields (pt [GeV], eta, phi,
m [GeV]), or as `srlib.events.Events`. Four-vector sums use scikit-hep
``vector`` on numpy arrays, and angles use plain numpy.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt
import vector

if TYPE_CHECKING:
    from srlib.events import Events

__all__ = [
    "PAIRINGS",
    "Dijets",
    "delta_phi",
    "delta_r",
    "dijet_pairings",
    "four_jet_mass",
    "jet_vectors",
    "mass_from_energy",
    "normalize_symmetry",
    "wrap_phi",
]

#: The three ways to split jets (0, 1, 2, 3) into two dijets: 01|23, 02|13 and
#: 03|12. Shape (3, 2, 2), indexed as [pairing, dijet, jet].
PAIRINGS: npt.NDArray[np.intp] = np.array(
    [[[0, 1], [2, 3]], [[0, 2], [1, 3]], [[0, 3], [1, 2]]], dtype=np.intp
)

#: Largest negative m^2 / E^2 that `mass_from_energy` treats as float rounding
#: of a massless jet. float32 inputs round E and p at a relative 6e-8, so the
#: rounding of m^2 / E^2 stays near 2.4e-7, well inside this bound.
MASS_SQUARED_TOLERANCE = 1e-5

JetsLike = TypeVar("JetsLike", "Events", npt.NDArray[np.float64])


def _jet_array(jets: Events | npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(getattr(jets, "jets", jets), dtype=np.float64)
    if array.ndim != 3 or array.shape[1:] != (4, 4):
        raise ValueError(
            f"jets has shape {array.shape}, but it needs shape (N, 4, 4) with "
            "fields (pt, eta, phi, m) on the last axis."
        )
    return array


def wrap_phi(phi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Wrap azimuthal angles into [-pi, pi).

    Angles already in [-pi, pi) are returned bit for bit, so wrapping is
    idempotent and stored samples read back unchanged.
    """
    phi = np.asarray(phi, dtype=np.float64)
    inside = (phi >= -np.pi) & (phi < np.pi)
    wrapped = np.mod(phi + np.pi, 2.0 * np.pi) - np.pi
    # Rounding can map an angle just below pi to exactly pi.
    wrapped = np.where(wrapped >= np.pi, -np.pi, wrapped)
    return np.where(inside, phi, wrapped)


def delta_phi(phi1: npt.ArrayLike, phi2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Compute phi1 - phi2 wrapped into [-pi, pi)."""
    return wrap_phi(np.subtract(phi1, phi2))


def delta_r(
    eta1: npt.ArrayLike,
    phi1: npt.ArrayLike,
    eta2: npt.ArrayLike,
    phi2: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Compute the angular distance sqrt(d_eta^2 + d_phi^2) with d_phi wrapped."""
    return np.hypot(np.subtract(eta1, eta2), delta_phi(phi1, phi2))


def mass_from_energy(
    pt: npt.ArrayLike,
    eta: npt.ArrayLike,
    energy: npt.ArrayLike,
    *,
    source: str = "energy",
) -> npt.NDArray[np.float64]:
    """Compute the jet mass from pT, eta and energy.

    The mass is ``m = sqrt(E^2 - p^2)`` with ``p = pT cosh(eta)``. Float rounding
    gives massless jets a tiny negative ``m^2``, which is clipped to zero as long
    as ``-m^2 / E^2`` stays below `MASS_SQUARED_TOLERANCE`.

    Args:
        pt: Transverse momenta in GeV.
        eta: Pseudorapidities.
        energy: Energies in GeV.
        source: Name of the input used in error messages.

    Returns:
        Masses in GeV, with the broadcast shape of the inputs. Non-finite
        inputs give a NaN or inf mass.

    Raises:
        ValueError: If an energy is smaller than its momentum by more than float
            rounding explains.
    """
    pt = np.asarray(pt, dtype=np.float64)
    energy = np.asarray(energy, dtype=np.float64)

    # Non-finite inputs give NaN or inf masses, which the event checks report
    # with the field name, so they raise no floating-point warning here.
    with np.errstate(invalid="ignore", over="ignore"):
        momentum = pt * np.cosh(np.asarray(eta, dtype=np.float64))
        # (E - p)(E + p) loses less precision than E^2 - p^2 when E is near p.
        mass_squared = (energy - momentum) * (energy + momentum)
        too_negative = np.isfinite(mass_squared) & (
            mass_squared < -MASS_SQUARED_TOLERANCE * energy**2
        )
    if np.any(too_negative):
        first = np.unravel_index(np.argmax(too_negative), too_negative.shape)
        raise ValueError(
            f"{source} has energy below momentum in {int(too_negative.sum())} "
            f"jets (first E = {energy[first]!r} GeV with p = {momentum[first]!r} "
            "GeV), but a jet needs E >= pT cosh(eta)."
        )
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.clip(mass_squared, 0.0, None))


def jet_vectors(jets: Events | npt.ArrayLike) -> vector.MomentumNumpy4D:
    """Convert jets to scikit-hep ``vector`` four-momenta of shape (N, 4)."""
    array = _jet_array(jets)
    return vector.array(
        {
            "pt": array[:, :, 0],
            "eta": array[:, :, 1],
            "phi": array[:, :, 2],
            "mass": array[:, :, 3],
        }
    )


@dataclasses.dataclass(frozen=True)
class Dijets:
    """Dijet quantities for the three pairings of four jets.

    Every array has shape (N, 3, 2), indexed as [event, pairing, dijet], with
    pairings and dijets ordered as in `PAIRINGS`. So dijet 0 of each pairing
    contains jet 0.

    Attributes:
        mass: Dijet invariant masses in GeV.
        delta_r: Angular distance between the two jets of each dijet.
        pt_sum: Scalar sum of the two jets' pT in GeV.
        pt: Transverse momentum of the dijet system in GeV.
    """

    mass: npt.NDArray[np.float64]
    delta_r: npt.NDArray[np.float64]
    pt_sum: npt.NDArray[np.float64]
    pt: npt.NDArray[np.float64]


def dijet_pairings(jets: Events | npt.ArrayLike) -> Dijets:
    """Compute dijet masses, Delta R and pT for the pairings 01|23, 02|13, 03|12.

    Args:
        jets: Array of shape (N, 4, 4) with fields (pt, eta, phi, m), or Events.

    Returns:
        The dijet quantities, each of shape (N, 3, 2).
    """
    array = _jet_array(jets)
    vectors = jet_vectors(array)
    n_events = array.shape[0]
    shape = (n_events, len(PAIRINGS), 2)
    mass = np.empty(shape)
    separation = np.empty(shape)
    pt_sum = np.empty(shape)
    pt = np.empty(shape)

    for p, pairing in enumerate(PAIRINGS):
        for d, (a, b) in enumerate(pairing):
            dijet = vectors[:, a] + vectors[:, b]
            mass[:, p, d] = dijet.mass
            pt[:, p, d] = dijet.pt
            pt_sum[:, p, d] = array[:, a, 0] + array[:, b, 0]
            separation[:, p, d] = delta_r(
                array[:, a, 1], array[:, a, 2], array[:, b, 1], array[:, b, 2]
            )
    return Dijets(mass=mass, delta_r=separation, pt_sum=pt_sum, pt=pt)


def four_jet_mass(jets: Events | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Compute the invariant mass m_4j of the four jets in GeV, shape (N,)."""
    vectors = jet_vectors(jets)
    total = vectors[:, 0] + vectors[:, 1] + vectors[:, 2] + vectors[:, 3]
    return np.asarray(total.mass, dtype=np.float64)


def normalize_symmetry(jets: JetsLike) -> JetsLike:
    """Map each event to a canonical copy under the detector's symmetries.

    Collisions are symmetric under eta -> -eta, under a rotation in phi and under
    phi -> -phi. The map removes these three symmetries in order:

    1. flip the sign of every eta so that the leading jet has eta >= 0;
    2. rotate phi so that the leading jet sits at phi = 0;
    3. flip the sign of every phi so that the second jet has phi >= 0.

    Masses, pT and every Lorentz-invariant quantity such as m_4j are unchanged.

    Args:
        jets: Array of shape (N, 4, 4) sorted by pT, or Events.

    Returns:
        The normalised jets, of the same type as the input. phi stays in
        [-pi, pi), so a second jet exactly at phi = -pi keeps that value.
    """
    array = _jet_array(jets).copy()
    eta = array[:, :, 1]  # views into array, shape (N, 4)
    phi = array[:, :, 2]

    eta_sign = np.where(eta[:, :1] < 0, -1.0, 1.0)  # (N, 1)
    eta *= eta_sign

    phi[:] = wrap_phi(phi - phi[:, :1])
    phi_sign = np.where(phi[:, 1:2] < 0, -1.0, 1.0)  # (N, 1)
    phi[:] = wrap_phi(phi * phi_sign)

    if hasattr(jets, "jets"):
        return dataclasses.replace(jets, jets=array)  # type: ignore[type-var]
    return array  # type: ignore[return-value]
