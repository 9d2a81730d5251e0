"""Tests of the HH -> 4b simulator: selection, seeding, physics and mixing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import integrate, stats

from srlib.baseline import baseline_selection
from srlib.events import Events
from srlib.kinematics import four_jet_mass
from srlib.simulation import (
    BackgroundModel,
    DetectorModel,
    SignalModel,
    ThreeTagModel,
    _background_process,
    _FourVector,
    _generate_selected,
    _generate_selected_reference,
    _measured_pt,
    _min_true_pt,
    _pair_can_pass,
    _sample_cos_theta,
    _signal_process,
    _simulate_selected,
    _two_body_decay,
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


# The staged sampler (`_generate_selected`) must select events with the same
# distribution as the plain generate-and-select reference. Its early rejections
# rest on three bounds, tested first, then the two samplers are compared.


def test_min_true_pt_bounds_passing_jets() -> None:
    detector = DetectorModel()
    rng = np.random.default_rng(31)
    n = 200_000
    response = rng.uniform(0.5, 1.1, n)
    # Noise up to z = 25 reaches a <= 0 (z C >= 1) and c_0 < 0 (z N > L).
    pt_noise = np.concatenate([rng.standard_normal(n - 1000), rng.uniform(5, 25, 1000)])
    true_pt = rng.uniform(0.0, 120.0, n)
    min_pt = _min_true_pt(response, pt_noise, detector)
    passes = _measured_pt(true_pt, response, pt_noise, detector) > detector.pt_min
    assert passes.any()
    assert np.all(true_pt[passes] > min_pt[passes])


def test_min_true_pt_is_the_threshold() -> None:
    # Where z > 0 the bound is the exact threshold: just above it a jet passes,
    # just below it fails.
    detector = DetectorModel()
    rng = np.random.default_rng(32)
    response = rng.uniform(0.5, 1.1, 10_000)
    pt_noise = rng.uniform(0.01, 4.0, 10_000)
    min_pt = _min_true_pt(response, pt_noise, detector)
    above = _measured_pt(min_pt * (1 + 1e-6), response, pt_noise, detector)
    below = _measured_pt(min_pt * (1 - 1e-6), response, pt_noise, detector)
    assert np.all(above > detector.pt_min)
    assert np.all(below < detector.pt_min)
    # Where z <= 0 a jet needs raw pT above pt_min / calibration.
    level = detector.pt_min / detector.jet_calibration
    bound = _min_true_pt(np.array([0.93]), np.array([-1.0]), detector)
    assert bound[0] == pytest.approx(level / 0.93, rel=1e-8)


def _random_parents(n: int, rng: np.random.Generator) -> tuple[_FourVector, np.ndarray]:
    mass = rng.uniform(20.0, 300.0, n)
    px, py = rng.normal(0.0, 80.0, (2, n))
    pz = rng.normal(0.0, 400.0, n)
    energy = np.sqrt(mass**2 + px**2 + py**2 + pz**2)
    return _FourVector(energy, px, py, pz), mass


def test_pair_pt_sum_below_transverse_mass() -> None:
    rng = np.random.default_rng(33)
    n = 200_000
    parent, mass = _random_parents(n, rng)
    shares = rng.dirichlet((1.0, 1.0, 1.0), n) * 0.9
    cos_theta = rng.uniform(-1.0, 1.0, n)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    jet_1, jet_2 = _two_body_decay(
        parent, mass, shares[:, 0] * mass, shares[:, 1] * mass, cos_theta, azimuth
    )
    pt_sum = np.hypot(jet_1.px, jet_1.py) + np.hypot(jet_2.px, jet_2.py)
    transverse_mass = np.sqrt(mass**2 + parent.px**2 + parent.py**2)
    assert np.all(pt_sum <= transverse_mass * (1 + 1e-12))
    # Jets in the transverse plane come close to the bound.
    assert np.max(pt_sum / transverse_mass) > 0.999

    # Minimum pT just below the jets' own pT must never be rejected, and a sum
    # above the transverse mass always.
    own_pt = np.stack([np.hypot(jet_1.px, jet_1.py), np.hypot(jet_2.px, jet_2.py)], 1)
    assert _pair_can_pass(parent, mass, own_pt * (1 - 1e-12)).all()
    above = np.stack([transverse_mass, transverse_mass], axis=1) * 0.501
    assert not _pair_can_pass(parent, mass, above).any()


def test_massive_pt_below_massless_bound() -> None:
    # A jet of massless-decay pT p_0 and mass m_j has a massive-decay pT of at
    # most p_0 + m_j pT / m at the same angles, the bound of _select_pair.
    rng = np.random.default_rng(34)
    n = 200_000
    parent, mass = _random_parents(n, rng)
    cos_theta = rng.uniform(-1.0, 1.0, n)
    azimuth = rng.uniform(-np.pi, np.pi, n)
    zeros = np.zeros(n)
    massless = _two_body_decay(parent, mass, zeros, zeros, cos_theta, azimuth)
    shares = rng.dirichlet((1.0, 1.0, 1.0), n) * 0.9
    masses = (shares[:, 0] * mass, shares[:, 1] * mass)
    massive = _two_body_decay(parent, mass, *masses, cos_theta, azimuth)
    parent_pt = np.hypot(parent.px, parent.py)
    for light, heavy, jet_mass in zip(massless, massive, masses, strict=True):
        bound = np.hypot(light.px, light.py) + jet_mass * parent_pt / mass
        assert np.all(np.hypot(heavy.px, heavy.py) <= bound * (1 + 1e-9))


def _observables(events: Events) -> dict[str, np.ndarray]:
    selection = baseline_selection(events)
    return {
        "m_4j": four_jet_mass(events),
        "leading pT": events.pt[:, 0],
        "fourth pT": events.pt[:, 3],
        "leading eta": events.eta[:, 0],
        "m_lead": selection.m_lead[np.isfinite(selection.m_lead)],
        "m_subl": selection.m_subl[np.isfinite(selection.m_subl)],
    }


THREE_B = ThreeTagModel()
ODD_DETECTOR = DetectorModel(
    pt_min=30.0,
    eta_max=2.0,
    resolution_noise=8.0,
    light_response=0.97,
    light_mass_scale=1.5,
    neutrino_probability=0.5,
)


@pytest.mark.parametrize(
    ("process", "detector"),
    [
        (_signal_process(SignalModel()), DetectorModel()),
        (_background_process(BackgroundModel(), 0), DetectorModel()),
        (_background_process(THREE_B.apply(BackgroundModel()), 1), DetectorModel()),
        (_background_process(BackgroundModel(), 2), ODD_DETECTOR),
        (_signal_process(SignalModel(parent_masses=(125.0, 91.1876))), ODD_DETECTOR),
    ],
    ids=["signal", "4b", "3b", "2 light jets odd detector", "ZH odd detector"],
)
def test_staged_sampler_matches_reference(process, detector: DetectorModel) -> None:
    # Two-sample Kolmogorov-Smirnov tests of 30 000 events from each sampler,
    # at fixed seeds. With 6 observables in each of 5 cases, a level of 1e-3
    # per test bounds the chance that equal distributions fail anywhere by 3 %
    # (Bonferroni). At that level and n = m = 30 000 the test notices a
    # difference of the CDFs of about 1.95 sqrt(2 / 30 000) = 0.016.
    n = 30_000
    fast = _simulate_selected(
        n, process, detector, np.random.default_rng(41), False, "fast"
    )
    reference = _simulate_selected(
        n,
        process,
        detector,
        np.random.default_rng(42),
        False,
        "reference",
        generate=_generate_selected_reference,
    )
    assert fast.pt.min() > detector.pt_min
    assert np.abs(fast.eta).max() < detector.eta_max
    fast_values, reference_values = _observables(fast), _observables(reference)
    for name, values in fast_values.items():
        p_value = stats.ks_2samp(values, reference_values[name]).pvalue
        assert p_value > 1e-3, f"{name}: KS p-value {p_value:.2e}"


def test_staged_sampler_keeps_acceptance() -> None:
    # The share of generated events that pass is a property of the model, so
    # both samplers must agree on it. With 2^18 generated events and an
    # acceptance near 0.054, each count has binomial sd sqrt(n p (1 - p)) = 116,
    # and their difference sd 164, so 820 is five sd.
    process = _background_process(BackgroundModel(), 0)
    detector = DetectorModel()
    n = 1 << 18
    fast = _generate_selected(n, process, detector, np.random.default_rng(43))
    reference = _generate_selected_reference(
        n, process, detector, np.random.default_rng(44)
    )
    assert fast.shape[1:] == (4, 4)
    assert abs(len(fast) - len(reference)) < 820
    assert 0.045 < len(reference) / n < 0.065


@pytest.mark.parametrize("pt_min", [0.0, 120.0])
def test_staged_sampler_extreme_thresholds(pt_min: float) -> None:
    # No threshold makes every bound trivial, and a high one rejects nearly
    # every event at the first stage, so whole batches come out empty.
    detector = DetectorModel(pt_min=pt_min)
    events = simulate_background_4b(200, seed=45, detector=detector)
    assert len(events) == 200
    assert events.pt.min() > pt_min
    assert np.abs(events.eta).max() < detector.eta_max
