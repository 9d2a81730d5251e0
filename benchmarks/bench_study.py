"""Time the full study at n_3b = 1e5 on a local Dask cluster: Figures 2 to 4.

The study has three stages, run one after the other, each spread over the same
cluster of single-threaded worker processes:

1. the Gaussian toy of Figure 2: ``--toy-repeats`` draws and trainings of both
   ratios at the book's toy settings (``notebooks/params/book/01_toy_gaussian.yaml``);
2. the HH to 4b networks of Figures 3 and 4: every signal ratio of
   ``notebooks/params/paper/02_hh4b_training.yaml`` times ``--repeats`` seeds, at
   ``--n-3b`` events (default 1e5, where the paper goes up to 1e6), through
   :func:`srlib.hh4b.run_hh4b_study`;
3. the noise-scale sweep of Figure 3 (right): the smoothed head of each repeat
   retrained at every eta of ``notebooks/params/paper/03_eta_sensitivity.yaml``,
   through :func:`srlib.sensitivity.sweep_eta`.

Every repeat is computed afresh in a temporary results folder, removed at the end
unless ``--results-dir`` names one to keep. Run from the repository root::

    .venv/bin/python benchmarks/bench_study.py --workers 2 \\
        --output _build/benchmarks/study.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from distributed import Client

from srlib import hh4b, sensitivity
from srlib.ratio import TrainingConfig
from srlib.study import run_toy_repeat
from srlib.sweep import local_cluster
from srlib.toy import GaussianToy

logger = logging.getLogger("bench_study")

# The parameter files, found from this script's place so that it runs from any
# folder.
PARAMS = Path(__file__).resolve().parent.parent / "notebooks" / "params"


def _read_params(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _toy_repeat(
    n_train: int, n_eval: int, max_epochs: int, seed: int, compiled: bool = False
) -> dict[str, float]:
    """Run one toy repeat at the first chapter's settings and return its record."""
    toy = GaussianToy()
    config = TrainingConfig(
        max_epochs=max_epochs, device="cpu", progress=False, torch_compile=compiled
    )
    result = run_toy_repeat(
        toy, n_train=n_train, n_eval=n_eval, config=config, seed=seed
    )
    return result.to_record(toy)


def _eta_sweep(
    config: hh4b.HH4bConfig, seed: int, results_dir: str, etas: list[float]
) -> dict[str, Any]:
    """Retrain one repeat's smoothed head at each eta and return the S(5 %) values."""
    sweep = sensitivity.sweep_eta(config, seed, results_dir, etas, device="cpu")
    return {
        "signal_ratio": config.signal_ratio,
        "seed": seed,
        "signal_share_at_5pct": [
            curve.signal_share_at(0.05) for curve in sweep.curves()
        ],
    }


def study_configs(
    n_3b: int, signal_ratios: list[float], max_epochs: int, compiled: bool = False
) -> list[hh4b.HH4bConfig]:
    """Build the HH to 4b configurations as the training chapter does, with
    ``compiled`` setting ``torch_compile`` of both trainings."""
    base = hh4b.HH4bConfig(n_3b=n_3b)
    base = replace(
        base,
        network_training=replace(
            base.network_training, max_epochs=max_epochs, torch_compile=compiled
        ),
        head_training=replace(base.head_training, torch_compile=compiled),
    )
    return [replace(base, signal_ratio=eps) for eps in signal_ratios]


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the three stages and return their wall times and a summary.

    Without ``args.results_dir`` the repeats go to a temporary folder, which is
    removed at the end, also when a stage fails or the run is interrupted.
    """
    if args.results_dir is not None:
        results_dir = Path(args.results_dir)
        results_dir.mkdir(parents=True, exist_ok=True)
        return _run_stages(args, results_dir)
    results_dir = Path(tempfile.mkdtemp(prefix="bench_study_"))
    try:
        return _run_stages(args, results_dir)
    finally:
        shutil.rmtree(results_dir, ignore_errors=True)


def _run_stages(args: argparse.Namespace, results_dir: Path) -> dict[str, Any]:
    toy_params = _read_params(PARAMS / "book" / "01_toy_gaussian.yaml")
    training = _read_params(PARAMS / "paper" / "02_hh4b_training.yaml")
    etas = _read_params(PARAMS / "paper" / "03_eta_sensitivity.yaml")["etas"]
    signal_ratios = _default(args.signal_ratios, training["signal_ratios"])
    max_epochs = _default(args.max_epochs, training["max_epochs"])
    n_train = _default(args.toy_events, toy_params["n_train"])
    configs = study_configs(args.n_3b, signal_ratios, max_epochs, args.compile)
    seeds = list(range(args.repeats))

    record: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "workers": args.workers,
        "n_3b": args.n_3b,
        "signal_ratios": signal_ratios,
        "repeats": args.repeats,
        "max_epochs": max_epochs,
        "etas": etas,
        "toy_repeats": args.toy_repeats,
        "toy_n_train": n_train,
        "torch_compile": args.compile,
        "seconds": {},
    }
    started = time.perf_counter()
    with local_cluster(args.workers) as cluster, Client(cluster) as client:
        record["seconds"]["cluster start"] = time.perf_counter() - started

        stage = time.perf_counter()
        toy_futures = client.map(
            _toy_repeat,
            [n_train] * args.toy_repeats,
            [n_train] * args.toy_repeats,
            [toy_params["max_epochs"]] * args.toy_repeats,
            range(args.toy_repeats),
            [args.compile] * args.toy_repeats,
            pure=False,
        )
        toy_records = client.gather(toy_futures)
        record["seconds"]["toy"] = time.perf_counter() - stage
        logger.info("toy: %.0f s", record["seconds"]["toy"])

        stage = time.perf_counter()
        table = hh4b.run_hh4b_study(
            configs, seeds, results_dir, device="cpu", executor=client
        )
        record["seconds"]["networks"] = time.perf_counter() - stage
        logger.info("networks: %.0f s", record["seconds"]["networks"])

        stage = time.perf_counter()
        sweep_futures = [
            client.submit(_eta_sweep, config, seed, str(results_dir), etas, pure=False)
            for config in configs
            for seed in seeds
        ]
        sweeps = client.gather(sweep_futures)
        record["seconds"]["eta sweep"] = time.perf_counter() - stage
        logger.info("eta sweep: %.0f s", record["seconds"]["eta sweep"])
    record["seconds"]["total"] = time.perf_counter() - started

    # Enough of the results to show that the stages did the work of the study.
    record["toy_peak_mean"] = float(np.mean([r["peak"] for r in toy_records]))
    record["repeat_seconds_mean"] = float(
        table.drop_duplicates(["config_key", "seed"])["seconds"].mean()
    )
    record["signal_share_at_5pct"] = {
        str(eps): float(
            np.mean(
                [curve.signal_share_at(0.05) for curve in hh4b.curves_from_table(group)]
            )
        )
        for eps, group in table.groupby("signal_ratio")
    }
    record["eta_sweep_signal_share_at_5pct"] = {
        str(eta): float(np.mean([s["signal_share_at_5pct"][i] for s in sweeps]))
        for i, eta in enumerate(etas)
    }
    return record


def report(record: dict[str, Any]) -> str:
    """Format the stage times as text."""
    seconds = record["seconds"]
    lines = [
        f"full study at n_3b = {record['n_3b']:,}: {len(record['signal_ratios'])} "
        f"signal ratios x {record['repeats']} repeats, {len(record['etas'])} etas, "
        f"{record['toy_repeats']} toy repeats, on {record['workers']} workers"
        + (", compiled" if record["torch_compile"] else ""),
    ]
    lines += [
        f"  {stage}: {value:.0f} s"
        for stage, value in seconds.items()
        if stage != "total"
    ]
    lines.append(f"  total: {seconds['total'] / 60:.1f} min")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="JSON file for the numbers")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="single-threaded Dask workers (default 2)",
    )
    parser.add_argument(
        "--n-3b", type=int, default=100_000, help="3b events (default 100000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=10, help="seeds per signal ratio (default 10)"
    )
    parser.add_argument(
        "--signal-ratios",
        type=float,
        nargs="+",
        help="signal ratios (default: the paper parameter file's)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        help="network epoch limit (default: the paper parameter file's)",
    )
    parser.add_argument(
        "--toy-repeats", type=int, default=10, help="toy repeats (default 10)"
    )
    parser.add_argument(
        "--toy-events",
        type=int,
        help="toy events per sample (default: the book's toy parameter file's)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="train with TrainingConfig(torch_compile=True)",
    )
    parser.add_argument(
        "--results-dir",
        help="empty folder to keep the repeats in (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through ``parser.error`` on arguments that would fail later in the run."""
    for name in ("workers", "repeats", "toy_repeats", "max_epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")

    # A repeat measures its SR on a held-out part of about n / 5 4b events, which
    # must contain signal events. At the paper's smallest signal ratio, 0.01, that
    # part contains fewer than one on average below 500 events. The bound 1000
    # keeps a margin and rejects the mistake before the toy stage runs.
    for name in ("n_3b", "toy_events"):
        value = getattr(args, name)
        if value is not None and value < 1000:
            parser.error(f"--{name.replace('_', '-')} must be 1000 or more")
    if args.signal_ratios is not None:
        if not all(0 < eps < 1 for eps in args.signal_ratios):
            parser.error("--signal-ratios must lie between 0 and 1, both excluded")
        if len(set(args.signal_ratios)) < len(args.signal_ratios):
            parser.error("--signal-ratios must not repeat a value")

    if args.results_dir is not None:
        folder = Path(args.results_dir)
        if folder.exists() and not folder.is_dir():
            parser.error(f"--results-dir {folder} is a file, not a folder")
        if folder.is_dir() and any(folder.iterdir()):
            parser.error(
                f"--results-dir {folder} is not empty: finished repeats would be "
                "reused and the timing would be wrong; name an empty or new folder"
            )

    if args.output is not None:
        if args.output.is_dir():
            parser.error(f"--output {args.output} is a folder; name a JSON file")
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            parser.error(f"--output: cannot create {args.output.parent}: {error}")


def main(argv: list[str] | None = None) -> None:
    """Run the study, print the stage times and write the JSON file."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("distributed").setLevel(logging.WARNING)
    record = run(args)
    print(report(record))
    if args.output is not None:
        args.output.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
