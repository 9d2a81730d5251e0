"""Benchmark the training of FourJetNetwork and one HH to 4b repeat on this machine.

Three measurements, written together to one JSON file:

1. Training throughput: events per second of a forward pass, a backward pass and an
   Adam step at each training batch size, beside the FLOP rate that torch reaches on
   plain matrix products in the same process. The network's FLOPs per event are
   counted by ``torch.utils.flop_counter`` (matrix products only, as in the
   reference products), so the printed ratios compare like with like. There are
   three references: a product of the network's largest shape, the sequence of
   every product one training step makes (shapes read by the profiler), and a
   1024^3 product. The same steps are then timed under ``torch.compile``.
2. Wall time of one study repeat (``srlib.hh4b.run_hh4b_repeat``) at the default
   settings and n_3b = 1e5 (``--repeat-sizes`` changes it), with ``--large`` also
   at 1e6.
3. Peak resident memory of one repeat against n_3b, each n in a fresh process,
   over the whole process and after the simulation, with a straight-line fit of
   the latter: memory should grow linearly with n.

Run from the repository root, for example::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_training.py \\
        --output _build/benchmarks/training.json --threads 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.profiler import record_function
from torch.utils.flop_counter import FlopCounterMode

from srlib import hh4b
from srlib.network import FourJetNetwork, count_parameters
from srlib.ratio import resolve_device
from srlib.simulation import simulate_samples

logger = logging.getLogger("bench_training")

BATCH_SIZES = (512, 1024, 2048, 4096)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_rate(
    step: Any, device: torch.device, min_seconds: float
) -> tuple[float, float]:
    """Return calls per wall-clock second and per CPU second of this process of
    ``step``, timed over at least ``min_seconds`` of wall time.

    The CPU-time rate is what a core this process had to itself would reach, so it
    stays meaningful on a machine shared with other jobs. It undercounts time on an
    accelerator.
    """
    for _ in range(3):
        step()
    _synchronize(device)
    calls = 0
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        step()
        calls += 1
        if calls % 5 == 0:
            _synchronize(device)
            wall = time.perf_counter() - wall_started
            if wall >= min_seconds:
                cpu = time.process_time() - cpu_started
                return calls / wall, calls / cpu


def network_flops_per_event(width: int, batch_size: int, jets: torch.Tensor) -> float:
    """Count matrix-product FLOPs of one forward and backward pass, per event.

    The batch repeats events when ``batch_size`` exceeds the events given, as the
    timed steps, which draw with replacement, do.
    """
    model = FourJetNetwork(width=width).train()
    batch = jets[torch.arange(batch_size) % len(jets)]
    with FlopCounterMode(display=False) as counter:
        model(batch).sum().backward()
    return counter.get_total_flops() / batch_size


def _training_step(
    jets: torch.Tensor,
    width: int,
    batch_size: int,
    device: torch.device,
    from_jets: bool = False,
    compiled: bool = False,
) -> Callable[[], None]:
    """Build one training step of FourJetNetwork and return it as a function.

    Each step draws a random batch by index, as the training loop does, then runs
    the forward pass, the weighted cross-entropy, the backward pass and Adam. Like
    ``srlib.ratio.train_classifier``, the steps start from the engineered inputs,
    computed once beforehand, unless ``from_jets`` is set, in which case every step
    computes them from the jets. ``compiled`` passes the forward pass through
    ``torch.compile`` as ``TrainingConfig(torch_compile=True)`` does.
    """
    torch.manual_seed(0)
    model = FourJetNetwork(width=width).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    jets = jets.to(device)
    forward = model
    if not from_jets:
        with torch.no_grad():
            jets = model.engineered_inputs(jets)
        forward = model.forward_engineered
    if compiled:
        forward = torch.compile(forward, dynamic=True)
    labels = (torch.arange(len(jets), device=device) % 2).float()
    weights = torch.ones(len(jets), device=device)
    generator = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        # The named ranges cost nothing unless a profiler is running, where
        # step_breakdown reads them.
        with record_function("draw batch"):
            index = torch.randint(
                len(jets), (batch_size,), generator=generator, device=device
            )
            batch, batch_labels, batch_weights = (
                jets[index],
                labels[index],
                weights[index],
            )
        with record_function("forward"):
            logits = forward(batch)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, batch_labels, batch_weights
            )
        with record_function("backward"):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        with record_function("optimizer"):
            optimizer.step()

    return step


STEP_PARTS = ("draw batch", "forward", "backward", "optimizer")


def step_breakdown(
    jets: torch.Tensor,
    width: int,
    batch_size: int,
    device: torch.device,
    n_steps: int = 20,
) -> dict[str, float]:
    """Split the CPU time of a training step into its parts, in ms per step.

    Runs ``n_steps`` eager steps under the profiler and returns the time inside
    each part of :data:`STEP_PARTS`, the time of all matrix products (forward and
    backward) and the wall time of a profiled step. The profiler adds a few
    microseconds to each of the step's few hundred operations. A profiled step
    therefore takes longer than an unprofiled one, and the shares of the parts
    are the numbers to read.
    """
    step = _training_step(jets, width, batch_size, device)
    for _ in range(3):
        step()
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities) as profile:
        started = time.perf_counter()
        for _ in range(n_steps):
            step()
        _synchronize(device)
        wall = time.perf_counter() - started
    parts = dict.fromkeys(STEP_PARTS, 0.0)
    matrix_products = 0.0
    for event in profile.key_averages():
        if event.key in parts:
            parts[event.key] += event.cpu_time_total
        elif event.key in ("aten::mm", "aten::addmm"):
            matrix_products += event.self_cpu_time_total
    # The profiler reports microseconds.
    breakdown = {part: total / 1e3 / n_steps for part, total in parts.items()}
    breakdown["matrix products"] = matrix_products / 1e3 / n_steps
    breakdown["profiled step"] = wall * 1e3 / n_steps
    return breakdown


def training_throughput(
    jets: torch.Tensor,
    width: int,
    batch_size: int,
    device: torch.device,
    min_seconds: float,
    from_jets: bool = False,
) -> tuple[float, float]:
    """Return training events per wall-clock second and per CPU second at one batch
    size (see :func:`_training_step` for what a step does)."""
    step = _training_step(jets, width, batch_size, device, from_jets=from_jets)
    per_wall, per_cpu = _timed_rate(step, device, min_seconds)
    return batch_size * per_wall, batch_size * per_cpu


def compiled_throughput(
    jets: torch.Tensor,
    width: int,
    batch_sizes: list[int],
    device: torch.device,
    min_seconds: float,
) -> tuple[float, list[tuple[float, float]]]:
    """Time the training step under ``torch.compile`` at each batch size.

    Returns the seconds of the first step and the events per wall-clock and per
    CPU second at each batch size. The first step includes the compilation, which
    happens once per process because one dynamic-shape graph serves every batch
    size. It is faster when torch's on-disk cache already contains the kernels.
    """
    started = time.perf_counter()
    _training_step(jets, width, batch_sizes[0], device, compiled=True)()
    _synchronize(device)
    compile_seconds = time.perf_counter() - started
    rates = []
    for batch_size in batch_sizes:
        step = _training_step(jets, width, batch_size, device, compiled=True)
        per_wall, per_cpu = _timed_rate(step, device, min_seconds)
        rates.append((batch_size * per_wall, batch_size * per_cpu))
    return compile_seconds, rates


def matmul_shapes_of_step(
    jets: torch.Tensor, width: int, batch_size: int, device: torch.device
) -> list[tuple[int, int, int]]:
    """Return (rows, inner, columns) of every matrix product in one training step.

    The profiler records each ``mm`` and ``addmm`` call of the forward and the
    backward pass with the shapes of its inputs.
    """
    step = _training_step(jets, width, batch_size, device)
    step()
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, record_shapes=True) as profile:
        step()
    shapes = []
    for event in profile.events():
        if event.name == "aten::mm":
            (rows, inner), (_, columns) = event.input_shapes[:2]
        elif event.name == "aten::addmm":
            (rows, inner), (_, columns) = event.input_shapes[1:3]
        else:
            continue
        shapes.append((rows, inner, columns))
    return shapes


def matmul_sequence_flop_rate(
    shapes: list[tuple[int, int, int]], device: torch.device, min_seconds: float
) -> tuple[float, float]:
    """Return FLOP per wall-clock second and per CPU second of plain float32
    products of the given shapes, run one after the other on contiguous inputs."""
    generator = torch.Generator(device=device).manual_seed(0)
    operands = [
        (
            torch.randn(rows, inner, generator=generator, device=device),
            torch.randn(inner, columns, generator=generator, device=device),
            torch.empty(rows, columns, device=device),
        )
        for rows, inner, columns in shapes
    ]

    def products() -> None:
        for left, right, output in operands:
            torch.mm(left, right, out=output)

    per_wall, per_cpu = _timed_rate(products, device, min_seconds)
    flops = sum(2.0 * rows * inner * columns for rows, inner, columns in shapes)
    return flops * per_wall, flops * per_cpu


def matmul_flop_rate(
    rows: int, inner: int, columns: int, device: torch.device, min_seconds: float
) -> tuple[float, float]:
    """Return FLOP per wall-clock second and per CPU second of a float32 product of
    (rows, inner) and (inner, columns)."""
    generator = torch.Generator(device=device).manual_seed(0)
    left = torch.randn(rows, inner, generator=generator, device=device)
    right = torch.randn(inner, columns, generator=generator, device=device)
    output = torch.empty(rows, columns, device=device)
    per_wall, per_cpu = _timed_rate(
        lambda: torch.mm(left, right, out=output), device, min_seconds
    )
    flops = 2.0 * rows * inner * columns
    return flops * per_wall, flops * per_cpu


def repeat_wall_time(n_3b: int, device: str, seed: int) -> dict[str, Any]:
    """Time one full study repeat at the default settings and ``n_3b`` events."""
    config = hh4b.HH4bConfig(n_3b=n_3b)
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    result = hh4b.run_hh4b_repeat(config, seed, device=device)
    return {
        "n_3b": n_3b,
        "seconds": time.perf_counter() - wall_started,
        "cpu_seconds": time.process_time() - cpu_started,
        "network_epochs": len(result.history_network.train_loss),
        "network_seconds": result.history_network.seconds,
        "head_epochs": len(result.history_head.train_loss),
        "head_seconds": result.history_head.seconds,
        "signal_share_at_5pct": result.curve.signal_share_at(0.05),
    }


def _peak_rss_mib() -> float:
    """Return the peak resident memory of this process since the last reset, in MiB,
    from VmHWM in /proc/self/status (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    raise RuntimeError("VmHWM is missing from /proc/self/status.")


def peak_memory_of_repeat(n_3b: int, device: str) -> dict[str, float]:
    """Run a one-epoch repeat at ``n_3b`` in this process and return its peak
    resident memory in MiB: over the whole process, and from the end of the
    simulation on, with the samples resident.

    One epoch suffices because the samples, splits and per-batch tensors, which set
    the peak, do not depend on the number of epochs. The simulator works in chunks
    of fixed size, so at small n its own peak hides the growth with n. Writing 5 to
    /proc/self/clear_refs (Linux) resets the peak after the simulation, so that the
    second number covers the resident samples plus everything the trainings
    allocate.
    """
    config = hh4b.HH4bConfig(n_3b=n_3b)
    config = replace(
        config,
        network_training=replace(config.network_training, max_epochs=1),
        head_training=replace(config.head_training, max_epochs=1),
    )
    samples = simulate_samples(n_3b, n_3b, config.signal_ratio, seed=0)
    Path("/proc/self/clear_refs").write_text("5")
    hh4b.run_hh4b_repeat(config, 0, samples=samples, device=device)
    return {
        # ru_maxrss is in KiB on Linux.
        "process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "training": _peak_rss_mib(),
    }


def memory_against_n(sizes: list[int], device: str, threads: int) -> dict[str, Any]:
    """Measure the peak memory of a repeat for each n in a fresh process, and fit
    the training peak as intercept + slope * n."""
    process_peaks, training_peaks = [], []
    for n_3b in sizes:
        command = [
            sys.executable,
            __file__,
            "--memory-child",
            str(n_3b),
            "--device",
            device,
            "--threads",
            str(threads),
        ]
        output = subprocess.run(command, capture_output=True, text=True)
        if output.returncode != 0:
            # The child's stderr ends with its own error message, so pass that on.
            raise RuntimeError(
                f"the memory measurement at n_3b = {n_3b} failed:\n"
                + "\n".join(output.stderr.strip().splitlines()[-5:])
            )
        peaks = json.loads(output.stdout.strip().splitlines()[-1])
        process_peaks.append(peaks["process"])
        training_peaks.append(peaks["training"])
        logger.info(
            "n_3b = %d: peak RSS %.0f MiB, %.0f MiB after the simulation",
            n_3b,
            peaks["process"],
            peaks["training"],
        )
    slope, intercept = np.polyfit(sizes, training_peaks, 1)
    fitted = intercept + slope * np.asarray(sizes)
    return {
        "n_3b": sizes,
        "peak_rss_mib": process_peaks,
        "training_peak_rss_mib": training_peaks,
        "fit_intercept_mib": float(intercept),
        "fit_kib_per_event": float(slope * 1024),
        "fit_max_relative_residual": float(
            np.max(np.abs(fitted - training_peaks) / np.asarray(training_peaks))
        ),
    }


def machine_record(threads: int, device: torch.device) -> dict[str, Any]:
    """Describe the hardware and software the numbers come from."""
    record = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "device": str(device),
    }
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
    return record


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmarks selected by ``args`` and return their numbers."""
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    events_3b, events_4b = simulate_samples(
        args.events // 2, args.events // 2, 0.05, seed=0
    )
    jets = torch.from_numpy(
        np.concatenate([events_3b.jets, events_4b.jets]).astype(np.float32)
    )
    results: dict[str, Any] = {
        "machine": machine_record(args.threads, device),
        "network_parameters": count_parameters(FourJetNetwork(width=args.width)),
        "width": args.width,
    }

    # Throughput, and matrix products of the network's own largest shape (the
    # dijet block: B * 6 rows, 2C inner, C columns) and of a square shape.
    throughput = []
    for batch_size in args.batch_sizes:
        flops = network_flops_per_event(args.width, batch_size, jets)
        per_wall, per_cpu = training_throughput(
            jets, args.width, batch_size, device, args.seconds
        )
        from_jets_wall, from_jets_cpu = training_throughput(
            jets, args.width, batch_size, device, args.seconds, from_jets=True
        )
        same_wall, same_cpu = matmul_flop_rate(
            batch_size * 6, 2 * args.width, args.width, device, args.seconds
        )
        breakdown = step_breakdown(jets, args.width, batch_size, device)
        shapes = matmul_shapes_of_step(jets, args.width, batch_size, device)
        own_wall, own_cpu = matmul_sequence_flop_rate(shapes, device, args.seconds)
        throughput.append(
            {
                "batch_size": batch_size,
                "events_per_second": per_wall,
                "events_per_cpu_second": per_cpu,
                "events_per_second_from_jets": from_jets_wall,
                "events_per_cpu_second_from_jets": from_jets_cpu,
                "flops_per_event": flops,
                "network_flop_rate": flops * per_wall,
                "same_shape_matmul_flop_rate": same_wall,
                "ratio_to_same_shape_matmul": flops * per_wall / same_wall,
                "ratio_to_same_shape_matmul_cpu_time": flops * per_cpu / same_cpu,
                "matmuls_per_step": len(shapes),
                "own_matmuls_flop_rate": own_wall,
                "ratio_to_own_matmuls": flops * per_wall / own_wall,
                "ratio_to_own_matmuls_cpu_time": flops * per_cpu / own_cpu,
                "step_breakdown_ms": breakdown,
            }
        )
    square_wall, square_cpu = matmul_flop_rate(1024, 1024, 1024, device, args.seconds)
    for row in throughput:
        row["square_matmul_flop_rate"] = square_wall
        row["ratio_to_square_matmul"] = row["network_flop_rate"] / square_wall
        row["ratio_to_square_matmul_cpu_time"] = (
            row["flops_per_event"] * row["events_per_cpu_second"] / square_cpu
        )
    if not args.skip_compile:
        compile_seconds, rates = compiled_throughput(
            jets, args.width, list(args.batch_sizes), device, args.seconds
        )
        results["compile_seconds"] = compile_seconds
        for row, (per_wall, per_cpu) in zip(throughput, rates, strict=True):
            row["events_per_second_compiled"] = per_wall
            row["events_per_cpu_second_compiled"] = per_cpu
            row["ratio_to_own_matmuls_compiled"] = (
                row["flops_per_event"] * per_wall / row["own_matmuls_flop_rate"]
            )
    results["throughput"] = throughput

    if not args.skip_repeat:
        sizes = list(args.repeat_sizes)
        if args.large and 1_000_000 not in sizes:
            sizes.append(1_000_000)
        results["repeat"] = [repeat_wall_time(n, args.device, args.seed) for n in sizes]
    if args.memory_sizes:
        results["memory"] = memory_against_n(
            args.memory_sizes, args.device, args.threads
        )
    return results


def report(results: dict[str, Any]) -> str:
    """Format the numbers as a short text table."""
    lines = [
        f"machine: {results['machine']['processor']}, "
        f"{results['machine']['torch_threads']} torch threads, "
        f"device {results['machine']['device']}, torch {results['machine']['torch']}",
        f"network parameters: {results['network_parameters']}",
        "batch  events/s  events/CPU-s  GFLOP/s  ratio to: same-shape mm  "
        "own mm  1024^3 mm   compiled events/s  own mm",
    ]
    for row in results["throughput"]:
        lines.append(
            f"{row['batch_size']:5d}  {row['events_per_second']:8.0f}  "
            f"{row['events_per_cpu_second']:12.0f}  "
            f"{row['network_flop_rate'] / 1e9:7.2f}  "
            f"{row['ratio_to_same_shape_matmul']:23.3f}  "
            f"{row['ratio_to_own_matmuls']:6.3f}  "
            f"{row['ratio_to_square_matmul']:9.4f}"
            + (
                f"  {row['events_per_second_compiled']:18.0f}  "
                f"{row['ratio_to_own_matmuls_compiled']:6.3f}"
                if "events_per_second_compiled" in row
                else "  (not timed)"
            )
        )
    if "compile_seconds" in results:
        lines.append(
            f"first compiled step, compilation included: "
            f"{results['compile_seconds']:.1f} s"
        )
    square = results["throughput"][0]["square_matmul_flop_rate"]
    lines.append(f"square 1024^3 matmul: {square / 1e9:.1f} GFLOP/s")
    for row in results.get("repeat", []):
        lines.append(
            f"repeat at n_3b = {row['n_3b']:,}: {row['seconds']:.1f} s "
            f"({row['cpu_seconds']:.1f} CPU s), "
            f"network {row['network_epochs']} epochs in "
            f"{row['network_seconds']:.1f} s"
        )
    if "memory" in results:
        memory = results["memory"]
        for n, peak, training in zip(
            memory["n_3b"],
            memory["peak_rss_mib"],
            memory["training_peak_rss_mib"],
            strict=True,
        ):
            lines.append(
                f"peak RSS at n_3b = {n:,}: {peak:.0f} MiB, after the simulation "
                f"{training:.0f} MiB"
            )
        lines.append(
            f"linear fit: {memory['fit_intercept_mib']:.0f} MiB + "
            f"{memory['fit_kib_per_event']:.2f} KiB per 3b event, max relative "
            f"residual {memory['fit_max_relative_residual']:.1%}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="JSON file for the numbers")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1)"
    )
    parser.add_argument(
        "--device", default="cpu", help="'cpu', 'cuda' or 'auto' (default cpu)"
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=list(BATCH_SIZES),
        help="training batch sizes to time (default: the doubling schedule 512-4096)",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=40_000,
        help="simulated events that the throughput batches are drawn from",
    )
    parser.add_argument("--width", type=int, default=6, help="network channel width")
    parser.add_argument(
        "--seconds",
        type=float,
        default=2.0,
        help="minimum seconds each rate is timed over",
    )
    parser.add_argument(
        "--skip-repeat", action="store_true", help="do not time a study repeat"
    )
    parser.add_argument(
        "--skip-compile",
        action="store_true",
        help="do not time the training step under torch.compile",
    )
    parser.add_argument(
        "--repeat-sizes",
        type=int,
        nargs="+",
        default=[100_000],
        help="n_3b values at which to time a study repeat (default 100000)",
    )
    parser.add_argument(
        "--large", action="store_true", help="also time a repeat at n_3b = 1e6"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the timed repeat")
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="*",
        default=[25_000, 50_000, 100_000, 200_000],
        help="n_3b values of the memory measurement; none to skip it",
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is None:
        _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit through ``parser.error`` on arguments that would fail later in the run."""
    for name in ("threads", "width"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be 1 or more")
    if args.events < 2:
        parser.error("--events must be 2 or more")
    if not args.seconds > 0:
        parser.error("--seconds must be above 0")
    for name in ("batch_sizes", "repeat_sizes", "memory_sizes"):
        if any(value < 1 for value in getattr(args, name)):
            parser.error(f"--{name.replace('_', '-')} must all be 1 or more")
    if args.memory_sizes and len(set(args.memory_sizes)) < 2:
        parser.error(
            "--memory-sizes needs two or more different sizes for the straight-line "
            "fit, or none to skip the memory measurement"
        )
    if args.large and args.skip_repeat:
        parser.error("--large times a repeat, so it cannot go with --skip-repeat")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print a table and write the JSON file."""
    args = parse_args(argv)
    if args.memory_child is not None:
        torch.set_num_threads(args.threads)
        print(json.dumps(peak_memory_of_repeat(args.memory_child, args.device)))
        return
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    results = run(args)
    print(report(results))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
