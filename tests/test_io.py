"""Tests of the readers and writers: round trips, input layouts and bad files."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import pytest
import uproot

from srlib.events import Events, jet_column_names
from srlib.io import (
    read_events,
    read_hdf5,
    read_parquet,
    read_root,
    write_events,
    write_hdf5,
    write_root,
)
from srlib.simulation import simulate_samples


@pytest.fixture(scope="module")
def sample() -> Events:
    """A labelled 4b mixture of 300 events with weights n_3b / n_4b = 4 / 3."""
    _, mixture = simulate_samples(400, 300, 0.2, seed=7)
    return mixture


def write_tree(path: Path, branches: dict, tree: str = "Events") -> Path:
    """Write numpy and awkward arrays as branches of a TTree with uproot."""
    types = {
        name: values.dtype if isinstance(values, np.ndarray) else values.type.content
        for name, values in branches.items()
    }
    with uproot.recreate(path) as file:
        # mktree makes a TTree. Assigning a dict to file[tree] would write an
        # RNTuple in uproot 5.7, which test_rntuple_is_read covers.
        file.mktree(tree, types)
        file[tree].extend(branches)
    return path


def jagged_jets(
    events: Events, rng: np.random.Generator, n_short: int = 0
) -> tuple[dict[str, ak.Array], np.ndarray]:
    """Build a jagged collection from four-jet events by adding soft extra jets.

    Each event gets 0 to 3 extra jets with pT in [20, 35) GeV, below every
    selected jet, and the jets of an event are shuffled. The first ``n_short``
    events get no extra jets and lose their leading jet, so they keep 3 jets.
    Every jet gets a b-tag score, in [0.5, 1) for the four original jets and
    [0, 0.2) for the extras.

    Returns:
        Map from field (pt, eta, phi, mass, energy, btag) to an awkward array of
        shape (events, var), and the boolean mask of events with four jets.
    """
    n_events = len(events)
    n_extra = rng.integers(0, 4, n_events)
    n_extra[:n_short] = 0
    rows = []
    for index in range(n_events):
        original = events.jets[index]  # (4, 4)
        extra = np.column_stack(
            [
                rng.uniform(20.0, 35.0, n_extra[index]),
                rng.uniform(-2.4, 2.4, n_extra[index]),
                rng.uniform(-np.pi, np.pi, n_extra[index]),
                rng.uniform(3.0, 6.0, n_extra[index]),
            ]
        )
        btag = np.concatenate(
            [rng.uniform(0.5, 1.0, 4), rng.uniform(0.0, 0.2, n_extra[index])]
        )
        jets = np.column_stack([np.vstack([original, extra]), btag])  # (4 + k, 5)
        if index < n_short:
            jets = jets[1:]
        rows.append(jets[rng.permutation(len(jets))])

    counts = np.array([len(row) for row in rows])
    flat = np.vstack(rows)  # (total jets, 5)
    pt, eta, mass = flat[:, 0], flat[:, 1], flat[:, 3]
    columns = {
        "pt": pt,
        "eta": eta,
        "phi": flat[:, 2],
        "mass": mass,
        "energy": np.sqrt(mass**2 + (pt * np.cosh(eta)) ** 2),
        "btag": flat[:, 4],
    }
    jagged = {
        name: ak.unflatten(np.ascontiguousarray(values), counts)
        for name, values in columns.items()
    }
    return jagged, np.arange(n_events) >= n_short


def assert_one_sentence(message: str) -> None:
    """Check that an error message is one line and one sentence."""
    assert "\n" not in message
    assert message.endswith(".")
    # A new sentence would start after a full stop and a space with a capital.
    assert not re.search(r"\.\s+[A-Z]", message[:-1]), message


# --------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".root", {}),
        (".root", {"layout": "jagged"}),
        (".h5", {}),
        (".h5", {"compression": None}),
        (".parquet", {}),
    ],
    ids=["root-flat", "root-jagged", "hdf5-gzip", "hdf5-plain", "parquet"],
)
def test_round_trip_is_identical(
    sample: Events, tmp_path: Path, suffix: str, options: dict
) -> None:
    path = write_events(sample, tmp_path / f"sample{suffix}", **options)
    back = read_events(path)
    np.testing.assert_array_equal(back.jets, sample.jets)
    np.testing.assert_array_equal(back.weights, sample.weights)
    np.testing.assert_array_equal(back.is_signal, sample.is_signal)
    assert back.weights[0] == pytest.approx(4.0 / 3.0)
    assert 0 < back.is_signal.sum() < len(back)


@pytest.mark.parametrize("suffix", [".root", ".h5", ".parquet"])
def test_round_trip_without_labels(sample: Events, tmp_path: Path, suffix: str) -> None:
    data = sample.without_labels()
    back = read_events(write_events(data, tmp_path / f"data{suffix}"))
    assert back.is_signal is None
    np.testing.assert_array_equal(back.jets, data.jets)


def test_array_inputs_match_events(sample: Events) -> None:
    flat = Events.from_array(sample.features)  # (N, 16)
    nested = Events.from_array(sample.features.reshape(-1, 4, 4))
    np.testing.assert_array_equal(flat.jets, sample.jets)
    np.testing.assert_array_equal(nested.jets, sample.jets)


def test_frame_and_mapping_inputs(sample: Events) -> None:
    frame = sample.to_frame()
    back = Events.from_frame(frame, weight_column="weight", label_column="is_signal")
    np.testing.assert_array_equal(back.jets, sample.jets)
    np.testing.assert_array_equal(back.weights, sample.weights)
    np.testing.assert_array_equal(back.is_signal, sample.is_signal)

    # A mapping with energy columns canJet{i}_e instead of masses.
    mapping = {}
    for i, (pt, eta, phi, energy) in enumerate(jet_column_names(energy=True)):
        jet = sample.jets[:, i]
        mapping[pt], mapping[eta], mapping[phi] = jet[:, 0], jet[:, 1], jet[:, 2]
        mapping[energy] = np.sqrt(
            jet[:, 3] ** 2 + (jet[:, 0] * np.cosh(jet[:, 1])) ** 2
        )
    from_energy = Events.from_frame(mapping)
    np.testing.assert_array_equal(from_energy.jets[:, :, :3], sample.jets[:, :, :3])
    # E carries a rounding of about 1e-16 E into m^2 = (E - p)(E + p), so m^2 has
    # a relative error near 2e-16 (E / m)^2. The smallest m / E here is about
    # 0.05 / cosh(2.5) ~ 0.008, which gives 4e-12 on m^2 and 2e-12 on m.
    np.testing.assert_allclose(from_energy.m, sample.m, rtol=1e-9)


def test_flat_energy_columns_in_root_and_parquet(
    sample: Events, tmp_path: Path
) -> None:
    columns = {}
    for i, (pt, eta, phi, energy) in enumerate(jet_column_names(energy=True)):
        jet = sample.jets[:, i]
        columns[pt], columns[eta], columns[phi] = jet[:, 0], jet[:, 1], jet[:, 2]
        columns[energy] = np.sqrt(
            jet[:, 3] ** 2 + (jet[:, 0] * np.cosh(jet[:, 1])) ** 2
        )
    root_path = write_tree(tmp_path / "flat_e.root", columns)
    parquet_path = tmp_path / "flat_e.parquet"
    pd.DataFrame(columns).to_parquet(parquet_path)
    for back in (read_root(root_path), read_parquet(parquet_path)):
        # Same bound as for the mapping with energies above.
        np.testing.assert_allclose(back.m, sample.m, rtol=1e-9)
        assert back.is_signal is None
        np.testing.assert_array_equal(back.weights, 1.0)


# --------------------------------------------------------------------------
# Jagged collections


# Branch names of NanoAOD, Delphes and a MadGraph-like ntuple with energies.
NAMING_SCHEMES = {
    "nanoaod": (
        "Jet_",
        {"pt": "Jet_pt", "eta": "Jet_eta", "phi": "Jet_phi", "mass": "Jet_mass"},
    ),
    "delphes": (
        "Jet.",
        {"pt": "Jet.PT", "eta": "Jet.Eta", "phi": "Jet.Phi", "mass": "Jet.Mass"},
    ),
    "madgraph": (
        "jet",
        {"pt": "jetPt", "eta": "jetEta", "phi": "jetPhi", "energy": "jetE"},
    ),
}


@pytest.mark.parametrize("scheme", NAMING_SCHEMES)
@pytest.mark.parametrize("explicit_prefix", [True, False])
def test_jagged_prefixes(
    sample: Events,
    tmp_path: Path,
    rng: np.random.Generator,
    caplog: pytest.LogCaptureFixture,
    scheme: str,
    explicit_prefix: bool,
) -> None:
    prefix, names = NAMING_SCHEMES[scheme]
    jagged, kept = jagged_jets(sample, rng, n_short=5)
    branches = {name: jagged[field] for field, name in names.items()}
    branches["weight"] = np.asarray(sample.weights)
    path = write_tree(tmp_path / f"{scheme}.root", branches)

    with caplog.at_level(logging.INFO, logger="srlib.io"):
        back = read_root(path, prefix=prefix if explicit_prefix else None)

    assert len(back) == len(sample) - 5
    assert f"Skipped 5 of {len(sample)} events in ROOT file {path}" in caplog.text
    np.testing.assert_array_equal(back.jets[:, :, :3], sample.jets[kept, :, :3])
    np.testing.assert_array_equal(back.weights, sample.weights[kept])
    if "mass" in names:
        np.testing.assert_array_equal(back.m, sample.m[kept])
    else:
        # The bound derived in test_frame_and_mapping_inputs.
        np.testing.assert_allclose(back.m, sample.m[kept], rtol=1e-9)


def test_prefix_without_separator(sample: Events, tmp_path: Path, rng) -> None:
    jagged, _ = jagged_jets(sample, rng)
    branches = {f"jet_{field}": jagged[field] for field in ("pt", "eta", "phi")}
    branches["jet_e"] = jagged["energy"]
    path = write_tree(tmp_path / "jet_underscore.root", branches)
    back = read_root(path, prefix="jet")
    np.testing.assert_array_equal(back.jets[:, :, :3], sample.jets[:, :, :3])


def test_max_events_limits_entries(sample: Events, tmp_path: Path) -> None:
    path = write_events(sample, tmp_path / "sample.root")
    back = read_root(path, max_events=25)
    np.testing.assert_array_equal(back.jets, sample.jets[:25])
    np.testing.assert_array_equal(back.is_signal, sample.is_signal[:25])


def test_jagged_parquet(sample: Events, tmp_path: Path, rng) -> None:
    jagged, kept = jagged_jets(sample, rng, n_short=3)
    table = ak.to_arrow_table(
        ak.zip(
            {f"Jet_{field}": jagged[field] for field in ("pt", "eta", "phi", "mass")},
            depth_limit=1,
        )
    )
    path = tmp_path / "jagged.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table, path)
    back = read_parquet(path)
    np.testing.assert_array_equal(back.jets, sample.jets[kept])


def test_btag_selects_four_jets(sample: Events, tmp_path: Path, rng) -> None:
    jagged, _ = jagged_jets(sample, rng)
    # Make the untagged extra jets the hardest ones, so that the four leading
    # jets and the four best-tagged jets differ.
    extra = jagged["btag"] < 0.2
    hard_pt = ak.where(extra, jagged["pt"] + 500.0, jagged["pt"])
    branches = {
        "Jet_pt": hard_pt,
        "Jet_eta": jagged["eta"],
        "Jet_phi": jagged["phi"],
        "Jet_mass": jagged["mass"],
        "Jet_btagDeepFlavB": jagged["btag"],
    }
    path = write_tree(tmp_path / "btag.root", branches)

    tagged = read_root(path, btag="btagDeepFlavB")
    np.testing.assert_array_equal(tagged.jets, sample.jets)
    by_full_name = read_root(path, btag="Jet_btagDeepFlavB")
    np.testing.assert_array_equal(by_full_name.jets, sample.jets)

    leading = read_root(path)
    has_extra = np.asarray(ak.any(extra, axis=1))
    assert has_extra.any()
    assert np.all(leading.pt[has_extra, 0] > 500.0)
    np.testing.assert_array_equal(leading.jets[~has_extra], sample.jets[~has_extra])


def test_fields_argument_names_branches(sample: Events, tmp_path: Path, rng) -> None:
    jagged, _ = jagged_jets(sample, rng)
    branches = {
        "j_transverse": jagged["pt"],
        "j_rapidity": jagged["eta"],
        "j_azimuth": jagged["phi"],
        "j_m": jagged["mass"],
    }
    path = write_tree(tmp_path / "custom.root", branches)
    fields = {"pt": "j_transverse", "eta": "j_rapidity", "phi": "j_azimuth"}
    back = read_root(path, prefix="j_", fields={**fields, "m": "j_m"})
    np.testing.assert_array_equal(back.jets, sample.jets)
    with pytest.raises(ValueError, match="must name the columns of pt"):
        read_root(path, prefix="j_", fields=fields)


def test_mev_input_warns(sample: Events, tmp_path: Path, rng) -> None:
    jagged, _ = jagged_jets(sample, rng)
    branches = {
        "Jet_pt": jagged["pt"] * 1000.0,
        "Jet_eta": jagged["eta"],
        "Jet_phi": jagged["phi"],
        "Jet_mass": jagged["mass"] * 1000.0,
    }
    path = write_tree(tmp_path / "mev.root", branches)
    with pytest.warns(UserWarning, match="looks like MeV"):
        read_root(path)

    flat = sample.to_frame()
    for column in flat.columns:
        if column.endswith(("_pt", "_m")):
            flat[column] *= 1000.0
    parquet_path = tmp_path / "mev.parquet"
    flat.to_parquet(parquet_path)
    with pytest.warns(UserWarning, match="mev.parquet has median jet pT"):
        read_parquet(parquet_path)


def test_phi_zero_to_two_pi_is_wrapped(sample: Events, tmp_path: Path, rng) -> None:
    jagged, _ = jagged_jets(sample, rng)
    phi_positive = jagged["phi"] % (2.0 * np.pi)
    assert ak.max(phi_positive) > np.pi
    branches = {
        "Jet_pt": jagged["pt"],
        "Jet_eta": jagged["eta"],
        "Jet_phi": phi_positive,
        "Jet_mass": jagged["mass"],
    }
    back = read_root(write_tree(tmp_path / "phi.root", branches))
    assert np.all(back.phi >= -np.pi)
    assert np.all(back.phi < np.pi)
    # phi + 2 pi and back loses at most a few ulps of 2 pi, about 1e-15.
    np.testing.assert_allclose(back.phi, sample.phi, rtol=0, atol=1e-14)

    flat = sample.to_frame()
    for i in range(4):
        flat[f"canJet{i}_phi"] %= 2.0 * np.pi
    np.testing.assert_allclose(
        Events.from_frame(flat).phi, sample.phi, rtol=0, atol=1e-14
    )


def test_mass_from_energy_clips_rounding(tmp_path: Path, rng) -> None:
    # Massless float32 jets, as NanoAOD-like files store them: E = p rounded to
    # float32, so m^2 = (E - p)(E + p) computed from the float32 values is
    # negative for about half of the jets.
    n_events = 200
    pt = rng.uniform(40.0, 300.0, (n_events, 5)).astype(np.float32)
    eta = rng.uniform(-2.5, 2.5, (n_events, 5)).astype(np.float32)
    phi = rng.uniform(-np.pi, np.pi, (n_events, 5)).astype(np.float32)
    momentum = pt.astype(np.float64) * np.cosh(eta.astype(np.float64))
    energy = momentum.astype(np.float32)
    mass_squared = (energy - momentum) * (energy + momentum)
    assert (mass_squared < 0).sum() > 100

    branches = {
        name: ak.Array(list(values))
        for name, values in (
            ("jet_pt", pt),
            ("jet_eta", eta),
            ("jet_phi", phi),
            ("jet_e", energy),
        )
    }
    back = read_root(write_tree(tmp_path / "massless.root", branches))
    assert np.isfinite(back.m).all()
    assert (back.m == 0.0).sum() > 100
    # float32 rounds E by at most 6e-8 E, so m <= sqrt(2 * 6e-8) E ~ 3.5e-4 E.
    kept_energy = back.pt * np.cosh(back.eta)
    assert np.all(back.m <= 3.5e-4 * kept_energy)


# --------------------------------------------------------------------------
# Bad input


def nanoaod_branches(sample: Events, rng: np.random.Generator) -> dict:
    jagged, _ = jagged_jets(sample, rng)
    return {
        "Jet_pt": jagged["pt"],
        "Jet_eta": jagged["eta"],
        "Jet_phi": jagged["phi"],
        "Jet_mass": jagged["mass"],
    }


def set_value(array: ak.Array, event: int, jet: int, value: float) -> ak.Array:
    """Return a copy of a jagged array with one value replaced."""
    values = ak.to_list(array)
    values[event][jet] = value
    return ak.Array(values)


@pytest.mark.parametrize(
    ("branch", "value", "problem"),
    [
        ("Jet_pt", np.nan, "NaN or inf"),
        ("Jet_eta", np.inf, "NaN or inf"),
        ("Jet_mass", -np.inf, "NaN or inf"),
        ("Jet_pt", -50.0, "a negative value"),
        ("Jet_mass", -1.0, "a negative value"),
        ("Jet_eta", 5.5, r"\|eta\| > 5"),
        ("Jet_phi", 7.0, r"\|phi\| > 2 pi"),
        ("Jet_phi", -6.5, r"\|phi\| > 2 pi"),
    ],
)
def test_bad_values_name_file_and_branch(
    sample: Events, tmp_path: Path, rng, branch: str, value: float, problem: str
) -> None:
    branches = nanoaod_branches(sample, rng)
    # Put the bad value on the hardest jet of event 3, which the reader keeps.
    hardest = int(np.argmax(ak.to_numpy(branches["Jet_pt"][3])))
    branches[branch] = set_value(branches[branch], 3, hardest, value)
    path = write_tree(tmp_path / "bad.root", branches)
    with pytest.raises(
        ValueError, match=f"{re.escape(str(path))}.*'{branch}'.*{problem}"
    ) as error:
        read_root(path)
    assert_one_sentence(str(error.value))


def test_bad_value_on_dropped_jet_is_reported(
    sample: Events, tmp_path: Path, rng
) -> None:
    # A NaN on a jet that the reader would not keep still raises, because a
    # NaN pT would otherwise change which jets are kept without a message.
    branches = nanoaod_branches(sample, rng)
    softest = int(np.argmin(ak.to_numpy(branches["Jet_pt"][3])))
    branches["Jet_eta"] = set_value(branches["Jet_eta"], 3, softest, np.nan)
    path = write_tree(tmp_path / "nan_soft.root", branches)
    with pytest.raises(ValueError, match="'Jet_eta' has NaN or inf") as error:
        read_root(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_missing_branch_raises(sample: Events, tmp_path: Path, rng) -> None:
    branches = nanoaod_branches(sample, rng)
    del branches["Jet_eta"]
    path = write_tree(tmp_path / "no_eta.root", branches)
    with pytest.raises(ValueError, match="missing the jet columns") as error:
        read_root(path)
    assert str(path) in str(error.value)
    assert "Jet_eta" in str(error.value)
    assert_one_sentence(str(error.value))

    with pytest.raises(ValueError, match="no b-tag column 'btagDeepFlavB'") as error:
        read_root(
            write_tree(tmp_path / "no_tag.root", nanoaod_branches(sample, rng)),
            btag="btagDeepFlavB",
        )
    assert_one_sentence(str(error.value))


def test_missing_flat_column_raises(sample: Events, tmp_path: Path) -> None:
    frame = sample.to_frame().drop(columns=["canJet2_phi"])
    path = tmp_path / "no_phi.parquet"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match=r"missing columns \['canJet2_phi'\]") as error:
        read_parquet(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_missing_named_weight_raises(sample: Events, tmp_path: Path) -> None:
    path = write_events(sample, tmp_path / "sample.root")
    with pytest.raises(ValueError, match="no column 'genWeight'") as error:
        read_root(path, weight="genWeight")
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_unequal_branch_lengths_raise(sample: Events, tmp_path: Path, rng) -> None:
    branches = nanoaod_branches(sample, rng)
    values = ak.to_list(branches["Jet_eta"])
    values[2] = values[2][:-1]
    branches["Jet_eta"] = ak.Array(values)
    path = write_tree(tmp_path / "ragged.root", branches)
    with pytest.raises(ValueError, match="different number of jets") as error:
        read_root(path)
    message = str(error.value)
    assert str(path) in message
    assert "'Jet_eta'" in message
    assert "first event 2" in message
    assert_one_sentence(message)


def test_scalar_branch_for_collection_raises(sample: Events, tmp_path: Path, rng):
    branches = nanoaod_branches(sample, rng)
    branches["Jet_phi"] = np.zeros(len(sample))
    path = write_tree(tmp_path / "scalar.root", branches)
    with pytest.raises(ValueError, match="'Jet_phi'") as error:
        read_root(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("shape", [(10, 4, 3), (10, 12), (10,)])
def test_wrong_hdf5_shape_raises(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "shape.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("jets", data=np.ones(shape))
    with pytest.raises(ValueError, match="shape") as error:
        read_hdf5(path)
    assert str(path) in str(error.value)
    assert "'jets'" in str(error.value)
    assert_one_sentence(str(error.value))


def test_wrong_weight_length_raises(sample: Events, tmp_path: Path) -> None:
    path = write_hdf5(sample, tmp_path / "sample.h5")
    with h5py.File(path, "a") as file:
        del file["weights"]
        file.create_dataset("weights", data=np.ones(len(sample) - 1))
    with pytest.raises(ValueError, match="'weights'") as error:
        read_hdf5(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_nan_weight_raises(sample: Events, tmp_path: Path) -> None:
    frame = sample.to_frame()
    frame.loc[7, "weight"] = np.nan
    path = tmp_path / "nan_weight.parquet"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match="'weight' contains NaN or inf") as error:
        read_parquet(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("suffix", [".root", ".h5", ".parquet"])
def test_empty_file_raises(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.touch()
    with pytest.raises(ValueError, match="is empty") as error:
        read_events(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("suffix", [".root", ".h5", ".parquet"])
def test_file_without_events_raises(
    sample: Events, tmp_path: Path, suffix: str
) -> None:
    path = write_events(sample.subset(slice(0, 0)), tmp_path / f"none{suffix}")
    with pytest.raises(ValueError, match="contains no events") as error:
        read_events(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_all_events_skipped_raises(tmp_path: Path) -> None:
    three = ak.Array([[80.0, 60.0, 50.0], [70.0, 45.0]])
    branches = {
        "Jet_pt": three,
        "Jet_eta": three * 0.0,
        "Jet_phi": three * 0.0,
        "Jet_mass": three * 0.1,
    }
    path = write_tree(tmp_path / "three_jets.root", branches)
    with pytest.raises(ValueError, match="no event with at least 4 jets") as error:
        read_root(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("suffix", [".root", ".h5", ".parquet"])
def test_corrupt_file_raises(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(b"this is not an events file\n" * 40)
    with pytest.raises(ValueError, match="could not be read") as error:
        read_events(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("suffix", [".root", ".h5", ".parquet"])
def test_truncated_file_raises(sample: Events, tmp_path: Path, suffix: str) -> None:
    complete = write_events(sample, tmp_path / f"complete{suffix}")
    data = complete.read_bytes()
    path = tmp_path / f"truncated{suffix}"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="could not be read") as error:
        read_events(path)
    assert str(path) in str(error.value)
    assert_one_sentence(str(error.value))


def test_max_events_below_one_raises(sample: Events, tmp_path: Path) -> None:
    # uproot reads entry_stop=-1 as "all but the last entry", so a negative
    # value would silently drop events.
    path = write_events(sample, tmp_path / "sample.root")
    for bad in (-1, 0, 2.5):
        with pytest.raises(ValueError, match="max_events must be a positive") as error:
            read_root(path, max_events=bad)
        assert_one_sentence(str(error.value))


@pytest.mark.parametrize("layout", ["flat", "jagged"])
def test_rntuple_is_read(sample: Events, tmp_path: Path, rng, layout: str) -> None:
    # Assigning a dict to file[name] writes an RNTuple in uproot 5.7, which is
    # how a user who does not call mktree writes a file.
    path = tmp_path / "sample.root"
    if layout == "flat":
        branches = {name: np.asarray(v) for name, v in sample.to_frame().items()}
        branches["weight"] = sample.weights
    else:
        branches = {
            f"Jet_{field}": ak.Array(sample.jets[:, :, index])
            for index, field in enumerate(("pt", "eta", "phi", "mass"))
        }
    with uproot.recreate(path) as file:
        file["Events"] = branches
    assert uproot.open(path).classnames()["Events;1"] == "ROOT::RNTuple"
    back = read_root(path)
    np.testing.assert_array_equal(back.jets, sample.jets)
    if layout == "flat":
        np.testing.assert_array_equal(back.weights, sample.weights)
    np.testing.assert_array_equal(read_root(path, max_events=7).jets, sample.jets[:7])


def test_tree_choice(sample: Events, tmp_path: Path, rng) -> None:
    path = tmp_path / "two_trees.root"
    columns = {name: np.asarray(values) for name, values in sample.to_frame().items()}
    with uproot.recreate(path) as file:
        for tree in ("first", "second"):
            file.mktree(tree, {name: values.dtype for name, values in columns.items()})
            file[tree].extend(columns)
    with pytest.raises(ValueError, match="pass tree=") as error:
        read_root(path)
    assert_one_sentence(str(error.value))
    np.testing.assert_array_equal(read_root(path, tree="second").jets, sample.jets)
    with pytest.raises(ValueError, match="no TTree 'third'"):
        read_root(path, tree="third")


def test_unknown_suffix_raises(sample: Events, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suffix '.csv'"):
        write_events(sample, tmp_path / "sample.csv")
    with pytest.raises(ValueError, match="layout is 'wide'"):
        write_root(sample, tmp_path / "sample.root", layout="wide")
