"""Tests of four-jet kinematics against hand-computed four-vectors."""

from __future__ import annotations

import numpy as np
import pytest

from srlib.events import Events
from srlib.kinematics import (
    PAIRINGS,
    delta_r,
    dijet_pairings,
    four_jet_mass,
    mass_from_energy,
    normalize_symmetry,
    wrap_phi,
)


def cartesian(jets: np.ndarray) -> np.ndarray:
    """Return (E, px, py, pz) of (pt, eta, phi, m) jets, computed by hand."""
    pt, eta, phi, m = np.moveaxis(jets, -1, 0)
    px = pt * np.cos(phi)
    py = pt * np.sin(phi)
    pz = pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    return np.stack([energy, px, py, pz], axis=-1)


def invariant_mass(four_momentum: np.ndarray) -> np.ndarray:
    energy, px, py, pz = np.moveaxis(four_momentum, -1, 0)
    return np.sqrt(energy**2 - px**2 - py**2 - pz**2)


@pytest.fixture
def random_jets(rng: np.random.Generator) -> np.ndarray:
    n = 200
    jets = np.empty((n, 4, 4))
    jets[:, :, 0] = np.sort(rng.uniform(40.0, 250.0, (n, 4)), axis=1)[:, ::-1]
    jets[:, :, 1] = rng.uniform(-2.5, 2.5, (n, 4))
    jets[:, :, 2] = rng.uniform(-np.pi, np.pi, (n, 4))
    jets[:, :, 3] = rng.uniform(3.0, 25.0, (n, 4))
    return jets


def test_wrap_phi_values() -> None:
    wrapped = wrap_phi([0.0, np.pi, -np.pi, 1.5 * np.pi, -1.5 * np.pi, 2 * np.pi])
    np.testing.assert_allclose(
        wrapped, [0.0, -np.pi, -np.pi, -0.5 * np.pi, 0.5 * np.pi, 0.0], atol=1e-15
    )
    assert wrapped.min() >= -np.pi
    assert wrapped.max() < np.pi


def test_wrap_phi_is_idempotent(rng: np.random.Generator) -> None:
    phi = rng.uniform(-np.pi, np.pi, 1000)
    np.testing.assert_array_equal(wrap_phi(phi), phi)


def test_delta_r_wraps_phi() -> None:
    # Jets at phi = 3.0 and -3.0 are 2 pi - 6 = 0.283 apart, not 6.
    assert delta_r(0.0, 3.0, 0.0, -3.0) == pytest.approx(2 * np.pi - 6.0)
    # d_eta = 4 and d_phi = 2 pi - 3 wraps to -3, so Delta R = 5.
    assert delta_r(3.0, 2.0, -1.0, 5.0 - 2 * np.pi) == pytest.approx(5.0)


def test_mass_from_energy_known_value() -> None:
    # pT = 30, eta = 0 gives p = 30, and E = 50 gives m = 40.
    assert mass_from_energy(30.0, 0.0, 50.0) == pytest.approx(40.0)


def test_mass_from_energy_clips_rounding() -> None:
    pt = np.array([50.0, 75.0, 120.0])
    eta = np.array([1.2, -2.3, 0.4])
    energy = (pt * np.cosh(eta)).astype(np.float32).astype(np.float64)
    masses = mass_from_energy(pt, eta, energy)
    assert np.isfinite(masses).all()
    assert masses.max() < 0.1


def test_mass_from_energy_rejects_low_energy() -> None:
    with pytest.raises(ValueError, match="jets.e has energy below momentum"):
        mass_from_energy([100.0], [0.0], [90.0], source="jets.e")


def test_pairings_cover_all_jets() -> None:
    assert PAIRINGS.shape == (3, 2, 2)
    for pairing in PAIRINGS:
        assert sorted(pairing.ravel().tolist()) == [0, 1, 2, 3]
        assert pairing[0, 0] == 0
    assert PAIRINGS[1].tolist() == [[0, 2], [1, 3]]


def test_dijet_mass_of_back_to_back_jets() -> None:
    # Massless jets at eta = 0: m^2 = 2 pT1 pT2 (1 - cos dphi).
    jets = np.array(
        [
            [
                [100.0, 0.0, 0.0, 0.0],
                [80.0, 0.0, np.pi - 1e-12, 0.0],
                [60.0, 0.0, 0.5 * np.pi, 0.0],
                [50.0, 0.0, -0.5 * np.pi, 0.0],
            ]
        ]
    )
    dijets = dijet_pairings(jets)
    assert dijets.mass[0, 0, 0] == pytest.approx(np.sqrt(2 * 100 * 80 * 2))
    assert dijets.mass[0, 0, 1] == pytest.approx(np.sqrt(2 * 60 * 50 * 2))
    assert dijets.mass[0, 1, 0] == pytest.approx(np.sqrt(2 * 100 * 60))
    assert dijets.delta_r[0, 0, 1] == pytest.approx(np.pi)
    assert dijets.pt_sum[0, 2].tolist() == [150.0, 140.0]
    # Jets 0 and 1 are back to back, so their dijet has pT = 100 - 80.
    assert dijets.pt[0, 0, 0] == pytest.approx(20.0)


def test_dijet_masses_match_hand_four_vectors(random_jets: np.ndarray) -> None:
    dijets = dijet_pairings(random_jets)
    momenta = cartesian(random_jets)  # (N, 4, 4) as (E, px, py, pz)
    for p, pairing in enumerate(PAIRINGS):
        for d, (a, b) in enumerate(pairing):
            expected = invariant_mass(momenta[:, a] + momenta[:, b])
            np.testing.assert_allclose(dijets.mass[:, p, d], expected, rtol=1e-9)
            dphi = np.angle(np.exp(1j * (random_jets[:, a, 2] - random_jets[:, b, 2])))
            deta = random_jets[:, a, 1] - random_jets[:, b, 1]
            np.testing.assert_allclose(
                dijets.delta_r[:, p, d], np.hypot(deta, dphi), rtol=1e-12
            )


def test_four_jet_mass_matches_hand(random_jets: np.ndarray) -> None:
    expected = invariant_mass(cartesian(random_jets).sum(axis=1))
    np.testing.assert_allclose(four_jet_mass(random_jets), expected, rtol=1e-9)
    np.testing.assert_allclose(four_jet_mass(Events(random_jets)), expected, rtol=1e-9)


def test_normalization_conventions(random_jets: np.ndarray) -> None:
    normalised = normalize_symmetry(random_jets)
    assert np.all(normalised[:, 0, 1] >= 0)
    np.testing.assert_array_equal(normalised[:, 0, 2], 0.0)
    assert np.all(normalised[:, 1, 2] >= 0)
    assert normalised[:, :, 2].min() >= -np.pi
    assert normalised[:, :, 2].max() < np.pi
    # pT and masses are untouched, and |eta| is kept.
    np.testing.assert_array_equal(normalised[:, :, 0], random_jets[:, :, 0])
    np.testing.assert_array_equal(normalised[:, :, 3], random_jets[:, :, 3])
    np.testing.assert_array_equal(
        np.abs(normalised[:, :, 1]), np.abs(random_jets[:, :, 1])
    )


def test_normalization_preserves_invariants(random_jets: np.ndarray) -> None:
    normalised = normalize_symmetry(random_jets)
    np.testing.assert_allclose(
        four_jet_mass(normalised), four_jet_mass(random_jets), rtol=1e-9
    )
    np.testing.assert_allclose(
        dijet_pairings(normalised).mass, dijet_pairings(random_jets).mass, rtol=1e-9
    )
    np.testing.assert_allclose(
        dijet_pairings(normalised).delta_r,
        dijet_pairings(random_jets).delta_r,
        rtol=1e-9,
        atol=1e-12,
    )


def test_normalization_removes_symmetries(random_jets: np.ndarray) -> None:
    transformed = random_jets.copy()
    transformed[:, :, 1] *= -1.0
    transformed[:, :, 2] = wrap_phi(-(transformed[:, :, 2] + 1.234))
    np.testing.assert_allclose(
        normalize_symmetry(transformed),
        normalize_symmetry(random_jets),
        atol=1e-12,
    )
    once = normalize_symmetry(random_jets)
    np.testing.assert_allclose(normalize_symmetry(once), once, atol=1e-15)


def test_normalization_keeps_events_type(random_jets: np.ndarray) -> None:
    events = Events(random_jets, np.full(200, 2.0), np.zeros(200, dtype=bool))
    normalised = normalize_symmetry(events)
    assert isinstance(normalised, Events)
    assert normalised.total_weight == 400.0
    np.testing.assert_array_equal(normalised.jets, normalize_symmetry(random_jets))


def test_bad_shape_raises() -> None:
    with pytest.raises(ValueError, match=r"jets has shape \(5, 16\)"):
        four_jet_mass(np.ones((5, 16)))
