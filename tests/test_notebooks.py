"""Run each chapter with the small parameters of notebooks/params/test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


def execute_notebook(source: Path, tmp_path: Path) -> Path:
    """Convert ``source`` with jupytext, run it with papermill and the test
    parameters, and return the folder of its outputs."""
    notebook = tmp_path / f"{source.stem}.ipynb"
    output_dir = tmp_path / "outputs"
    params = ROOT / "notebooks" / "params" / "test" / f"{source.stem}.yaml"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    subprocess.run(
        [bin_dir / "jupytext", "--to", "ipynb", "-o", notebook, source],
        check=True,
        capture_output=True,
    )
    command = [bin_dir / "papermill", notebook, tmp_path / f"{source.stem}.out.ipynb"]
    if params.exists():
        command += ["-f", params]
    # Chapters that keep finished repeats for reuse keep them in tmp_path too.
    command += ["-p", "output_dir", str(output_dir)]
    command += ["-p", "results_dir", str(tmp_path / "results"), "--cwd", str(ROOT)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return output_dir


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory):
    """Return a function that runs a notebook once per test module and returns
    its output folder."""
    cache: dict[str, Path] = {}

    def run(stem: str) -> Path:
        if stem not in cache:
            cache[stem] = execute_notebook(
                ROOT / "notebooks" / f"{stem}.py", tmp_path_factory.mktemp(stem)
            )
        return cache[stem]

    return run


@pytest.mark.notebook
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_writes_results(source: Path, executed) -> None:
    output_dir = executed(source.stem)
    results = json.loads((output_dir / "results.json").read_text())
    assert results
    assert list(output_dir.glob("*.png"))


@pytest.mark.notebook
def test_toy_notebook_numbers(executed) -> None:
    output_dir = executed("01_toy_gaussian")
    results = json.loads((output_dir / "results.json").read_text())

    # The exact peak is found on a grid of 2 001 points over about 20 units, so it
    # lies within one spacing (0.01) of the fine-grid value 7.0712.
    assert results["exact_peak"] == pytest.approx(7.0712, abs=0.011)

    # The exact-ratio SR at 5 % holds 72.3 % of the signal in the population. The
    # test parameters measure it on 2 x 20 000 events, about 2 000 signal events:
    # a binomial sd of 0.010, so 0.05 is five sd.
    shares = results["signal_share_mean"]
    assert shares["exact_signal_share_5pct"] == pytest.approx(0.723, abs=0.05)
    assert results["repeats"] == 2


@pytest.mark.notebook
def test_hh4b_notebook_records(executed) -> None:
    from srlib import FourJetNetwork, count_parameters

    output_dir = executed("02_hh4b_training")
    results = json.loads((output_dir / "results.json").read_text())
    assert results["n_parameters"] == count_parameters(FourJetNetwork(width=6))
    # Every recorded signal share is a fraction, and a larger SR never holds less.
    for panel in ("left", "centre"):
        rows = results[panel]
        assert all(0.0 <= row["S(SR) mean"] <= 1.0 for row in rows)
        for ranking in {row["ranking"] for row in rows}:
            for key in {row.get("signal_ratio", row.get("n_3b")) for row in rows}:
                means = [
                    row["S(SR) mean"]
                    for row in rows
                    if row["ranking"] == ranking
                    and row.get("signal_ratio", row.get("n_3b")) == key
                ]
                assert means == sorted(means)
