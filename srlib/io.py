"""Read and write four-jet events as ROOT, HDF5 and parquet files.

Readers accept two layouts:

- flat: one column per jet field, ``canJet{i}_{pt,eta,phi,m}`` (or ``_e`` for
  energy) for ``i = 0..3``, as in the ntuples of the CMS HH -> 4b analysis;
- jagged: one variable-length collection per field, such as NanoAOD's
  ``Jet_pt``, Delphes' ``Jet.PT`` or a ``jet_pt`` branch of a MadGraph ntuple.

From a jagged collection the reader keeps the four leading jets, or the four
with the highest b-tag score when a tag branch is named, and sorts them by pT.
Events with fewer than four jets are skipped and counted in an INFO log
message. Every value, including those of jets that are not kept, is checked
as in `srlib.events.check_jet_values`, and errors name the file and the branch.
A file without events, or without any event of four jets, raises.

Writers store float64 jets, the event weights and, for simulated samples, the
truth label, so that a sample reads back bit for bit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from srlib._validation import check_sample_size
from srlib.events import (
    JET_FIELDS,
    MAX_ABS_ETA,
    N_JETS,
    Events,
    check_jet_values,
    invalid_jet_values,
    jet_column_names,
)
from srlib.kinematics import mass_from_energy

logger = logging.getLogger(__name__)

__all__ = [
    "read_events",
    "read_hdf5",
    "read_parquet",
    "read_root",
    "write_events",
    "write_hdf5",
    "write_parquet",
    "write_root",
]

PathLike = str | os.PathLike[str]


def _root_read_errors() -> tuple[type[Exception], ...]:
    """Return the errors that uproot raises on a truncated or corrupt ROOT file.

    uproot is imported here, not at module level, so that importing srlib stays fast.
    """
    import uproot

    return (OSError, ValueError, EOFError, uproot.deserialization.DeserializationError)


#: Prefixes tried, in order, when a reader is given no prefix.
DEFAULT_PREFIXES = ("canJet", "Jet_", "Jet.", "jet_", "Jet", "jet")

#: Field suffixes of a jagged collection, matched case-insensitively. Mass is
#: preferred over energy when both exist.
FIELD_SUFFIXES: dict[str, tuple[str, ...]] = {
    "pt": ("pt",),
    "eta": ("eta",),
    "phi": ("phi",),
    "m": ("mass", "m"),
    "e": ("e", "energy"),
}

#: Default names of the weight and truth-label columns. A reader that finds no
#: column of a default name uses unit weights or no label. A column named
#: explicitly must exist.
DEFAULT_WEIGHT = "weight"
DEFAULT_LABEL = "is_signal"

#: Format tag stored in HDF5 files written by `write_hdf5`.
HDF5_FORMAT = "srlib.events"

ROOT_SUFFIXES = (".root",)
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------
# Layout detection and jagged collections


def _find_layout(
    names: Sequence[str], prefix: str | None, source: str
) -> tuple[str, str]:
    """Find the prefix and layout (``"flat"`` or ``"jagged"``) of jet columns.

    A given prefix without a trailing ``_`` or ``.`` also matches with ``_``
    appended, so that ``"jet"`` finds both ``jetPt`` and ``jet_pt``.
    """
    if prefix is None:
        candidates: tuple[str, ...] = DEFAULT_PREFIXES
    elif prefix.endswith(("_", ".")):
        candidates = (prefix,)
    else:
        candidates = (prefix, f"{prefix}_")
    lowered = {name.lower() for name in names}
    for candidate in candidates:
        if f"{candidate}0_pt" in names:
            return candidate, "flat"
        if f"{candidate}pt".lower() in lowered:
            return candidate, "jagged"
    raise ValueError(
        f"{source} has no jet columns with prefix "
        f"{' or '.join(repr(c) for c in candidates)}, but a reader needs flat "
        "columns such as canJet0_pt or a collection such as Jet_pt, so pass "
        f"prefix= to name yours (columns found: {sorted(names)[:20]})."
    )


def _layout(
    names: Sequence[str],
    prefix: str | None,
    fields: Mapping[str, str] | None,
    source: str,
) -> tuple[str, str]:
    """Find the prefix and layout, where explicit fields mean a jagged layout."""
    if fields is not None:
        return prefix or "", "jagged"
    return _find_layout(names, prefix, source)


def _jagged_field_names(
    names: Sequence[str],
    prefix: str,
    fields: Mapping[str, str] | None,
    source: str,
) -> dict[str, str]:
    """Map pt, eta, phi and m (or e) to column names of a jagged collection."""
    if fields is not None:
        resolved = dict(fields)
        if not {"pt", "eta", "phi"} <= resolved.keys() or not (
            "m" in resolved or "e" in resolved
        ):
            raise ValueError(
                f"fields is {dict(fields)}, but it must name the columns of pt, "
                "eta, phi and one of m (mass) or e (energy)."
            )
        missing = [name for name in resolved.values() if name not in names]
        if missing:
            raise ValueError(
                f"{source} has no column {missing[0]!r}, but fields names it "
                f"(columns found: {sorted(names)[:20]})."
            )
        return {
            key: resolved[key]
            for key in ("pt", "eta", "phi", "m", "e")
            if key in resolved
        }

    by_lower = {name.lower(): name for name in names}
    resolved = {}
    for field, suffixes in FIELD_SUFFIXES.items():
        for suffix in suffixes:
            name = by_lower.get(f"{prefix}{suffix}".lower())
            if name is not None:
                resolved[field] = name
                break
    if "m" in resolved:
        resolved.pop("e", None)
    missing = [
        f"{prefix}{FIELD_SUFFIXES[field][0]}"
        for field in ("pt", "eta", "phi")
        if field not in resolved
    ]
    if "m" not in resolved and "e" not in resolved:
        missing.append(f"{prefix}mass (or {prefix}e for energy)")
    if missing:
        raise ValueError(
            f"{source} is missing the jet columns {missing}, so pass fields= to "
            f"name them (columns found: {sorted(names)[:20]})."
        )
    return resolved


def _events_from_jagged(
    columns: Mapping[str, Any],
    field_names: Mapping[str, str],
    *,
    btag: str | None,
    weights: npt.NDArray[np.float64] | None,
    labels: npt.NDArray[np.bool_] | None,
    source: str,
) -> Events:
    """Build events from awkward jagged arrays, one per jet field.

    Args:
        columns: Map from column name to an awkward array of shape
            (events, var) for the jet fields, the b-tag column included.
        field_names: Map from pt, eta, phi and m (or e) to column names.
        btag: Column of the b-tag score, or ``None`` to keep leading jets.
        weights: Event weights for all events, or ``None``.
        labels: Truth labels for all events, or ``None``.
        source: File name used in messages.
    """
    import awkward as ak

    for name, values in columns.items():
        if values.ndim != 2:
            raise ValueError(
                f"{source} branch {name!r} has type {values.type}, but a jet "
                "collection needs one variable-length list of jets per event."
            )

    pt_name = field_names["pt"]
    counts = ak.num(columns[pt_name], axis=1)
    others = [name for name in field_names.values() if name != pt_name]
    if btag is not None:
        others.append(btag)
    for name in others:
        other_counts = ak.num(columns[name], axis=1)
        differs = np.asarray(other_counts != counts)
        if differs.any():
            first = int(np.argmax(differs))
            raise ValueError(
                f"{source} has {int(differs.sum())} events where branch {name!r} "
                f"has a different number of jets than {pt_name!r} (first event "
                f"{first}: {int(other_counts[first])} against {int(counts[first])}), "
                "but all branches of one jet collection need equal lengths."
            )

    # Check every jet, not only the four kept, because a NaN or a negative pT
    # would otherwise change which jets are kept without any message.
    offsets = np.concatenate([[0], np.cumsum(np.asarray(counts))])
    for field, name in field_names.items():
        _check_collection(columns[name], field, name, offsets, source)
    if btag is not None:
        _check_collection(columns[btag], "btag", btag, offsets, source)

    enough = np.asarray(counts >= N_JETS)
    if not enough.any():
        raise ValueError(
            f"{source} has no event with at least {N_JETS} jets in {pt_name!r} "
            f"(events read: {len(enough)}), but the study needs four jets per event."
        )
    n_skipped = int((~enough).sum())
    if n_skipped:
        logger.info(
            "Skipped %d of %d events in %s with fewer than %d jets.",
            n_skipped,
            len(enough),
            source,
            N_JETS,
        )

    # Keep the four leading jets, or the four with the highest b-tag score.
    key_name = pt_name if btag is None else btag
    order = ak.argsort(columns[key_name][enough], axis=1, ascending=False)
    keep = order[:, :N_JETS]

    def regular(name: str) -> npt.NDArray[np.float64]:
        values = columns[name][enough][keep]
        return ak.to_numpy(ak.to_regular(values, axis=1)).astype(np.float64)

    n_events = int(enough.sum())
    jets = np.empty((n_events, N_JETS, len(JET_FIELDS)))
    for index, field in enumerate(("pt", "eta", "phi")):
        jets[:, :, index] = regular(field_names[field]).reshape(n_events, N_JETS)
    if "m" in field_names:
        jets[:, :, 3] = regular(field_names["m"]).reshape(n_events, N_JETS)
    else:
        jets[:, :, 3] = mass_from_energy(
            jets[:, :, 0],
            jets[:, :, 1],
            regular(field_names["e"]).reshape(n_events, N_JETS),
            source=f"{source} branch {field_names['e']!r}",
        )

    reported = {field: field_names.get(field, "") for field in ("pt", "eta", "phi")}
    reported["m"] = field_names.get("m", field_names.get("e", "m"))
    check_jet_values(jets, source=source, field_names=reported)
    return Events.from_array(
        jets,
        None if weights is None else weights[enough],
        None if labels is None else labels[enough],
        source=source,
    )


def _check_collection(
    values: Any,
    field: str,
    name: str,
    offsets: npt.NDArray[np.int64],
    source: str,
) -> None:
    """Raise if any jet of a jagged branch fails the checks of its field.

    Args:
        values: Awkward array of shape (events, var).
        field: pt, eta, phi, m, e, or btag (checked for finite values only).
        name: Branch name used in the message.
        offsets: Start of each event in the flattened jets, shape (events + 1,).
        source: File name used in the message.
    """
    import awkward as ak

    flat = ak.to_numpy(ak.flatten(values)).astype(np.float64)  # (jets,)
    for problem, bad in invalid_jet_values(field, flat):
        if not bad.any():
            continue
        first = int(np.argmax(bad))
        event = int(np.searchsorted(offsets, first, side="right")) - 1
        raise ValueError(
            f"{source} branch {name!r} has {problem} in {int(bad.sum())} jets "
            f"(first {float(flat[first])!r} in event {event}, jet "
            f"{first - int(offsets[event])}), but jets need finite values with "
            f"pT >= 0, m >= 0, E >= 0, |eta| <= {MAX_ABS_ETA:g} and |phi| <= 2 pi."
        )


def _error_text(error: BaseException) -> str:
    """Describe an exception from uproot, h5py or pyarrow in one clause.

    Their messages can span lines and sentences, and only the first sentence is
    kept, so that the error raised here stays one sentence.
    """
    lines = str(error).strip().splitlines()
    first = lines[0].split(". ")[0].rstrip(".,;: ") if lines else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _require_events(n_events: int, source: str) -> None:
    if n_events == 0:
        raise ValueError(
            f"{source} contains no events, but a file with events is needed."
        )


def _check_length(
    values: npt.NDArray[Any] | None, n_events: int, source: str, name: str | None
) -> None:
    if values is not None and len(values) != n_events:
        raise ValueError(
            f"{source} column {name!r} has {len(values)} entries, but the file "
            f"has {n_events} events and needs one entry per event."
        )


def _optional_column(
    name: str | None, default: str, names: Sequence[str], source: str
) -> str | None:
    """Resolve a weight or label column: a missing default means none."""
    if name is None:
        return None
    if name in names:
        return name
    if name == default:
        return None
    raise ValueError(
        f"{source} has no column {name!r}, but it was requested (columns "
        f"found: {sorted(names)[:20]})."
    )


def _as_labels(values: npt.ArrayLike, source: str, name: str) -> npt.NDArray[np.bool_]:
    labels = np.asarray(values)
    if labels.dtype != np.bool_ and not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"{source} column {name!r} has values other than 0 and 1, but a truth "
            "label must be boolean."
        )
    return labels.astype(np.bool_)


def _as_weights(
    values: npt.ArrayLike, source: str, name: str
) -> npt.NDArray[np.float64]:
    weights = np.asarray(values, dtype=np.float64)
    if weights.ndim != 1:
        raise ValueError(
            f"{source} column {name!r} has shape {weights.shape}, but event weights "
            "need one number per event."
        )
    if not np.isfinite(weights).all():
        raise ValueError(
            f"{source} column {name!r} contains NaN or inf, but event weights must "
            "be finite."
        )
    return weights


def _check_not_empty(path: Path, kind: str) -> None:
    if not path.is_file():
        raise ValueError(f"{kind} file {path} was not found.")
    if path.stat().st_size == 0:
        raise ValueError(
            f"{kind} file {path} is empty, but a file with events is needed."
        )


# --------------------------------------------------------------------------
# ROOT


def _open_root_tree(path: Path, tree: str | None) -> Any:
    import uproot

    _check_not_empty(path, "ROOT")
    try:
        file = uproot.open(path)
        classnames = file.classnames()
    except _root_read_errors() as error:
        raise ValueError(
            f"ROOT file {path} could not be read ({_error_text(error)}), so check "
            "that it is a complete ROOT file."
        ) from error

    # uproot 5.7 writes a dict of arrays as an RNTuple by default, and reads its
    # fields through the same keys(), num_entries and array() calls as a TTree.
    trees = [
        key.split(";")[0]
        for key, kind in classnames.items()
        if kind in ("TTree", "ROOT::RNTuple")
    ]
    if tree is None:
        if len(set(trees)) == 1:
            tree = trees[0]
        elif "Events" in trees:
            tree = "Events"
        else:
            raise ValueError(
                f"ROOT file {path} contains trees {sorted(set(trees))}, but tree=None "
                "needs exactly one tree or one named Events, so pass tree=."
            )
    if tree not in trees:
        raise ValueError(
            f"ROOT file {path} has no TTree {tree!r} "
            f"(trees found: {sorted(set(trees))})."
        )
    return file[tree]


def read_root(
    path: PathLike,
    *,
    tree: str | None = None,
    prefix: str | None = None,
    fields: Mapping[str, str] | None = None,
    btag: str | None = None,
    weight: str | None = DEFAULT_WEIGHT,
    label: str | None = DEFAULT_LABEL,
    max_events: int | None = None,
) -> Events:
    """Read four-jet events from a ROOT TTree or RNTuple with uproot.

    Args:
        path: ROOT file.
        tree: TTree or RNTuple name. ``None`` picks the only one, or ``Events``.
        prefix: Prefix of the jet columns, such as ``"canJet"`` (flat) or
            ``"Jet_"``, ``"Jet."`` or ``"jet"`` (jagged). A prefix without a
            trailing ``_`` or ``.`` is also tried with ``_`` appended. ``None``
            tries `DEFAULT_PREFIXES` in order.
        fields: For a jagged collection, explicit branch names of ``pt``,
            ``eta``, ``phi`` and ``m`` or ``e``. ``None`` finds them from the
            prefix, case-insensitively (``Jet_mass``, ``Jet.Mass``, ``jet_e``).
        btag: Branch of the b-tag score, or its suffix after the prefix (such as
            ``"btagDeepFlavB"``). The four highest-scoring jets are kept.
            ``None`` keeps the four leading jets.
        weight: Branch of per-event weights. If the default ``"weight"`` is
            absent, unit weights are used.
        label: Branch of the boolean truth label. If the default ``"is_signal"``
            is absent, the events have no label.
        max_events: Read at most this many entries, a positive integer.

    Returns:
        The events, four jets each, sorted by pT.

    Raises:
        ValueError: If the file is missing, empty or corrupt, has no event
            with four jets, a branch is missing or is not a jagged collection,
            branches of one collection differ in length, or a value fails the
            checks. The message names the file and the branch.
    """

    if max_events is not None:
        check_sample_size("max_events", max_events)
    path = Path(path)
    source = f"ROOT file {path}"
    handle = _open_root_tree(path, tree)
    full_paths = handle.keys(recursive=True)
    by_name = {key.split("/")[-1]: key for key in full_paths}
    names = list(by_name)

    def read(name: str, library: str) -> Any:
        try:
            return handle[by_name[name]].array(library=library, entry_stop=max_events)
        except _root_read_errors() as error:
            raise ValueError(
                f"{source} branch {name!r} could not be read "
                f"({_error_text(error)}), so check that the file is complete."
            ) from error

    _require_events(
        handle.num_entries
        if max_events is None
        else min(handle.num_entries, max_events),
        source,
    )
    found_prefix, layout = _layout(names, prefix, fields, source)
    weight_name = _optional_column(weight, DEFAULT_WEIGHT, names, source)
    label_name = _optional_column(label, DEFAULT_LABEL, names, source)
    weights = (
        None
        if weight_name is None
        else _as_weights(read(weight_name, "np"), source, weight_name)
    )
    labels = (
        None
        if label_name is None
        else _as_labels(read(label_name, "np"), source, label_name)
    )

    if layout == "flat":
        columns = {
            name: read(name, "np")
            for jet in jet_column_names(
                found_prefix, energy=f"{found_prefix}0_m" not in names
            )
            for name in jet
            if name in names
        }
        events = Events.from_frame(columns, prefix=found_prefix, source=source)
        return Events(events.jets, weights, labels)

    field_names = _jagged_field_names(names, found_prefix, fields, source)
    btag_name = _resolve_btag(btag, found_prefix, names, source)
    wanted = list(field_names.values()) + ([btag_name] if btag_name else [])
    columns = {name: read(name, "ak") for name in wanted}
    return _events_from_jagged(
        columns,
        field_names,
        btag=btag_name,
        weights=weights,
        labels=labels,
        source=source,
    )


def _resolve_btag(
    btag: str | None, prefix: str, names: Sequence[str], source: str
) -> str | None:
    if btag is None:
        return None
    for candidate in (btag, f"{prefix}{btag}"):
        if candidate in names:
            return candidate
    raise ValueError(
        f"{source} has no b-tag column {btag!r} or {prefix + btag!r} (columns "
        f"found: {sorted(names)[:20]})."
    )


def write_root(
    events: Events,
    path: PathLike,
    *,
    tree: str = "Events",
    layout: str = "flat",
    prefix: str | None = None,
) -> Path:
    """Write events to a ROOT TTree with uproot, as float64 branches.

    Args:
        events: The events to write.
        path: Output file, replaced if it exists.
        tree: TTree name.
        layout: ``"flat"`` writes ``{prefix}{i}_{pt,eta,phi,m}`` branches with
            prefix ``"canJet"``. ``"jagged"`` writes a NanoAOD-like collection
            ``n{name}`` and ``{name}_pt``, ``_eta``, ``_phi``, ``_mass`` with
            collection name ``"Jet"``.
        prefix: Overrides the default prefix (flat) or collection name (jagged).

    Returns:
        The path written.

    Raises:
        ValueError: If layout is neither "flat" nor "jagged".
    """
    import awkward as ak
    import uproot

    path = Path(path)
    branches: dict[str, Any] = {}
    if layout == "flat":
        for i, jet in enumerate(jet_column_names(prefix or "canJet")):
            for j, name in enumerate(jet):
                branches[name] = np.ascontiguousarray(events.jets[:, i, j])
    elif layout == "jagged":
        # Regular (N, 4) arrays become variable-length lists, so that uproot
        # writes a counter branch n{collection} as NanoAOD has.
        fields = {"pt": 0, "eta": 1, "phi": 2, "mass": 3}
        branches[prefix or "Jet"] = ak.zip(
            {
                field: ak.from_regular(
                    ak.Array(np.ascontiguousarray(events.jets[:, :, index])), axis=1
                )
                for field, index in fields.items()
            }
        )
    else:
        raise ValueError(f"layout is {layout!r}, but it must be 'flat' or 'jagged'.")

    branches[DEFAULT_WEIGHT] = np.ascontiguousarray(events.weights)
    if events.is_signal is not None:
        branches[DEFAULT_LABEL] = np.ascontiguousarray(events.is_signal)

    with uproot.recreate(path) as file:
        file.mktree(tree, {name: _root_type(value) for name, value in branches.items()})
        if len(events):
            file[tree].extend(branches)
    logger.info("Wrote %d events to %s.", len(events), path)
    return path


def _root_type(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return values.dtype
    return values.type.content


# --------------------------------------------------------------------------
# HDF5


def read_hdf5(
    path: PathLike,
    *,
    dataset: str = "jets",
    prefix: str = "canJet",
    weight: str | None = "weights",
    label: str | None = DEFAULT_LABEL,
) -> Events:
    """Read four-jet events from an HDF5 file with h5py.

    The file holds either a dataset of shape (N, 4, 4) or (N, 16), as
    `write_hdf5` writes, or 1-D datasets named ``{prefix}{i}_{pt,eta,phi,m}``
    (or ``_e``) in the file's root group.

    Args:
        path: HDF5 file.
        dataset: Path of the jet dataset inside the file.
        prefix: Prefix of per-column datasets, used when ``dataset`` is absent.
        weight: Dataset of event weights. If the default ``"weights"`` is
            absent, unit weights are used.
        label: Dataset of the truth label. If the default ``"is_signal"`` is
            absent, the events have no label.

    Returns:
        The events, sorted by pT within each event.

    Raises:
        ValueError: If the file is missing, empty or corrupt, a dataset is
            missing or has the wrong shape, or a value fails the checks.
    """
    import h5py

    path = Path(path)
    source = f"HDF5 file {path}"
    _check_not_empty(path, "HDF5")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(
            f"{source} could not be read ({_error_text(error)}), so check that it "
            "is a complete HDF5 file."
        ) from error

    with file:
        names = list(file.keys())
        weight_name = _optional_column(weight, "weights", names, source)
        label_name = _optional_column(label, DEFAULT_LABEL, names, source)
        weights = (
            None
            if weight_name is None
            else _as_weights(file[weight_name][()], source, weight_name)
        )
        labels = (
            None
            if label_name is None
            else _as_labels(file[label_name][()], source, label_name)
        )

        if dataset in file:
            values = np.asarray(file[dataset][()], dtype=np.float64)
            _require_events(len(values), source)
            _check_length(weights, len(values), source, weight_name)
            _check_length(labels, len(values), source, label_name)
            return Events.from_array(
                values, weights, labels, source=f"{source} dataset {dataset!r}"
            )
        if f"{prefix}0_pt" in file:
            columns = {name: file[name][()] for name in names}
            _require_events(len(columns[f"{prefix}0_pt"]), source)
            events = Events.from_frame(columns, prefix=prefix, source=source)
            _check_length(weights, len(events), source, weight_name)
            _check_length(labels, len(events), source, label_name)
            return Events(events.jets, weights, labels)
    raise ValueError(
        f"{source} has neither dataset {dataset!r} nor columns {prefix}0_pt "
        f"and the like (datasets found: {sorted(names)[:20]})."
    )


def write_hdf5(
    events: Events, path: PathLike, *, compression: str | None = "gzip"
) -> Path:
    """Write events to an HDF5 file with h5py.

    The file holds ``jets`` (N, 4, 4) float64, ``weights`` (N,) and, for
    labelled samples, ``is_signal`` (N,) bool. Attributes of ``jets`` record the
    field order and units.

    Args:
        events: The events to write.
        path: Output file, replaced if it exists.
        compression: h5py compression filter, or ``None``.

    Returns:
        The path written.
    """
    import h5py

    path = Path(path)
    with h5py.File(path, "w") as file:
        file.attrs["format"] = HDF5_FORMAT
        jets = file.create_dataset("jets", data=events.jets, compression=compression)
        jets.attrs["fields"] = ",".join(JET_FIELDS)
        jets.attrs["units"] = "GeV,1,rad,GeV"
        file.create_dataset("weights", data=events.weights, compression=compression)
        if events.is_signal is not None:
            file.create_dataset(
                DEFAULT_LABEL, data=events.is_signal, compression=compression
            )
    logger.info("Wrote %d events to %s.", len(events), path)
    return path


# --------------------------------------------------------------------------
# Parquet


def read_parquet(
    path: PathLike,
    *,
    prefix: str | None = None,
    fields: Mapping[str, str] | None = None,
    btag: str | None = None,
    weight: str | None = DEFAULT_WEIGHT,
    label: str | None = DEFAULT_LABEL,
) -> Events:
    """Read four-jet events from a parquet file.

    Flat columns are read with pandas and jagged list columns with awkward.

    Args:
        path: Parquet file.
        prefix: As in `read_root`.
        fields: As in `read_root`, for list columns.
        btag: As in `read_root`, for list columns.
        weight: Column of event weights. If the default ``"weight"`` is absent,
            unit weights are used.
        label: Column of the truth label. If the default ``"is_signal"`` is
            absent, the events have no label.

    Returns:
        The events, four jets each, sorted by pT.

    Raises:
        ValueError: If the file is missing, empty or corrupt, a column is
            missing, or a value fails the checks.
    """
    import pyarrow
    import pyarrow.parquet as pq

    path = Path(path)
    source = f"parquet file {path}"
    _check_not_empty(path, "parquet")
    try:
        table = pq.read_table(path)
    except (OSError, pyarrow.ArrowException) as error:
        raise ValueError(
            f"{source} could not be read ({_error_text(error)}), so check that it "
            "is a complete parquet file."
        ) from error

    names = table.column_names
    weight_name = _optional_column(weight, DEFAULT_WEIGHT, names, source)
    label_name = _optional_column(label, DEFAULT_LABEL, names, source)
    weights = (
        None
        if weight_name is None
        else _as_weights(table[weight_name].to_numpy(), source, weight_name)
    )
    labels = (
        None
        if label_name is None
        else _as_labels(table[label_name].to_numpy(), source, label_name)
    )

    _require_events(table.num_rows, source)
    found_prefix, layout = _layout(names, prefix, fields, source)
    if layout == "flat":
        events = Events.from_frame(
            {
                name: table[name].to_numpy()
                for name in names
                if name.startswith(found_prefix)
            },
            prefix=found_prefix,
            source=source,
        )
        return Events(events.jets, weights, labels)

    import awkward as ak

    field_names = _jagged_field_names(names, found_prefix, fields, source)
    btag_name = _resolve_btag(btag, found_prefix, names, source)
    wanted = list(field_names.values()) + ([btag_name] if btag_name else [])
    columns = {name: ak.from_arrow(table[name]) for name in wanted}
    return _events_from_jagged(
        columns,
        field_names,
        btag=btag_name,
        weights=weights,
        labels=labels,
        source=source,
    )


def write_parquet(events: Events, path: PathLike) -> Path:
    """Write events to a parquet file with flat ``canJet{i}_{pt,eta,phi,m}`` columns.

    Args:
        events: The events to write.
        path: Output file, replaced if it exists.

    Returns:
        The path written.
    """
    path = Path(path)
    events.to_frame().to_parquet(path, index=False)
    logger.info("Wrote %d events to %s.", len(events), path)
    return path


# --------------------------------------------------------------------------
# Dispatch by file suffix


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in ROOT_SUFFIXES:
        return "root"
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise ValueError(
        f"path {path} has suffix {suffix!r}, but events files must end in one of "
        f"{ROOT_SUFFIXES + HDF5_SUFFIXES + PARQUET_SUFFIXES}."
    )


def read_events(path: PathLike, **options: Any) -> Events:
    """Read events with the reader that matches the file suffix.

    Args:
        path: A ``.root``, ``.h5``/``.hdf5`` or ``.parquet`` file.
        **options: Passed to `read_root`, `read_hdf5` or `read_parquet`.

    Returns:
        The events.
    """
    path = Path(path)
    readers = {"root": read_root, "hdf5": read_hdf5, "parquet": read_parquet}
    return readers[_format_of(path)](path, **options)


def write_events(events: Events, path: PathLike, **options: Any) -> Path:
    """Write events with the writer that matches the file suffix.

    Args:
        events: The events to write.
        path: A ``.root``, ``.h5``/``.hdf5`` or ``.parquet`` file.
        **options: Passed to `write_root` or `write_hdf5`.

    Returns:
        The path written.
    """
    path = Path(path)
    writers = {"root": write_root, "hdf5": write_hdf5, "parquet": write_parquet}
    return writers[_format_of(path)](events, path, **options)
