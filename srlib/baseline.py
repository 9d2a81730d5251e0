r"""The mass-window baseline signal region for HH -> 4b.

This is the selection of P. Bryant's thesis (University of Chicago, 2018), in
the form that Manole et al. (Ann. Appl. Stat. 18 (2024) 2950) use it:

1. In each of the three pairings of the four jets, the lead dijet is the one
   with the larger scalar sum of jet pT and the other is the subleading dijet.
2. A pairing passes when, with m_4j in GeV,

   - m_4j < 1250 and 360 / m_4j - 0.5 < Delta R_lead < 653 / m_4j + 0.977 and
     235 / m_4j < Delta R_subl < 875 / m_4j + 0.8, or
   - m_4j >= 1250 and Delta R_lead < 1.5 and Delta R_subl < 1.5.

3. Among the passing pairings, the one with the smallest |m_lead - m_subl| is
   chosen.
4. The signal region (SR) is

   .. math::

       X_{HH} = \sqrt{\left(\frac{m_{lead} - 125}{0.1\, m_{lead}}\right)^2
       + \left(\frac{m_{subl} - 125}{0.1\, m_{subl}}\right)^2} < 1.6 ,

   and the control region (CR) is the ring
   sqrt((m_lead - 128.75)^2 + (m_subl - 128.75)^2) < 30 GeV outside the SR.

Events with no passing pairing get X_HH = inf and lie in neither region.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from srlib.kinematics import dijet_pairings, four_jet_mass

if TYPE_CHECKING:
    from srlib.events import Events

logger = logging.getLogger(__name__)

__all__ = [
    "BaselineSelection",
    "baseline_selection",
    "delta_r_window",
    "x_hh",
]

#: m_4j in GeV above which the Delta R window becomes Delta R < 1.5.
M4J_BOUNDARY = 1250.0

#: Upper bound on both Delta R at m_4j >= M4J_BOUNDARY.
HIGH_MASS_MAX_DELTA_R = 1.5


def delta_r_window(
    m4j: npt.ArrayLike, delta_r_lead: npt.ArrayLike, delta_r_subl: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Apply the m_4j-dependent Delta R window of the baseline pairing.

    Args:
        m4j: Four-jet mass in GeV, broadcastable against the Delta R arrays.
        delta_r_lead: Delta R between the jets of the lead dijet.
        delta_r_subl: Delta R between the jets of the subleading dijet.

    Returns:
        True where the pairing passes.
    """
    m4j = np.asarray(m4j, dtype=np.float64)
    lead = np.asarray(delta_r_lead, dtype=np.float64)
    subl = np.asarray(delta_r_subl, dtype=np.float64)

    low_mass = (
        (m4j < M4J_BOUNDARY)
        & (360.0 / m4j - 0.5 < lead)
        & (lead < 653.0 / m4j + 0.977)
        & (235.0 / m4j < subl)
        & (subl < 875.0 / m4j + 0.8)
    )
    high_mass = (
        (m4j >= M4J_BOUNDARY)
        & (lead < HIGH_MASS_MAX_DELTA_R)
        & (subl < HIGH_MASS_MAX_DELTA_R)
    )
    return low_mass | high_mass


def x_hh(
    m_lead: npt.ArrayLike,
    m_subl: npt.ArrayLike,
    *,
    center: float = 125.0,
    resolution: float = 0.1,
) -> npt.NDArray[np.float64]:
    r"""Compute the distance X_HH of a dijet mass pair from the Higgs mass.

    .. math::

        X_{HH} = \sqrt{\left(\frac{m_{lead} - c}{r\, m_{lead}}\right)^2
        + \left(\frac{m_{subl} - c}{r\, m_{subl}}\right)^2}

    Args:
        m_lead: Lead dijet mass in GeV. NaN gives X_HH = inf.
        m_subl: Subleading dijet mass in GeV. NaN gives X_HH = inf.
        center: Centre c in GeV. Default 125.0.
        resolution: Relative mass resolution r. Default 0.1.

    Returns:
        X_HH with the broadcast shape of the masses.
    """
    m_lead = np.asarray(m_lead, dtype=np.float64)
    m_subl = np.asarray(m_subl, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.hypot(
            (m_lead - center) / (resolution * m_lead),
            (m_subl - center) / (resolution * m_subl),
        )
    return np.where(np.isnan(score), np.inf, score)


@dataclasses.dataclass(frozen=True)
class BaselineSelection:
    """Result of the baseline pairing and regions, one entry per event.

    Attributes:
        pairing: Index of the chosen pairing in `srlib.kinematics.PAIRINGS`, or
            -1 when no pairing passes.
        m_lead: Lead dijet mass in GeV, NaN when no pairing passes.
        m_subl: Subleading dijet mass in GeV, NaN when no pairing passes.
        delta_r_lead: Delta R of the lead dijet, NaN when no pairing passes.
        delta_r_subl: Delta R of the subleading dijet, NaN when no pairing passes.
        m4j: Four-jet mass in GeV.
        x_hh: X_HH score, inf when no pairing passes. Moving the cut on it
            traces a curve of signal regions.
        signal_region: True for events with X_HH below the cut.
        control_region: True for events in the CR ring outside the SR.
    """

    pairing: npt.NDArray[np.intp]
    m_lead: npt.NDArray[np.float64]
    m_subl: npt.NDArray[np.float64]
    delta_r_lead: npt.NDArray[np.float64]
    delta_r_subl: npt.NDArray[np.float64]
    m4j: npt.NDArray[np.float64]
    x_hh: npt.NDArray[np.float64]
    signal_region: npt.NDArray[np.bool_]
    control_region: npt.NDArray[np.bool_]

    @property
    def has_pairing(self) -> npt.NDArray[np.bool_]:
        """True for events with at least one passing pairing."""
        return self.pairing >= 0


def baseline_selection(
    jets: Events | npt.ArrayLike,
    *,
    center: float = 125.0,
    resolution: float = 0.1,
    x_hh_cut: float = 1.6,
    control_center: float = 128.75,
    control_radius: float = 30.0,
) -> BaselineSelection:
    """Choose the baseline pairing and assign the SR and CR.

    Args:
        jets: Events, or an array of shape (N, 4, 4) with fields
            (pt, eta, phi, m).
        center: X_HH centre in GeV. Default 125.0.
        resolution: X_HH relative resolution. Default 0.1.
        x_hh_cut: The SR is X_HH < x_hh_cut. Default 1.6.
        control_center: Centre of the CR ring in both masses, in GeV.
            Default 128.75.
        control_radius: Radius of the CR ring in GeV. Default 30.0.

    Returns:
        The chosen pairing, its dijet quantities, X_HH and the region masks.

    Raises:
        ValueError: If resolution, x_hh_cut or control_radius is not positive.
    """
    for name, value in (
        ("resolution", resolution),
        ("x_hh_cut", x_hh_cut),
        ("control_radius", control_radius),
    ):
        if not value > 0:
            raise ValueError(f"{name} is {value}, but it must be positive.")

    dijets = dijet_pairings(jets)
    m4j = four_jet_mass(jets)
    n_events = m4j.shape[0]

    # Order the two dijets of each pairing into lead and subleading by the
    # scalar sum of their jets' pT.
    lead = np.argmax(dijets.pt_sum, axis=2)[:, :, None]  # (N, 3, 1)
    subl = 1 - lead
    m_lead = np.take_along_axis(dijets.mass, lead, axis=2)[:, :, 0]  # (N, 3)
    m_subl = np.take_along_axis(dijets.mass, subl, axis=2)[:, :, 0]
    dr_lead = np.take_along_axis(dijets.delta_r, lead, axis=2)[:, :, 0]
    dr_subl = np.take_along_axis(dijets.delta_r, subl, axis=2)[:, :, 0]

    passes = delta_r_window(m4j[:, None], dr_lead, dr_subl)  # (N, 3)
    mass_difference = np.where(passes, np.abs(m_lead - m_subl), np.inf)
    chosen = np.argmin(mass_difference, axis=1)  # (N,)
    has_pairing = passes.any(axis=1)
    pairing = np.where(has_pairing, chosen, -1)

    rows = np.arange(n_events)

    def pick(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(has_pairing, values[rows, chosen], np.nan)

    chosen_lead = pick(m_lead)
    chosen_subl = pick(m_subl)
    score = x_hh(chosen_lead, chosen_subl, center=center, resolution=resolution)
    signal_region = score < x_hh_cut
    ring = np.hypot(chosen_lead - control_center, chosen_subl - control_center)
    control_region = (ring < control_radius) & ~signal_region

    logger.debug(
        "Baseline: %d of %d events have a passing pairing, %d in SR, %d in CR.",
        int(has_pairing.sum()),
        n_events,
        int(signal_region.sum()),
        int(control_region.sum()),
    )
    return BaselineSelection(
        pairing=pairing,
        m_lead=chosen_lead,
        m_subl=chosen_subl,
        delta_r_lead=pick(dr_lead),
        delta_r_subl=pick(dr_subl),
        m4j=m4j,
        x_hh=score,
        signal_region=signal_region,
        control_region=control_region,
    )
