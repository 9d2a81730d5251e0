"""Input checks shared by the modules; each raises a one-sentence ValueError."""

from __future__ import annotations

import numbers

import numpy as np


def check_finite_array(
    name: str, values: object, ndim: int | None = None
) -> np.ndarray:
    """Return ``values`` as a float64 array after checking it is finite and non-empty.

    Raises:
        ValueError: If the array is empty, has the wrong number of dimensions, or
            holds NaN or inf.
    """
    array = np.asarray(values, dtype=np.float64)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s), got shape {array.shape}."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or inf value(s), the first at index "
            f"{first}; remove or fix them before calling."
        )
    return array


def check_weights(name: str, weights: object, n: int) -> np.ndarray:
    """Return ``weights`` as a float64 array of length ``n``, or ones if None.

    Raises:
        ValueError: If the weights have the wrong length, are not finite, are
            negative, or sum to zero.
    """
    if weights is None:
        return np.ones(n)
    array = check_finite_array(name, weights, ndim=1)
    if array.shape[0] != n:
        raise ValueError(
            f"{name} has {array.shape[0]} entries but the sample has {n} events."
        )
    if np.any(array < 0):
        raise ValueError(
            f"{name} contains {int((array < 0).sum())} negative value(s), but only "
            "non-negative weights are supported."
        )
    if array.sum() <= 0:
        raise ValueError(f"{name} sums to zero; at least one weight must be positive.")
    return array


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float after checking it is finite and above zero."""
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number above 0, got {value!r}.")
    return float(value)


def check_fraction(name: str, value: object, *, include_one: bool = True) -> float:
    """Return ``value`` as a float after checking it lies in (0, 1] or (0, 1)."""
    interval = "(0, 1]" if include_one else "(0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must lie in {interval}, got {value!r}.")
    upper_ok = value <= 1 if include_one else value < 1
    if not (value > 0 and upper_ok):
        raise ValueError(f"{name} must lie in {interval}, got {value!r}.")
    return float(value)


def check_sample_size(name: str, value: object) -> int:
    """Return ``value`` as an int after checking it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)
