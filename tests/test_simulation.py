"""Tests of the HH -> 4b simulator: selection, seeding, physics and mixing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import integrate

from srlib.baseline import baseline_selection
from srlib.events import Events
from srlib.kinematics import four_jet_mass
from srlib.simulation import (
    BackgroundModel,
    DetectorModel,
    SignalModel,
    ThreeTagModel,
    _sample_cos_theta,
    simulate_background_3b,
    simulate_background_4b,
    simulate_samples,
    simulate_signal,
)

N_EVENTS = 20_000


@pytest.fixture(scope="module")
def signal() -> Events:
    return simulate_signal(N_EVENTS, seed=11)


@pytest.fixture(scope="module")
def background() -> Events:
    return simulate_background_4b(N_EVENTS, seed=12)


def test_returns_requested_count(signal: Events, background: Events) -> None:
    assert len(signal) == N_EVENTS
    assert len(background) == N_EVENTS
    assert len(simulate_signal(0, seed=1)) == 0
    assert len(simulate_background_3b(7, seed=1)) == 7


def test_selection_is_applied(signal: Events, background: Events) -> None:
    for events in (signal, background):
        assert events.pt.min() > 40.0
        assert np.abs(events.eta).max() < 2.5
        assert np.all(np.diff(events.pt, axis=1) <= 0)
        assert events.phi.min() >= -np.pi
        assert events.phi.max() < np.pi
        assert events.m.min() > 0.0


def test_labels_and_weights(signal: Events, background: Events) -> None:
    assert signal.is_signal.all()
    assert not background.is_signal.any()
    np.testing.assert_array_equal(signal.weights, 1.0)


def test_same_seed_same_events() -> None:
    first = simulate_background_4b(500, seed=5)
    second = simulate_background_4b(500, seed=5)
    other = simulate_background_4b(500, seed=6)
    np.testing.assert_array_equal(first.jets, second.jets)
    assert not np.array_equal(first.jets, other.jets)


def test_three_tag_without_differences_equals_4b() -> None:
    # With every difference set to zero the 3b generator draws the same random
    # numbers as the 4b one, so the samples agree exactly.
    zero = ThreeTagModel(
        mass_exponent_shift=0.0, rapidity_sigma_shift=0.0, n_light_jets=0
    )
    events_3b = simulate_background_3b(300, seed=9, three_tag=zero)
    events_4b = simulate_background_4b(300, seed=9)
    np.testing.assert_array_equal(events_3b.jets, events_4b.jets)


def test_three_tag_is_softer_and_wider() -> None:
    events_3b = simulate_background_3b(N_EVENTS, seed=13)
    events_4b = simulate_background_4b(N_EVENTS, seed=13)
    # A light jet gets no b-jet response, so the calibrated jets are harder.
    median_mass_3b = np.median(events_3b.m / events_3b.pt)
    median_mass_4b = np.median(events_4b.m / events_4b.pt)
    assert median_mass_3b > median_mass_4b
    # The samples differ only smoothly, so the m_4j medians agree within 5 %.
    ratio = np.median(four_jet_mass(events_3b)) / np.median(four_jet_mass(events_4b))
    assert 0.95 < ratio < 1.05


def test_signal_dijet_masses_peak_near_higgs(signal: Events) -> None:
    selection = baseline_selection(signal)
    for masses in (selection.m_lead, selection.m_subl):
        masses = masses[np.isfinite(masses)]
        low, median, high = np.percentile(masses, [16, 50, 84])
        assert 115.0 < median < 132.0
        # The central 68 % spans about +-10 % around the median.
        relative_width = (high - low) / 2 / median
        assert 0.06 < relative_width < 0.14


def test_baseline_keeps_signal_not_background(
    signal: Events, background: Events
) -> None:
    signal_kept = baseline_selection(signal).signal_region.mean()
    background_kept = baseline_selection(background).signal_region.mean()
    assert signal_kept > 0.55
    assert background_kept < 0.2
    assert signal_kept / background_kept > 4.0


def test_background_medians_near_madgraph(background: Events) -> None:
    # Targets from MadGraph 4b background inside the SR and CR: jet pT medians
    # of about 90, 70, 57 and 47 GeV and an m_4j median near 300 GeV.
    selection = baseline_selection(background)
    inside = selection.signal_region | selection.control_region
    medians = np.median(background.pt[inside], axis=0)
    np.testing.assert_allclose(medians, [90.0, 70.0, 57.0, 47.0], rtol=0.08)
    assert np.median(selection.m4j[inside]) == pytest.approx(300.0, rel=0.08)


def test_narrow_resonance_sets_four_jet_mass() -> None:
    model = SignalModel(resonance_mass=600.0)
    events = simulate_signal(3000, seed=3, model=model)
    assert np.median(four_jet_mass(events)) == pytest.approx(600.0, rel=0.05)


def test_zh_like_parent_masses() -> None:
    model = SignalModel(parent_masses=(125.0, 91.1876))
    events = simulate_signal(5000, seed=4, model=model)
    selection = baseline_selection(events)
    lower = np.fmin(selection.m_lead, selection.m_subl)
    assert np.nanmedian(lower) == pytest.approx(91.0, rel=0.08)


def test_detector_resolution_values() -> None:
    detector = DetectorModel()
    np.testing.assert_allclose(
        detector.relative_resolution([30.0, 100.0]), [0.1987, 0.1072], atol=5e-4
    )
    assert detector.jet_calibration == pytest.approx(1 / 0.93)


def test_production_angle_distribution() -> None:
    anisotropy = 0.8
    draws = _sample_cos_theta(400_000, anisotropy, np.random.default_rng(2))
    assert draws.min() >= -1.0
    assert draws.max() <= 1.0

    def density(c: float) -> float:
        return 1.0 / (1.0 - anisotropy * c**2)

    norm = integrate.quad(density, -1, 1)[0]
    second_moment = integrate.quad(lambda c: c**2 * density(c), -1, 1)[0] / norm
    assert np.mean(draws**2) == pytest.approx(second_moment, abs=3e-3)
    assert np.mean(draws) == pytest.approx(0.0, abs=3e-3)


def test_samples_mixture_and_weights() -> None:
    events_3b, events_4b = simulate_samples(4000, 2000, 0.1, seed=21)
    assert len(events_3b) == 4000
    assert len(events_4b) == 2000
    assert events_4b.total_weight == pytest.approx(events_3b.total_weight)
    np.testing.assert_array_equal(events_4b.weights, 2.0)
    assert not events_3b.is_signal.any()
    # Binomial(2000, 0.1) has sd 13.4, so 200 +- 60 is a 4.5 sd band.
    assert 140 < events_4b.is_signal.sum() < 260
    # Shuffled: signal is spread over both halves of the sample.
    assert events_4b.is_signal[:1000].sum() > 40
    assert events_4b.is_signal[1000:].sum() > 40


def test_samples_equal_sizes_have_unit_weights() -> None:
    events_3b, events_4b = simulate_samples(500, 500, 0.0, seed=22)
    np.testing.assert_array_equal(events_4b.weights, 1.0)
    assert not events_4b.is_signal.any()
    again_3b, again_4b = simulate_samples(500, 500, 0.0, seed=22)
    np.testing.assert_array_equal(events_3b.jets, again_3b.jets)
    np.testing.assert_array_equal(events_4b.jets, again_4b.jets)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"signal_ratio": 1.5}, "signal_ratio is 1.5"),
        ({"n_3b": -1}, "n_3b is -1"),
        ({"n_4b": 2.5}, "n_4b is 2.5"),
    ],
)
def test_samples_bad_arguments(arguments: dict, message: str) -> None:
    values = {"n_3b": 10, "n_4b": 10, "signal_ratio": 0.1} | arguments
    with pytest.raises(ValueError, match=message):
        simulate_samples(**values, seed=0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BackgroundModel(mass_exponent=1.0), "mass_exponent is 1.0"),
        (lambda: BackgroundModel(production_anisotropy=1.0), "production_anisotropy"),
        (lambda: BackgroundModel(parent_share_alpha=(1.0, 0.0, 1.0)), "parent_share"),
        (lambda: SignalModel(parent_masses=(200.0, 125.0)), "at least the sum"),
        (lambda: SignalModel(resonance_mass=200.0), "lowest X mass is 200.0"),
        (lambda: DetectorModel(b_response=0.0), "b_response is 0.0"),
        (lambda: DetectorModel(neutrino_probability=1.2), "neutrino_probability"),
        (lambda: ThreeTagModel(n_light_jets=5), "n_light_jets is 5"),
    ],
)
def test_bad_models_raise(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_negative_count_raises() -> None:
    with pytest.raises(ValueError, match="n is -3"):
        simulate_signal(-3, seed=0)


def test_detector_switches_change_output() -> None:
    # Without the neutrino loss the signal's dijet masses sit higher.
    plain = DetectorModel(neutrino_probability=0.0)
    default = simulate_signal(4000, seed=8)
    no_neutrino = simulate_signal(4000, seed=8, detector=plain)
    median_default = np.nanmedian(baseline_selection(default).m_subl)
    median_plain = np.nanmedian(baseline_selection(no_neutrino).m_subl)
    assert median_plain > median_default
    assert dataclasses.replace(plain, neutrino_probability=0.2) == DetectorModel()
