"""Four-jet collision events: the event model that every srlib method reads.

An event is the 16 numbers ``x = (pT_i, eta_i, phi_i, m_i)`` for the four jets
``i = 1..4`` of a four-jet final state, with jets sorted by decreasing pT. Momenta
and masses are in GeV and the azimuth is stored in ``[-pi, pi)``. Each event
carries a weight, and simulated samples may also carry a truth label (signal or
background) that is kept apart from the features a method is allowed to see.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from srlib.kinematics import mass_from_energy, wrap_phi

logger = logging.getLogger(__name__)

__all__ = [
    "JET_FIELDS",
    "N_JETS",
    "Events",
    "check_jet_values",
    "concatenate_events",
    "invalid_jet_values",
    "jet_column_names",
    "warn_if_mev",
]

#: Jet fields in the order of the last axis of ``Events.jets``.
JET_FIELDS: tuple[str, str, str, str] = ("pt", "eta", "phi", "m")

#: Number of jets per event.
N_JETS = 4

#: Largest accepted |eta|. Trackers and calorimeters end near |eta| = 5, so a
#: larger value is a unit or branch mix-up rather than a jet.
MAX_ABS_ETA = 5.0

#: Median jet pT in GeV above which inputs are suspected to be in MeV. Jets
#: of a four-jet selection have median pT near 60 GeV, and the same jets in MeV
#: have a median near 60000.
MEV_SUSPICION_PT = 2000.0

#: Largest accepted |phi| before wrapping, which admits both [-pi, pi] and
#: [0, 2pi) conventions.
MAX_ABS_PHI = 2.0 * np.pi


def jet_column_names(prefix: str = "canJet", energy: bool = False) -> list[list[str]]:
    """Build the flat column names of the four jets, such as ``canJet0_pt``.

    Args:
        prefix: Text before the jet index.
        energy: Name the fourth field ``e`` (energy) instead of ``m`` (mass).

    Returns:
        A 4 x 4 nested list, indexed as ``[jet][field]`` with fields in the order
        pt, eta, phi and m (or e).
    """
    last = "e" if energy else "m"
    return [
        [f"{prefix}{i}_{field}" for field in ("pt", "eta", "phi", last)]
        for i in range(N_JETS)
    ]


def check_jet_values(
    jets: npt.NDArray[np.floating],
    source: str = "jets",
    field_names: Mapping[str, str] | None = None,
) -> None:
    """Raise if jet values are not finite or lie outside physical ranges.

    The checks are: every value finite, pT >= 0, m >= 0, |eta| <= 5 and
    |phi| <= 2 pi.

    Args:
        jets: Array of shape (N, 4, 4) with fields (pt, eta, phi, m).
        source: Where the values came from, such as a file path, used in the
            error message.
        field_names: Name of each field in the source (for example
            ``{"pt": "Jet_pt"}``), used in the error message. Fields not listed
            are named as in ``JET_FIELDS``.

    Raises:
        ValueError: If a check fails. The message names the source, the field,
            the number of bad events and the first bad value.
    """
    names = {field: field for field in JET_FIELDS}
    if field_names is not None:
        names.update(field_names)

    for index, field in enumerate(JET_FIELDS):
        values = jets[:, :, index]  # (N, 4)
        for problem, bad in invalid_jet_values(field, values):
            _raise_if_any(bad, values, source, names[field], problem)


def invalid_jet_values(
    field: str, values: npt.NDArray[np.floating]
) -> Iterator[tuple[str, npt.NDArray[np.bool_]]]:
    """Yield each check of one jet field as a problem text and a mask of failures.

    Args:
        field: One of pt, eta, phi, m, or e (energy, checked as m is).
        values: Values of that field, of any shape.

    Yields:
        Pairs such as ``("a negative value", mask)``, where the mask has the
        shape of ``values`` and is True where the check fails. Later checks
        see only finite values, so each failure is reported once.
    """
    finite = np.isfinite(values)
    yield "NaN or inf", ~finite
    safe = np.where(finite, values, 0.0)
    if field in ("pt", "m", "e"):
        yield "a negative value", safe < 0
    elif field == "eta":
        yield f"|eta| > {MAX_ABS_ETA:g}", np.abs(safe) > MAX_ABS_ETA
    elif field == "phi":
        yield "|phi| > 2 pi", np.abs(safe) > MAX_ABS_PHI


def _raise_if_any(
    bad: npt.NDArray[np.bool_],
    values: npt.NDArray[np.floating],
    source: str,
    field: str,
    problem: str,
) -> None:
    bad_events = bad.any(axis=1)
    if not bad_events.any():
        return
    first_event = int(np.argmax(bad_events))
    first_jet = int(np.argmax(bad[first_event]))
    raise ValueError(
        f"{source} field {field!r} has {problem} in {int(bad_events.sum())} "
        f"events (first {float(values[first_event, first_jet])!r} in event "
        f"{first_event}, jet {first_jet}), but jets need finite values with "
        f"pT >= 0, m >= 0, |eta| <= {MAX_ABS_ETA:g} and |phi| <= 2 pi."
    )


def warn_if_mev(
    jets: npt.NDArray[np.floating], source: str = "jets", stacklevel: int = 3
) -> bool:
    """Warn when the jet pT values look like MeV rather than GeV.

    Args:
        jets: Array of shape (N, 4, 4) with fields (pt, eta, phi, m).
        source: Name of the input used in the warning.
        stacklevel: Passed to `warnings.warn` so that the warning points at the
            caller's code.

    Returns:
        True if the warning was issued.
    """
    if jets.shape[0] == 0:
        return False
    median_pt = float(np.median(jets[:, :, 0]))
    if median_pt <= MEV_SUSPICION_PT:
        return False
    warnings.warn(
        f"{source} has median jet pT {median_pt:.4g}, which looks like MeV, but "
        "srlib expects GeV, so divide pT and mass (or energy) by 1000.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return True


@dataclasses.dataclass(frozen=True, eq=False)
class Events:
    """A sample of four-jet events with weights and an optional truth label.

    Construction copies the inputs to float64 (bool for the label), checks them
    with `check_jet_values`, wraps phi into [-pi, pi), sorts each event's jets by
    decreasing pT and makes the arrays read-only.

    Attributes:
        jets: Array of shape (N, 4, 4): events, jets sorted by decreasing pT,
            and fields (pt [GeV], eta, phi, m [GeV]).
        weights: Event weights of shape (N,). ``None`` at construction means
            unit weights.
        is_signal: Truth label of shape (N,) for simulated samples, or ``None``
            for data. It is never part of `features`.
    """

    jets: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64] = None  # type: ignore[assignment]
    is_signal: npt.NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        jets = np.array(self.jets, dtype=np.float64)  # copy, never a view
        if jets.ndim != 3 or jets.shape[1:] != (N_JETS, len(JET_FIELDS)):
            raise ValueError(
                f"jets has shape {jets.shape}, but Events needs shape (N, 4, 4) "
                "with fields (pt, eta, phi, m) on the last axis."
            )
        check_jet_values(jets)
        jets[:, :, 2] = wrap_phi(jets[:, :, 2])

        # Sort jets within each event by decreasing pT. A stable sort keeps the
        # input order of jets with equal pT.
        order = np.argsort(-jets[:, :, 0], axis=1, kind="stable")  # (N, 4)
        jets = np.take_along_axis(jets, order[:, :, None], axis=1)

        n_events = jets.shape[0]
        if self.weights is None:
            weights = np.ones(n_events)
        else:
            weights = np.array(self.weights, dtype=np.float64)
            if weights.shape != (n_events,):
                raise ValueError(
                    f"weights has shape {weights.shape}, but it needs shape "
                    f"({n_events},), one weight per event."
                )
            if not np.isfinite(weights).all():
                raise ValueError(
                    "weights contains NaN or inf, but event weights must be finite."
                )

        is_signal = None
        if self.is_signal is not None:
            labels = np.asarray(self.is_signal)
            if labels.shape != (n_events,):
                raise ValueError(
                    f"is_signal has shape {labels.shape}, but it needs shape "
                    f"({n_events},), one label per event."
                )
            if labels.dtype != np.bool_ and not np.isin(labels, (0, 1)).all():
                raise ValueError(
                    "is_signal contains values other than 0 and 1, but it must "
                    "be a boolean truth label."
                )
            is_signal = labels.astype(np.bool_)  # astype copies

        for array in (jets, weights, is_signal):
            if array is not None:
                array.flags.writeable = False
        object.__setattr__(self, "jets", jets)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "is_signal", is_signal)

    def __len__(self) -> int:
        return int(self.jets.shape[0])

    def __repr__(self) -> str:
        labelled = "labelled" if self.is_signal is not None else "unlabelled"
        return (
            f"Events(n={len(self)}, total_weight={self.total_weight:.6g}, {labelled})"
        )

    @property
    def pt(self) -> npt.NDArray[np.float64]:
        """Jet transverse momenta in GeV, shape (N, 4)."""
        return self.jets[:, :, 0]

    @property
    def eta(self) -> npt.NDArray[np.float64]:
        """Jet pseudorapidities, shape (N, 4)."""
        return self.jets[:, :, 1]

    @property
    def phi(self) -> npt.NDArray[np.float64]:
        """Jet azimuths in [-pi, pi), shape (N, 4)."""
        return self.jets[:, :, 2]

    @property
    def m(self) -> npt.NDArray[np.float64]:
        """Jet masses in GeV, shape (N, 4)."""
        return self.jets[:, :, 3]

    @property
    def features(self) -> npt.NDArray[np.float64]:
        """The 16 features per event, shape (N, 16).

        The order is jet by jet: (pt_1, eta_1, phi_1, m_1, pt_2, ...).
        """
        return self.jets.reshape(len(self), N_JETS * len(JET_FIELDS))

    @property
    def total_weight(self) -> float:
        """Sum of the event weights."""
        return float(self.weights.sum())

    def subset(self, selection: npt.ArrayLike | slice) -> Events:
        """Select events by boolean mask, integer indices or slice.

        Args:
            selection: A boolean mask of shape (N,), integer indices or a slice.

        Returns:
            A new `Events` holding the selected events in the selection's order.

        Raises:
            ValueError: If a boolean mask does not have shape (N,).
        """
        if not isinstance(selection, slice):
            selection = np.asarray(selection)
            if selection.dtype == np.bool_ and selection.shape != (len(self),):
                raise ValueError(
                    f"selection is a boolean mask of shape {selection.shape}, "
                    f"but a mask needs shape ({len(self)},)."
                )
        labels = None if self.is_signal is None else self.is_signal[selection]
        return Events(self.jets[selection], self.weights[selection], labels)

    def with_weights(self, weights: npt.ArrayLike) -> Events:
        """Return a copy with new event weights, shape (N,)."""
        return dataclasses.replace(self, weights=np.asarray(weights))

    def without_labels(self) -> Events:
        """Return a copy with the truth label removed, as a method must see data."""
        return dataclasses.replace(self, is_signal=None)

    def to_frame(self, prefix: str = "canJet") -> Any:
        """Convert to a pandas DataFrame with columns such as ``canJet0_pt``.

        Args:
            prefix: Text before the jet index in the column names.

        Returns:
            A DataFrame with 16 jet columns, a ``weight`` column and, for
            labelled samples, an ``is_signal`` column.
        """
        import pandas as pd

        columns: dict[str, npt.NDArray[Any]] = {}
        for i, names in enumerate(jet_column_names(prefix)):
            for j, name in enumerate(names):
                columns[name] = self.jets[:, i, j]
        columns["weight"] = self.weights
        if self.is_signal is not None:
            columns["is_signal"] = self.is_signal
        return pd.DataFrame(columns)

    @classmethod
    def from_array(
        cls,
        array: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
        is_signal: npt.ArrayLike | None = None,
        *,
        source: str = "array",
    ) -> Events:
        """Build events from an array of shape (N, 4, 4) or (N, 16) in GeV.

        Args:
            array: Jet features. A (N, 16) array is read jet by jet as
                (pt_1, eta_1, phi_1, m_1, pt_2, ...). Jets may come in any order
                and phi in either [-pi, pi] or [0, 2 pi).
            weights: Event weights of shape (N,), or ``None`` for unit weights.
            is_signal: Truth label of shape (N,), or ``None``.
            source: Name of the input used in error messages.

        Returns:
            The events, jets sorted by pT.

        Raises:
            ValueError: If the shape is neither (N, 4, 4) nor (N, 16), or a value
                fails `check_jet_values`.
        """
        values = np.asarray(array, dtype=np.float64)
        if values.ndim == 2 and values.shape[1] == N_JETS * len(JET_FIELDS):
            values = values.reshape(-1, N_JETS, len(JET_FIELDS))  # (N, 4, 4)
        elif values.ndim != 3 or values.shape[1:] != (N_JETS, len(JET_FIELDS)):
            raise ValueError(
                f"{source} has shape {values.shape}, but events need shape "
                "(N, 4, 4) or (N, 16) with fields (pt, eta, phi, m) per jet."
            )
        check_jet_values(values, source=source)
        warn_if_mev(values, source)
        return cls(values, weights, is_signal)

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        prefix: str = "canJet",
        weight_column: str | None = None,
        label_column: str | None = None,
        source: str = "frame",
    ) -> Events:
        """Build events from a DataFrame or mapping with one column per jet field.

        The columns are ``{prefix}{i}_pt``, ``_eta``, ``_phi`` and either
        ``_m`` (mass) or ``_e`` (energy) for ``i = 0..3``. With energy, the
        mass is ``sqrt(E^2 - (pT cosh eta)^2)`` and the tiny negative ``m^2``
        that float rounding gives massless jets is clipped to zero.

        Args:
            frame: A pandas DataFrame or a mapping from column name to a 1-D
                array, in GeV.
            prefix: Text before the jet index in the column names.
            weight_column: Column of event weights, or ``None`` for unit weights.
            label_column: Column of the boolean truth label, or ``None``.
            source: Name of the input used in error messages.

        Returns:
            The events, jets sorted by pT.

        Raises:
            ValueError: If a column is missing, columns differ in length, or a
                value fails `check_jet_values`.
        """
        available = set(frame.keys())
        use_energy = f"{prefix}0_m" not in available and f"{prefix}0_e" in available
        names = jet_column_names(prefix, energy=use_energy)
        wanted = [name for jet in names for name in jet]
        wanted += [c for c in (weight_column, label_column) if c is not None]
        missing = [name for name in wanted if name not in available]
        if missing:
            raise ValueError(
                f"{source} is missing columns {missing}, but events need columns "
                f"{prefix}{{i}}_pt, _eta, _phi and _m (or _e) for i = 0..3."
            )

        columns = {name: np.asarray(frame[name]) for name in wanted}
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"{source} has columns of different lengths {lengths}, but every "
                "column needs one value per event."
            )

        n_events = lengths[wanted[0]]
        jets = np.empty((n_events, N_JETS, len(JET_FIELDS)))
        for i, jet in enumerate(names):
            for j, name in enumerate(jet[:3]):
                jets[:, i, j] = columns[name]
            if use_energy:
                jets[:, i, 3] = mass_from_energy(
                    jets[:, i, 0],
                    jets[:, i, 1],
                    columns[jet[3]].astype(np.float64),
                    source=f"{source} columns {jet[0]}, {jet[1]}, {jet[3]}",
                )
            else:
                jets[:, i, 3] = columns[jet[3]]

        field_names = {
            "pt": f"{prefix}{{i}}_pt",
            "eta": f"{prefix}{{i}}_eta",
            "phi": f"{prefix}{{i}}_phi",
            "m": f"{prefix}{{i}}_{'e' if use_energy else 'm'}",
        }
        check_jet_values(jets, source=source, field_names=field_names)
        warn_if_mev(jets, source)

        weights = None if weight_column is None else columns[weight_column]
        labels = None if label_column is None else columns[label_column]
        return cls(jets, weights, labels)


def concatenate_events(samples: Iterable[Events] | Sequence[Events]) -> Events:
    """Join samples into one, keeping their order.

    Args:
        samples: One or more `Events`. The truth label is kept only if every
            sample has one.

    Returns:
        The concatenated events.

    Raises:
        ValueError: If ``samples`` is empty.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("samples is empty, but at least one Events is needed.")
    jets = np.concatenate([sample.jets for sample in samples])
    weights = np.concatenate([sample.weights for sample in samples])
    labels = None
    if all(sample.is_signal is not None for sample in samples):
        labels = np.concatenate([sample.is_signal for sample in samples])
    elif any(sample.is_signal is not None for sample in samples):
        logger.info(
            "Dropping the truth label while concatenating %d samples, because "
            "some samples have none.",
            len(samples),
        )
    return Events(jets, weights, labels)
