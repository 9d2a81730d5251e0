import json
import math

import numpy as np

from srlib.report import to_json_value, write_results


def test_nan_and_infinity_become_null(tmp_path) -> None:
    write_results(
        {"sd": float("nan"), "peak": np.float64(7.07), "inf": -np.inf}, tmp_path
    )
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    loaded = json.loads(text)
    assert loaded["sd"] is None
    assert loaded["inf"] is None
    assert loaded["peak"] == 7.07


def test_numpy_values_become_plain() -> None:
    value = to_json_value({"a": np.arange(3), "b": (np.int64(2), np.bool_(True))})
    assert value == {"a": [0, 1, 2], "b": [2, True]}
    assert type(value["a"][0]) is int
    assert not math.isnan(to_json_value(np.float32(0.5)))
