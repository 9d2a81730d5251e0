"""Measure how fast the default simulator makes selected events on one core.

Run from the repository root:

    .venv/bin/python benchmarks/bench_simulation.py              # 1e6 per sample
    .venv/bin/python benchmarks/bench_simulation.py --events 100000
    .venv/bin/python benchmarks/bench_simulation.py --reference  # plain algorithm

For each sample (HH -> 4b signal, 4b and 3b background) it simulates the
requested number of events that pass the four-jet selection, with the default
models, and prints the wall time, the CPU time of the process, the selected
events per second (wall) and the share of generated events that were kept. That
share slightly underestimates the acceptance, because the last batch generates
more events than it needs. On a machine shared with other jobs the CPU time is
the steadier measure. The target is 1e6 selected events per sample in under a
minute. ``--reference`` times the plain generate-and-select algorithm that the
staged sampler replaced, which the tests keep as the reference.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

# One core: the BLAS and OpenMP pools of numpy must be set before it is imported.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import numpy as np  # noqa: E402

from srlib.events import Events  # noqa: E402
from srlib.simulation import (  # noqa: E402
    BackgroundModel,
    DetectorModel,
    SignalModel,
    ThreeTagModel,
    _background_process,
    _generate_selected_reference,
    _signal_process,
    _simulate_selected,
    simulate_background_3b,
    simulate_background_4b,
    simulate_signal,
)

SAMPLES: dict[str, Callable[..., Events]] = {
    "signal": simulate_signal,
    "4b": simulate_background_4b,
    "3b": simulate_background_3b,
}

TARGET_SECONDS = 60.0


def simulate_reference(name: str, n: int, seed: int) -> Events:
    """Simulate n events of a sample with the plain generate-and-select algorithm."""
    if name == "signal":
        process = _signal_process(SignalModel())
    elif name == "4b":
        process = _background_process(BackgroundModel(), n_light_jets=0)
    else:
        three_tag = ThreeTagModel()
        process = _background_process(
            three_tag.apply(BackgroundModel()), n_light_jets=three_tag.n_light_jets
        )
    return _simulate_selected(
        n,
        process,
        DetectorModel(),
        np.random.default_rng(seed),
        name == "signal",
        name,
        generate=_generate_selected_reference,
    )


class _GeneratedCount(logging.Handler):
    """Store the number of generated events from the simulator's DEBUG record."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.generated = 0

    def emit(self, record: logging.LogRecord) -> None:
        # NOTE: this reads the arguments (selected, sample name, generated,
        # acceptance) of the DEBUG message in simulation._simulate_selected and
        # must follow that message if it changes.
        if record.msg.startswith("Simulated") and record.args:
            self.generated = int(record.args[2])


def cpu_name() -> str:
    """Return the CPU model from /proc/cpuinfo, or the machine type elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def pin_to_one_core() -> str:
    """Pin this process to one CPU where the OS allows it, and describe the result."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity), one thread"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=int,
        default=1_000_000,
        help="selected events per sample (default 1000000)",
    )
    parser.add_argument(
        "--samples",
        nargs="+",
        choices=list(SAMPLES),
        default=list(SAMPLES),
        help="samples to time (default: all three)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="time the plain generate-and-select algorithm instead",
    )
    arguments = parser.parse_args()

    counter = _GeneratedCount()
    simulation_logger = logging.getLogger("srlib.simulation")
    simulation_logger.addHandler(counter)
    simulation_logger.setLevel(logging.DEBUG)

    print(
        f"{cpu_name()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}, {pin_to_one_core()}"
    )
    print(
        f"{'sample':>8} {'events':>9} {'seconds':>8} {'CPU s':>7} "
        f"{'events/s':>10} {'kept':>7}"
    )
    for name in arguments.samples:
        start, start_cpu = time.perf_counter(), time.process_time()
        if arguments.reference:
            events = simulate_reference(name, arguments.events, arguments.seed)
        else:
            events = SAMPLES[name](arguments.events, seed=arguments.seed)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - start_cpu
        acceptance = len(events) / counter.generated if counter.generated else 1.0
        verdict = "" if seconds < TARGET_SECONDS else "  (over the 60 s target)"
        print(
            f"{name:>8} {len(events):>9} {seconds:>8.1f} {cpu_seconds:>7.1f} "
            f"{len(events) / seconds:>10.0f} {acceptance:>7.1%}{verdict}"
        )


if __name__ == "__main__":
    main()
