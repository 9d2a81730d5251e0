"""Sweeps of the HH to 4b study over configurations and seeds, serial or on Dask.

Each repeat (one configuration and one seed) is an independent task. The task runs
:func:`srlib.hh4b.run_hh4b_repeat` and writes its files with
:func:`srlib.hh4b.save_repeat`, each through a temporary file and an atomic rename,
so no reader sees a partly written file. A repeat whose table is on
disk is finished: a rerun skips it, so an interrupted sweep resumes where it stopped.
A task that fails is logged with its configuration and seed and does not stop the
others.

Executors:

- ``"serial"``: every repeat in this process, one after the other;
- ``"dask-local"``: a :class:`distributed.LocalCluster` on this machine, with one
  single-threaded worker process per core, listening on 127.0.0.1 only and without
  the dashboard;
- a scheduler address such as ``"tcp://10.0.0.5:8786"``: an existing Dask cluster;
- a :class:`distributed.Client`, or a cluster object such as a
  ``dask_jobqueue.SLURMCluster`` or ``HTCondorCluster``, to which the tasks go.

Example:
    >>> from srlib.hh4b import HH4bConfig
    >>> configs = [HH4bConfig(n_3b=10_000, signal_ratio=eps) for eps in (0.05, 0.1)]
    >>> outcome = run_sweep(configs, range(3), "results", executor="dask-local")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from srlib.hh4b import HH4bConfig, repeat_files, run_hh4b_repeat, save_repeat

__all__ = [
    "RepeatFailure",
    "SweepError",
    "SweepResult",
    "local_cluster",
    "run_repeat_task",
    "run_sweep",
]

logger = logging.getLogger(__name__)

EXECUTOR_NAMES = ("serial", "dask-local")


@dataclass(frozen=True)
class RepeatFailure:
    """A repeat that raised, with what is needed to rerun it.

    Attributes:
        config: The configuration of the repeat.
        seed: Its seed.
        error: ``repr`` of the exception.
        traceback: The formatted traceback, from the worker where it ran.
    """

    config: HH4bConfig
    seed: int
    error: str
    traceback: str = field(repr=False)

    def describe(self) -> str:
        """Return one line naming the configuration, the seed and the error."""
        settings = json.dumps(self.config.to_dict(), sort_keys=True)
        return (
            f"config {self.config.key()} seed {self.seed} failed with {self.error}; "
            f"configuration: {settings}"
        )


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    Attributes:
        table: The tidy tables of all finished repeats, in configuration and seed
            order, as :meth:`srlib.hh4b.HH4bRepeatResult.to_table` writes them.
        computed: (config key, seed) of the repeats run by this call.
        skipped: (config key, seed) of the repeats found finished on disk.
        failures: The repeats that raised.
    """

    table: pd.DataFrame
    computed: list[tuple[str, int]]
    skipped: list[tuple[str, int]]
    failures: list[RepeatFailure]


class SweepError(RuntimeError):
    """Error raised when repeats of a sweep failed. The finished ones stay on disk.

    Attributes:
        result: The sweep's outcome, with the finished table and the failures.
    """

    def __init__(self, result: SweepResult) -> None:
        lines = [failure.describe() for failure in result.failures]
        super().__init__(
            f"{len(result.failures)} repeat(s) of the sweep failed, "
            f"{len(result.computed)} finished in this run and {len(result.skipped)} "
            "were already on disk:\n" + "\n".join(lines)
        )
        self.result = result


def run_repeat_task(
    config: HH4bConfig,
    seed: int,
    results_dir: str,
    device: str = "auto",
    progress: bool = False,
    torch_threads: int | None = 1,
) -> str:
    """Run one repeat and write its files, unless its table is already on disk.

    This is the function each Dask task calls. It is importable on the workers, so
    they need srlib installed, and ``results_dir`` must be on a file system that the
    workers and the submitting process share.

    Args:
        config: The configuration.
        seed: The seed.
        results_dir: Folder of the results, as for :func:`srlib.hh4b.run_hh4b_study`.
        device: Device of both trainings.
        progress: Show progress bars on the worker's stderr.
        torch_threads: Intra-op threads of torch in this process, or None to leave
            the setting alone. One thread per worker is fastest for this small
            network, which cannot keep several cores busy.

    Returns:
        The path of the repeat's table.
    """
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    path = repeat_files(results_dir, config, seed)["table"]
    if not path.exists():
        result = run_hh4b_repeat(config, seed, device=device, progress=progress)
        save_repeat(result, results_dir)
    return str(path)


def _check_executor(executor: object) -> None:
    if isinstance(executor, str):
        if executor in EXECUTOR_NAMES or "://" in executor:
            return
        raise ValueError(
            f"executor must be 'serial', 'dask-local', a scheduler address such as "
            f"'tcp://host:8786', a distributed.Client or a Dask cluster, got "
            f"{executor!r}."
        )
    if hasattr(executor, "submit") or hasattr(executor, "scheduler_address"):
        return
    raise ValueError(
        "executor must be 'serial', 'dask-local', a scheduler address, a "
        f"distributed.Client or a Dask cluster, got {type(executor).__name__}."
    )


def local_cluster(n_workers: int | None = None, processes: bool = True) -> Any:
    """Start a Dask LocalCluster that listens on 127.0.0.1 only, without dashboard.

    Each worker has one thread. The scheduler's HTTP server, which Dask starts even
    without the dashboard, takes a free port on 127.0.0.1, so the cluster neither
    needs port 8787 nor listens on other interfaces.

    Args:
        n_workers: Number of workers; the number of cores if None.
        processes: Run the workers as processes (True), which run repeats in
            parallel, or as threads of this process (False), which start faster
            but share the Python interpreter lock.

    Returns:
        The ``distributed.LocalCluster``. Close it when done.
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=processes,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )


def _dask_client(executor: object, n_workers: int | None) -> tuple[Any, list[Any]]:
    """Return a distributed.Client for ``executor`` and the objects to close after
    the sweep (those this function created)."""
    from distributed import Client

    if executor == "dask-local":
        cluster = local_cluster(n_workers)
        client = Client(cluster)
        return client, [client, cluster]
    if isinstance(executor, str):
        client = Client(executor)
        return client, [client]
    if hasattr(executor, "submit"):
        return executor, []
    client = Client(executor)
    return client, [client]


def _write_configs(configs: list[HH4bConfig], results_dir: Path) -> None:
    for config in configs:
        folder = results_dir / config.key()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2))


def _failure(config: HH4bConfig, seed: int, error: BaseException) -> RepeatFailure:
    formatted = "".join(traceback.format_exception(error))
    failure = RepeatFailure(config, seed, repr(error), formatted)
    logger.error("%s\n%s", failure.describe(), formatted)
    return failure


def run_sweep(
    configs: Iterable[HH4bConfig],
    seeds: Iterable[int],
    results_dir: str | os.PathLike[str],
    *,
    executor: object = "serial",
    device: str = "auto",
    progress: bool = False,
    n_workers: int | None = None,
    torch_threads: int | None = None,
) -> SweepResult:
    """Run every configuration with every seed, skipping repeats already on disk.

    The results do not depend on the executor: each repeat draws its samples,
    splits and initial weights from its own seed, so for the same seeds a Dask
    sweep writes the same numbers as a serial one (on CPU with the same
    ``torch_threads``).

    Warning:
        On a cluster of several machines, ``results_dir`` must be on a shared file
        system, because the workers write the result files and the submitting
        process reads the tables back. A script that uses ``"dask-local"`` must
        call this under ``if __name__ == "__main__":``, because the worker
        processes start by importing the main module (notebooks need nothing).

    Args:
        configs: The configurations.
        seeds: The seeds, run for every configuration.
        results_dir: Folder of the results, one subfolder per configuration key.
        executor: ``"serial"``, ``"dask-local"``, a Dask scheduler address, a
            ``distributed.Client`` or a Dask cluster object (see the module notes).
        device: Device of the trainings, ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        progress: Show training progress bars.
        n_workers: Worker processes of ``"dask-local"``; the number of cores if
            None. Ignored by the other executors.
        torch_threads: Torch intra-op threads in each process that runs repeats.
            None means 1 on Dask workers and torch's current setting for
            ``"serial"``.

    Returns:
        The finished table, the repeats computed and skipped, and the failures.

    Raises:
        ValueError: If ``executor`` is none of the accepted kinds.
    """
    _check_executor(executor)
    results_dir = Path(results_dir)
    configs, seeds = list(configs), list(seeds)
    _write_configs(configs, results_dir)

    pending, skipped = [], []
    for config in configs:
        for seed in seeds:
            if repeat_files(results_dir, config, seed)["table"].exists():
                logger.info("skipping config %s seed %d: on disk", config.key(), seed)
                skipped.append((config.key(), seed))
            else:
                pending.append((config, seed))
    logger.info(
        "sweep: %d repeats to run, %d on disk, executor %s",
        len(pending),
        len(skipped),
        executor if isinstance(executor, str) else type(executor).__name__,
    )

    started = time.perf_counter()
    if executor == "serial" or not pending:
        computed, failures = _run_serial(
            pending, results_dir, device, progress, torch_threads
        )
    else:
        worker_threads = 1 if torch_threads is None else torch_threads
        computed, failures = _run_dask(
            pending, results_dir, executor, device, progress, n_workers, worker_threads
        )
    logger.info(
        "sweep: %d repeats finished and %d failed in %.1f s",
        len(computed),
        len(failures),
        time.perf_counter() - started,
    )

    tables = [
        pd.read_parquet(path)
        for config in configs
        for seed in seeds
        if (path := repeat_files(results_dir, config, seed)["table"]).exists()
    ]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return SweepResult(table, computed, skipped, failures)


def _run_serial(
    pending: list[tuple[HH4bConfig, int]],
    results_dir: Path,
    device: str,
    progress: bool,
    torch_threads: int | None,
) -> tuple[list[tuple[str, int]], list[RepeatFailure]]:
    computed, failures = [], []
    for config, seed in pending:
        try:
            run_repeat_task(
                config, seed, str(results_dir), device, progress, torch_threads
            )
        except Exception as error:  # reported below, and the sweep goes on
            failures.append(_failure(config, seed, error))
        else:
            computed.append((config.key(), seed))
    return computed, failures


def _run_dask(
    pending: list[tuple[HH4bConfig, int]],
    results_dir: Path,
    executor: object,
    device: str,
    progress: bool,
    n_workers: int | None,
    torch_threads: int,
) -> tuple[list[tuple[str, int]], list[RepeatFailure]]:
    from distributed import as_completed

    client, to_close = _dask_client(executor, n_workers)
    computed, failures = [], []
    try:
        futures = {}
        for config, seed in pending:
            future = client.submit(
                run_repeat_task,
                config,
                seed,
                str(results_dir),
                device,
                progress,
                torch_threads,
                # Dask would otherwise merge tasks with equal arguments and may
                # rerun a task on another worker after a worker dies; the key
                # names the repeat in the scheduler's logs.
                key=f"hh4b-{config.key()}-seed{seed}",
                pure=False,
                retries=0,
            )
            futures[future] = (config, seed)
        for future in as_completed(futures):
            config, seed = futures[future]
            error = future.exception()
            if error is None:
                computed.append((config.key(), seed))
                logger.info("finished config %s seed %d", config.key(), seed)
            else:
                failures.append(_failure(config, seed, error))
    finally:
        for item in to_close:
            item.close()
    return computed, failures
