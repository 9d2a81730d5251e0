"""Tests of the mass-window baseline pairing, X_HH and regions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from srlib.baseline import baseline_selection, delta_r_window, x_hh
from srlib.kinematics import PAIRINGS, dijet_pairings, four_jet_mass
from srlib.simulation import simulate_background_4b, simulate_signal


def test_x_hh_values() -> None:
    assert x_hh(125.0, 125.0) == 0.0
    # (137.5 - 125) / 13.75 = 0.909.
    assert x_hh(137.5, 125.0) == pytest.approx(12.5 / 13.75)
    assert x_hh(100.0, 150.0) == pytest.approx(np.hypot(-25 / 10, 25 / 15))
    assert x_hh(np.nan, 125.0) == np.inf
    assert x_hh(100.0, 100.0, center=100.0) == 0.0
    assert x_hh(110.0, 100.0, center=100.0, resolution=0.2) == pytest.approx(10 / 22)


def test_delta_r_window_low_mass() -> None:
    # At m_4j = 400: 0.4 < dR_lead < 2.6095 and 0.5875 < dR_subl < 2.9875.
    m4j = 400.0
    assert delta_r_window(m4j, 1.0, 1.0)
    assert not delta_r_window(m4j, 0.39, 1.0)
    assert not delta_r_window(m4j, 2.62, 1.0)
    assert not delta_r_window(m4j, 1.0, 0.58)
    assert not delta_r_window(m4j, 1.0, 2.99)
    assert delta_r_window(m4j, 2.60, 2.98)


def test_delta_r_window_high_mass() -> None:
    assert delta_r_window(1250.0, 1.4, 1.4)
    assert not delta_r_window(1250.0, 1.6, 1.0)
    assert not delta_r_window(1300.0, 1.0, 1.5)
    # Just below the boundary the low-mass window applies: 0.2995 < dR_subl.
    assert delta_r_window(1249.0, 1.0, 1.4)
    assert not delta_r_window(1249.0, 1.0, 0.1)


def brute_force_pairing(jets: np.ndarray) -> tuple[int, float, float]:
    """Choose the baseline pairing of one event with plain Python loops."""
    dijets = dijet_pairings(jets[None])
    m4j = float(four_jet_mass(jets[None])[0])
    best = (-1, np.nan, np.nan)
    best_difference = np.inf
    for p in range(3):
        pt_sums = dijets.pt_sum[0, p]
        lead, subl = (0, 1) if pt_sums[0] >= pt_sums[1] else (1, 0)
        passes = bool(
            delta_r_window(m4j, dijets.delta_r[0, p, lead], dijets.delta_r[0, p, subl])
        )
        difference = abs(dijets.mass[0, p, lead] - dijets.mass[0, p, subl])
        if passes and difference < best_difference:
            best_difference = difference
            best = (p, dijets.mass[0, p, lead], dijets.mass[0, p, subl])
    return best


def test_pairing_matches_brute_force() -> None:
    events = simulate_background_4b(300, seed=31)
    selection = baseline_selection(events)
    for i in range(len(events)):
        pairing, m_lead, m_subl = brute_force_pairing(events.jets[i])
        assert selection.pairing[i] == pairing
        if pairing >= 0:
            assert selection.m_lead[i] == pytest.approx(m_lead)
            assert selection.m_subl[i] == pytest.approx(m_subl)


def test_hand_built_event_picks_higgs_pairing() -> None:
    # Jets 0 and 2 come from one 125 GeV parent and jets 1 and 3 from another,
    # both at eta = 0, built from massless pairs with m^2 = 2 pT1 pT2 (1 - cos dphi).
    def opening(pt1: float, pt2: float) -> float:
        return float(np.arccos(1 - 125.0**2 / (2 * pt1 * pt2)))

    jets = np.zeros((1, 4, 4))
    jets[0, :, 0] = [150.0, 120.0, 90.0, 70.0]
    jets[0, 0, 2] = 0.0
    jets[0, 2, 2] = opening(150.0, 90.0)
    jets[0, 1, 2] = np.pi
    jets[0, 3, 2] = np.pi - opening(120.0, 70.0)
    selection = baseline_selection(jets)
    assert selection.pairing[0] == 1  # 02|13
    assert PAIRINGS[1].tolist() == [[0, 2], [1, 3]]
    # The 02 dijet has the larger pT sum (240 > 190), so it is the lead dijet.
    assert selection.m_lead[0] == pytest.approx(125.0)
    assert selection.m_subl[0] == pytest.approx(125.0)
    assert selection.x_hh[0] == pytest.approx(0.0, abs=1e-6)
    assert selection.signal_region[0]
    assert not selection.control_region[0]


def test_event_without_passing_pairing() -> None:
    # Four nearly collinear jets have Delta R below every window's lower edge.
    jets = np.zeros((1, 4, 4))
    jets[0, :, 0] = [100.0, 90.0, 80.0, 70.0]
    jets[0, :, 1] = [0.0, 0.01, 0.02, 0.03]
    jets[0, :, 3] = 5.0
    selection = baseline_selection(jets)
    assert selection.pairing[0] == -1
    assert not selection.has_pairing[0]
    assert np.isnan(selection.m_lead[0])
    assert selection.x_hh[0] == np.inf
    assert not selection.signal_region[0]
    assert not selection.control_region[0]


def test_regions_are_disjoint_and_follow_cuts() -> None:
    events = simulate_signal(2000, seed=32)
    selection = baseline_selection(events)
    assert not np.any(selection.signal_region & selection.control_region)
    np.testing.assert_array_equal(selection.signal_region, selection.x_hh < 1.6)
    ring = np.hypot(selection.m_lead - 128.75, selection.m_subl - 128.75)
    np.testing.assert_array_equal(
        selection.control_region, (ring < 30.0) & (selection.x_hh >= 1.6)
    )
    wider = baseline_selection(events, x_hh_cut=2.5)
    assert wider.signal_region.sum() > selection.signal_region.sum()
    assert np.all(wider.signal_region[selection.signal_region])


def test_region_arguments_move_regions() -> None:
    events = simulate_signal(2000, seed=33)
    default = baseline_selection(events)
    shifted = baseline_selection(events, center=100.0)
    assert shifted.signal_region.sum() < default.signal_region.sum()
    no_cr = baseline_selection(events, control_radius=1e-3)
    assert no_cr.control_region.sum() == 0


@pytest.mark.parametrize("name", ["resolution", "x_hh_cut", "control_radius"])
def test_bad_arguments_raise(name: str) -> None:
    jets = simulate_signal(10, seed=0)
    with pytest.raises(ValueError, match=f"{name} is 0.0"):
        baseline_selection(jets, **{name: 0.0})


def test_every_pairing_index_occurs() -> None:
    selection = baseline_selection(simulate_background_4b(3000, seed=34))
    counts = {p: int((selection.pairing == p).sum()) for p in (-1, 0, 1, 2)}
    assert all(counts[p] > 0 for p in (0, 1, 2))
    assert sum(counts.values()) == 3000
    assert set(itertools.chain([-1], range(3))) >= set(np.unique(selection.pairing))
