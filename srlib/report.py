"""Result files of the book's chapters: strict JSON that any parser reads."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_json_value", "write_results"]


def to_json_value(value: Any) -> Any:
    """Convert numpy scalars and arrays, tuples and paths to plain JSON values.

    NaN and infinities become ``None`` (JSON ``null``), because strict JSON has no
    number for them. A standard deviation over one repeat is such a NaN.
    """
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json_value(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_results(records: Mapping[str, Any], folder: str | os.PathLike[str]) -> None:
    """Write ``records`` to ``folder/results.json`` as strict JSON.

    The file is written beside its final name and then renamed, so a reader never
    sees half a file.
    """
    path = Path(folder) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_json_value(records), indent=2, allow_nan=False)
    partial = path.with_suffix(".json.partial")
    partial.write_text(text + "\n")
    partial.replace(path)
