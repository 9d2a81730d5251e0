"""Tests of the Events model: conversion, validation, sorting and helpers."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from srlib.events import (
    Events,
    check_jet_values,
    concatenate_events,
    jet_column_names,
    warn_if_mev,
)


@pytest.fixture
def jets(rng: np.random.Generator) -> np.ndarray:
    """Fifty events of four jets in random pT order, phi in [-pi, pi)."""
    n = 50
    values = np.empty((n, 4, 4))
    values[:, :, 0] = rng.uniform(40.0, 300.0, (n, 4))
    values[:, :, 1] = rng.uniform(-2.5, 2.5, (n, 4))
    values[:, :, 2] = rng.uniform(-np.pi, np.pi, (n, 4))
    values[:, :, 3] = rng.uniform(2.0, 30.0, (n, 4))
    return values


def test_construction_sorts_jets_by_pt(jets: np.ndarray) -> None:
    events = Events(jets)
    assert len(events) == 50
    assert np.all(np.diff(events.pt, axis=1) <= 0)
    # Sorting moves whole jets: the multiset of (pt, eta, phi, m) rows is kept.
    original = np.sort(jets.reshape(-1, 4), axis=0)
    stored = np.sort(events.jets.reshape(-1, 4), axis=0)
    np.testing.assert_array_equal(original, stored)


def test_default_weights_are_one(jets: np.ndarray) -> None:
    events = Events(jets)
    np.testing.assert_array_equal(events.weights, np.ones(50))
    assert events.total_weight == 50.0
    assert events.is_signal is None


def test_arrays_are_read_only(jets: np.ndarray) -> None:
    events = Events(jets, np.ones(50), np.zeros(50, dtype=bool))
    with pytest.raises(ValueError, match="read-only"):
        events.jets[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        events.weights[0] = 2.0
    # The input array is copied, so changing it leaves the events alone.
    before = events.jets.copy()
    jets[:] = 0.0
    np.testing.assert_array_equal(events.jets, before)


def test_from_array_flat_equals_nested(jets: np.ndarray) -> None:
    nested = Events.from_array(jets)
    flat = Events.from_array(jets.reshape(50, 16))
    np.testing.assert_array_equal(nested.jets, flat.jets)
    np.testing.assert_array_equal(nested.features, nested.jets.reshape(50, 16))
    assert nested.features[0, 0] == nested.pt[0, 0]
    assert nested.features[0, 4] == nested.pt[0, 1]


def test_phi_zero_to_two_pi_is_wrapped(jets: np.ndarray) -> None:
    shifted = jets.copy()
    shifted[:, :, 2] = np.mod(shifted[:, :, 2], 2 * np.pi)  # [0, 2 pi)
    events = Events.from_array(shifted)
    reference = Events.from_array(jets)
    assert events.phi.min() >= -np.pi
    assert events.phi.max() < np.pi
    np.testing.assert_allclose(events.phi, reference.phi, atol=1e-12)


def test_phi_in_range_is_kept_bit_for_bit(jets: np.ndarray) -> None:
    events = Events(jets)
    again = Events(events.jets)
    np.testing.assert_array_equal(events.jets, again.jets)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (0, np.nan, "'pt' has NaN or inf"),
        (1, np.inf, "'eta' has NaN or inf"),
        (0, -5.0, "'pt' has a negative value"),
        (3, -1.0, "'m' has a negative value"),
        (1, 5.5, r"'eta' has \|eta\| > 5"),
        (2, 7.0, r"'phi' has \|phi\| > 2 pi"),
        (2, -6.5, r"'phi' has \|phi\| > 2 pi"),
    ],
)
def test_bad_values_raise(
    jets: np.ndarray, field: int, value: float, message: str
) -> None:
    jets[7, 2, field] = value
    with pytest.raises(ValueError, match=message) as error:
        Events.from_array(jets, source="my.npy")
    assert "my.npy" in str(error.value)
    assert "event 7" in str(error.value)
    # The value is printed as a plain float, not as numpy's np.float64(...) repr.
    assert f"(first {float(value)!r} in event 7" in str(error.value)


def test_check_uses_source_field_names(jets: np.ndarray) -> None:
    jets[3, 0, 1] = 9.0
    with pytest.raises(ValueError, match="file x.root field 'Jet_eta'"):
        check_jet_values(jets, source="file x.root", field_names={"eta": "Jet_eta"})


@pytest.mark.parametrize("shape", [(10, 4, 3), (10, 15), (10,), (10, 5, 4)])
def test_wrong_shape_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(N, 4, 4\) or \(N, 16\)"):
        Events.from_array(np.ones(shape))


def test_constructor_rejects_flat_shape() -> None:
    with pytest.raises(ValueError, match=r"shape \(10, 16\)"):
        Events(np.ones((10, 16)))


def test_weight_shape_mismatch_raises(jets: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"weights has shape \(49,\)"):
        Events(jets, np.ones(49))


def test_nan_weight_raises(jets: np.ndarray) -> None:
    weights = np.ones(50)
    weights[3] = np.nan
    with pytest.raises(ValueError, match="weights contains NaN"):
        Events(jets, weights)


def test_label_must_be_binary(jets: np.ndarray) -> None:
    with pytest.raises(ValueError, match="is_signal contains values other"):
        Events(jets, None, np.full(50, 2))
    events = Events(jets, None, np.r_[np.ones(25), np.zeros(25)])
    assert events.is_signal.dtype == np.bool_
    assert events.is_signal.sum() == 25


def test_subset_by_mask_and_indices(jets: np.ndarray) -> None:
    labels = np.arange(50) % 2 == 0
    events = Events(jets, np.arange(50.0), labels)
    by_mask = events.subset(labels)
    assert len(by_mask) == 25
    np.testing.assert_array_equal(by_mask.weights, np.arange(0.0, 50.0, 2.0))
    assert by_mask.is_signal.all()

    by_index = events.subset([3, 1])
    np.testing.assert_array_equal(by_index.weights, [3.0, 1.0])
    np.testing.assert_array_equal(by_index.jets[0], events.jets[3])

    by_slice = events.subset(slice(10, 20))
    assert len(by_slice) == 10

    with pytest.raises(ValueError, match=r"mask needs shape \(50,\)"):
        events.subset(np.ones(10, dtype=bool))


def test_with_weights_and_without_labels(jets: np.ndarray) -> None:
    events = Events(jets, None, np.zeros(50, dtype=bool))
    reweighted = events.with_weights(np.full(50, 0.5))
    assert reweighted.total_weight == 25.0
    assert reweighted.is_signal is not None
    assert events.without_labels().is_signal is None


def test_concatenate_keeps_order(jets: np.ndarray) -> None:
    first = Events(jets[:20], np.ones(20), np.zeros(20, dtype=bool))
    second = Events(jets[20:], np.full(30, 2.0), np.ones(30, dtype=bool))
    joined = concatenate_events([first, second])
    assert len(joined) == 50
    np.testing.assert_array_equal(joined.jets[:20], first.jets)
    np.testing.assert_array_equal(joined.jets[20:], second.jets)
    assert joined.total_weight == 80.0
    assert joined.is_signal.sum() == 30


def test_concatenate_mixed_labels_logs(
    jets: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    labelled = Events(jets[:20], None, np.zeros(20, dtype=bool))
    unlabelled = Events(jets[20:])
    with caplog.at_level(logging.INFO, logger="srlib.events"):
        joined = concatenate_events([labelled, unlabelled])
    assert joined.is_signal is None
    assert "Dropping the truth label" in caplog.text


def test_concatenate_empty_raises() -> None:
    with pytest.raises(ValueError, match="samples is empty"):
        concatenate_events([])


def test_frame_round_trip(jets: np.ndarray) -> None:
    events = Events(jets, np.linspace(0.5, 1.5, 50), np.arange(50) < 5)
    frame = events.to_frame()
    assert list(frame.columns[:4]) == [
        "canJet0_pt",
        "canJet0_eta",
        "canJet0_phi",
        "canJet0_m",
    ]
    back = Events.from_frame(frame, weight_column="weight", label_column="is_signal")
    np.testing.assert_array_equal(back.jets, events.jets)
    np.testing.assert_array_equal(back.weights, events.weights)
    np.testing.assert_array_equal(back.is_signal, events.is_signal)


def test_from_mapping_with_energy() -> None:
    # Massless jets: E = pT cosh(eta) exactly up to rounding, so m^2 may come
    # out slightly negative and must be clipped to 0, not NaN.
    pt = np.array([[120.0, 90.0, 60.0, 45.0]])
    eta = np.array([[0.3, -1.7, 2.2, 0.0]])
    phi = np.array([[0.1, 2.0, -2.5, 3.0]])
    columns = {}
    for i, names in enumerate(jet_column_names(energy=True)):
        columns[names[0]] = pt[:, i]
        columns[names[1]] = eta[:, i]
        columns[names[2]] = phi[:, i]
        columns[names[3]] = pt[:, i] * np.cosh(eta[:, i]) * (1 - 1e-16)
    events = Events.from_frame(columns)
    assert np.isfinite(events.m).all()
    np.testing.assert_allclose(events.m, 0.0, atol=1e-5)

    # A 10 GeV mass on the leading jet is recovered from its energy.
    p = 120.0 * np.cosh(0.3)
    columns["canJet0_e"] = np.array([np.sqrt(p**2 + 10.0**2)])
    events = Events.from_frame(columns)
    assert events.m[0, 0] == pytest.approx(10.0, rel=1e-9)


def test_energy_below_momentum_raises() -> None:
    columns = {}
    for names in jet_column_names(energy=True):
        columns[names[0]] = np.array([50.0])
        columns[names[1]] = np.array([0.0])
        columns[names[2]] = np.array([0.0])
        columns[names[3]] = np.array([50.0])
    columns["canJet2_e"] = np.array([40.0])
    with pytest.raises(ValueError, match="canJet2_e has energy below momentum"):
        Events.from_frame(columns, source="table")


def test_from_frame_missing_column_raises(jets: np.ndarray) -> None:
    frame = Events(jets).to_frame().drop(columns=["canJet3_phi"])
    with pytest.raises(ValueError, match=r"missing columns \['canJet3_phi'\]"):
        Events.from_frame(frame)
    with pytest.raises(ValueError, match=r"missing columns \['w'\]"):
        Events.from_frame(Events(jets).to_frame(), weight_column="w")


def test_from_frame_unequal_lengths_raises(jets: np.ndarray) -> None:
    columns = {
        name: values.to_numpy() for name, values in Events(jets).to_frame().items()
    }
    columns["canJet1_eta"] = columns["canJet1_eta"][:-1]
    with pytest.raises(ValueError, match="columns of different lengths"):
        Events.from_frame(columns)


def test_from_frame_names_bad_column(jets: np.ndarray) -> None:
    frame = Events(jets).to_frame()
    frame.loc[4, "canJet1_pt"] = -3.0
    with pytest.raises(ValueError, match=r"sample.csv field 'canJet\{i\}_pt'"):
        Events.from_frame(frame, source="sample.csv")


def test_mev_input_warns(jets: np.ndarray) -> None:
    in_mev = jets.copy()
    in_mev[:, :, 0] *= 1000.0
    in_mev[:, :, 3] *= 1000.0
    with pytest.warns(UserWarning, match="looks like MeV"):
        Events.from_array(in_mev)
    assert warn_if_mev(jets) is False


def test_frame_has_no_label_for_data(jets: np.ndarray) -> None:
    frame = Events(jets).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert "is_signal" not in frame.columns
    assert frame.shape == (50, 17)
