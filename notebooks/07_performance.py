# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Performance
#
# The figures of Yi, Alison and Kuusela (arXiv:2409.06960) need many trainings:
# several signal ratios $\epsilon$, $n$ up to $10^6$, ten repeats each. This page
# measures, on the machine that builds the book, how fast the representation
# network trains and how long one repeat of the HH to 4b study takes, so that a
# reader can plan a run at the paper's sizes.
#
# Aims:
#
# - measure training throughput in events per second, and set it beside the FLOP
#   rate that torch reaches on plain matrix products in the same process;
# - time one full study repeat and estimate the full study's time;
# - check that peak memory grows linearly with the sample size;
# - say how to rerun everything at full size, on one machine or on a cluster.
#
# All numbers come from `benchmarks/bench_training.py`, run by the cell below.

# %% tags=["parameters"]
batch_sizes = [512, 1024, 2048, 4096]  # training batch sizes of the doubling schedule
seconds = 0.5  # minimum wall time over which each rate is measured
threads = 1  # torch intra-op threads, as each Dask worker uses
repeat_sizes = [100_000]  # n_3b values at which one study repeat is timed
memory_sizes = [30_000, 60_000, 120_000]  # n_3b values of the memory measurement
study_repeats = 40  # network trainings of the full study at n_3b = 1e5
workers = 2  # parallel single-threaded workers assumed in the estimate
output_dir = "_build/outputs/07_performance"  # figures and results.json go here

# %%
import json
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from srlib.report import write_results

output = Path(output_dir)
output.mkdir(parents=True, exist_ok=True)
pd.set_option("display.precision", 3)

benchmark_file = output / "bench_training.json"
command = [
    sys.executable,
    "benchmarks/bench_training.py",
    "--output",
    str(benchmark_file),
    "--threads",
    str(threads),
    "--seconds",
    str(seconds),
    "--batch-sizes",
    *map(str, batch_sizes),
    "--repeat-sizes",
    *map(str, repeat_sizes),
    "--memory-sizes",
    *map(str, memory_sizes),
]
completed = subprocess.run(command, check=True, capture_output=True, text=True)
print(completed.stdout)
bench = json.loads(benchmark_file.read_text())

# %% [markdown]
# ## Training throughput against the matrix-product rate
#
# Each step draws a batch, runs the forward pass, the weighted cross-entropy, the
# backward pass and an Adam update. "events/CPU-s" divides by the CPU time of the
# process rather than the wall time, which keeps the number meaningful when other
# jobs share the cores. The FLOPs per event are the matrix-product FLOPs of one
# forward and backward pass, counted by `torch.utils.flop_counter`.

# %%
throughput = pd.DataFrame(bench["throughput"])
throughput["network GFLOP/s"] = throughput["network_flop_rate"] / 1e9
throughput["same-shape mm GFLOP/s"] = throughput["same_shape_matmul_flop_rate"] / 1e9
throughput["1024^3 mm GFLOP/s"] = throughput["square_matmul_flop_rate"] / 1e9
throughput[
    [
        "batch_size",
        "events_per_second",
        "events_per_cpu_second",
        "events_per_cpu_second_from_jets",
        "flops_per_event",
        "network GFLOP/s",
        "same-shape mm GFLOP/s",
        "ratio_to_same_shape_matmul",
        "1024^3 mm GFLOP/s",
        "ratio_to_square_matmul",
    ]
]

# %% [markdown]
# The network has few parameters (the count is in the JSON file) and about 16 000
# matrix-product FLOPs per event for a forward and backward pass, so a step is
# dominated by memory traffic and by many small element-wise kernels, not by
# arithmetic. Its FLOP rate is therefore a small fraction of what torch reaches on
# a matrix product, even one of the network's own skinny shape (batch × 6 rows, 12
# inner, 6 columns), and a smaller one still of a large square product. Reaching
# half of the matrix-product rate, as one might hope for a wide network, is not
# possible for a network this narrow; the column "from jets" shows the rate when
# the engineered inputs are recomputed in every step, as before they were cached.
#
# ## One study repeat and the full study

# %%
repeats = pd.DataFrame(bench["repeat"])
repeats

# %%
first = bench["repeat"][0]
per_repeat = first["cpu_seconds"]
estimate_minutes = per_repeat * study_repeats / workers / 60
print(
    f"One repeat at n_3b = {first['n_3b']:,} took {first['seconds']:.1f} s wall and "
    f"{per_repeat:.1f} s CPU, the network stopping after {first['network_epochs']} "
    f"epochs. {study_repeats} such repeats on {workers} single-threaded workers "
    f"would take about {estimate_minutes:.1f} minutes if each worker had a core "
    "to itself."
)

# %% [markdown]
# The estimate scales the measured CPU time of one repeat. It leaves out the
# smoothed heads of the noise-scale sweep, which reuse the trained networks, train
# on 6.25 % of the events and take under a second each. The full study at
# $n = 10^5$ with 10 repeats trains the network for 4 signal ratios (the list in
# `notebooks/params/paper/02_hh4b_training.yaml`), 40 times in all. On a shared
# machine the wall time is longer by the share of the cores that other jobs take.
#
# ## Peak memory against $n$

# %%
memory = bench["memory"]
sizes = np.asarray(memory["n_3b"])
fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
ax.plot(sizes, memory["peak_rss_mib"], "s", label="peak of the whole process")
ax.plot(sizes, memory["training_peak_rss_mib"], "o", label="peak after simulating")
grid = np.linspace(0, sizes.max() * 1.05, 50)
ax.plot(
    grid,
    memory["fit_intercept_mib"] + memory["fit_kib_per_event"] / 1024 * grid,
    "-",
    label="linear fit of the latter",
)
ax.set_xlabel(r"$n_{3b}$ (the 4b sample is as large)")
ax.set_ylabel("peak resident memory [MiB]")
ax.legend()
fig.savefig(output / "memory_against_n.png", dpi=120)
plt.show()
print(
    f"Fit: {memory['fit_intercept_mib']:.0f} MiB + "
    f"{memory['fit_kib_per_event']:.2f} KiB per 3b event; largest relative "
    f"residual {memory['fit_max_relative_residual']:.1%}."
)

# %% [markdown]
# Each $n$ runs in a fresh process that simulates the samples and runs one repeat
# with one epoch. The simulator draws events in chunks of fixed size, so the peak of
# the whole process (squares) stays flat until the samples outgrow a chunk. The
# circles restart the peak after the simulation (Linux `clear_refs`): they hold the
# interpreter and torch (the intercept), the samples, their splits and the cached
# engineered inputs, which grow in proportion to $n$. The slope gives the memory a
# repeat at $n = 10^6$ needs. At small $n$ the allocator's reuse of memory freed by
# the simulator blurs the line by some tens of MiB.

# %%
records = {
    "machine": bench["machine"],
    "network_parameters": bench["network_parameters"],
    "throughput": bench["throughput"],
    "repeat": bench["repeat"],
    "memory": memory,
    "estimated_full_study_minutes": estimate_minutes,
    "study_repeats": study_repeats,
    "workers": workers,
}
write_results(records, output)

# %% [markdown]
# ## Rerunning at full size
#
# The benchmark alone, with repeats at $n = 10^5$ and $10^6$ and memory up to
# $4 \times 10^5$:
#
# ```
# OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_training.py --large \
#     --memory-sizes 50000 100000 200000 400000 \
#     --output _build/benchmarks/training.json
# ```
#
# The book's chapters at the paper's sizes, with the repeats spread over a local
# Dask cluster of one single-threaded worker per core (`executor` is a papermill
# parameter of the training chapter; the chapters after it read the finished
# repeats from `results_dir`):
#
# ```
# make notebook NB=02_hh4b_training \
#     PARAMS=notebooks/params/paper/02_hh4b_training.yaml \
#     PAPERMILL_ARGS="-p executor dask-local"
# ```
#
# To use a cluster, start a Dask scheduler and workers there (or a
# `dask_jobqueue.SLURMCluster` or `HTCondorCluster`, see `benchmarks/README.md`),
# put `results_dir` on a file system that the workers share, and pass the
# scheduler's address, e.g. `-p executor tcp://10.0.0.5:8786`.
#
# ## Summary
#
# - The tables above give this machine's training throughput, its ratio to the
#   matrix-product FLOP rate, the wall and CPU time of one repeat and the memory
#   per event; the JSON file beside the figures holds every number.
# - The network is too narrow to use the arithmetic units well: its FLOP rate is a
#   small fraction of the matrix-product rate, and the time goes to element-wise
#   kernels and memory traffic.
# - The full study's time follows from the CPU time per repeat and the number of
#   workers; finished repeats are kept on disk, so an interrupted run resumes.
