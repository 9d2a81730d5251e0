"""Tests for srlib.sweep: Dask sweeps match serial ones, resume, and report failures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from srlib.hh4b import (
    HH4bConfig,
    load_scores,
    repeat_files,
    run_hh4b_study,
)
from srlib.sweep import SweepError, local_cluster, run_sweep

distributed = pytest.importorskip("distributed")

SEEDS = [3, 4, 5]
# Columns that record when and how long, not what, a repeat computed.
TIMING_COLUMNS = ["seconds"]


def tiny_config(**changes: object) -> HH4bConfig:
    config = HH4bConfig(n_3b=800, signal_ratio=0.2)
    config = replace(
        config,
        network_training=replace(config.network_training, max_epochs=1),
        head_training=replace(config.head_training, max_epochs=2),
    )
    return replace(config, **changes)


def four_configs() -> list[HH4bConfig]:
    return [
        tiny_config(signal_ratio=0.2, eta=0.1),
        tiny_config(signal_ratio=0.3, eta=0.1),
        tiny_config(signal_ratio=0.2, eta=0.3),
        tiny_config(signal_ratio=0.2, representation="pooled"),
    ]


@pytest.fixture(scope="module")
def client() -> distributed.Client:
    # Two workers as threads of this process with one torch thread each: the
    # sweep's Dask path runs in full without worker processes to start, and every
    # server listens on 127.0.0.1 only.
    cluster = local_cluster(n_workers=2, processes=False)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def without_timing(table: pd.DataFrame) -> pd.DataFrame:
    table = table.drop(columns=TIMING_COLUMNS)
    return table.sort_values(["config_key", "seed", "method", "size"]).reset_index(
        drop=True
    )


def table_times(results_dir: Path, configs: list[HH4bConfig]) -> dict:
    return {
        (config.key(), seed): repeat_files(results_dir, config, seed)["table"]
        .stat()
        .st_mtime_ns
        for config in configs
        for seed in SEEDS
    }


def test_dask_sweep_matches_serial(tmp_path: Path, client: distributed.Client) -> None:
    configs = four_configs()
    serial = run_hh4b_study(configs, SEEDS, tmp_path / "serial", device="cpu")
    outcome = run_sweep(
        configs, SEEDS, tmp_path / "dask", executor=client, device="cpu"
    )

    assert outcome.failures == []
    assert len(outcome.computed) == 12
    assert outcome.skipped == []
    # Same seeds give the same samples, splits and initial weights, and one torch
    # thread per repeat gives the same order of floating-point sums, so the
    # numbers agree exactly, not only within a tolerance.
    pd.testing.assert_frame_equal(without_timing(outcome.table), without_timing(serial))
    for config in configs:
        for seed in SEEDS:
            pd.testing.assert_frame_equal(
                load_scores(tmp_path / "dask", config, seed),
                load_scores(tmp_path / "serial", config, seed),
            )


def test_interrupted_sweep_resumes(tmp_path: Path, client: distributed.Client) -> None:
    configs = four_configs()
    first = run_sweep(configs, SEEDS, tmp_path, executor=client, device="cpu")
    before = table_times(tmp_path, configs)

    # A sweep killed while saving a repeat leaves its scores, history and network
    # but not its table, which save_repeat writes last.
    interrupted = (configs[1].key(), SEEDS[2])
    repeat_files(tmp_path, configs[1], SEEDS[2])["table"].unlink()
    resumed = run_sweep(configs, SEEDS, tmp_path, executor=client, device="cpu")
    after = table_times(tmp_path, configs)

    assert resumed.computed == [interrupted]
    assert len(resumed.skipped) == 11
    for repeat, written in before.items():
        if repeat != interrupted:
            assert after[repeat] == written, f"{repeat} was recomputed"
    pd.testing.assert_frame_equal(
        without_timing(resumed.table), without_timing(first.table)
    )


def test_failed_repeat_keeps_others(tmp_path: Path, client: distributed.Client) -> None:
    # signal_ratio 0 leaves no signal event to measure, so draw_and_split raises
    # for every seed of that configuration.
    good = tiny_config()
    bad = tiny_config(signal_ratio=0.0)
    outcome = run_sweep([good, bad], SEEDS, tmp_path, executor=client, device="cpu")

    assert sorted(outcome.computed) == [(good.key(), seed) for seed in SEEDS]
    assert sorted(f.seed for f in outcome.failures) == SEEDS
    assert {f.config for f in outcome.failures} == {bad}
    assert "no signal event" in outcome.failures[0].error
    assert '"signal_ratio": 0.0' in outcome.failures[0].describe()
    assert outcome.table["config_key"].unique().tolist() == [good.key()]


def test_study_raises_after_other_repeats(
    tmp_path: Path, client: distributed.Client
) -> None:
    good = tiny_config()
    bad = tiny_config(signal_ratio=0.0)
    with pytest.raises(SweepError, match="1 repeat") as caught:
        run_hh4b_study([bad, good], SEEDS[:1], tmp_path, executor=client)
    assert caught.value.result.computed == [(good.key(), SEEDS[0])]
    assert repeat_files(tmp_path, good, SEEDS[0])["table"].exists()


def test_default_local_cluster_runs(tmp_path: Path) -> None:
    # The default executor starts one worker process per requested worker on
    # 127.0.0.1 without a dashboard. A fresh process with one torch thread gives
    # the same numbers as this one.
    config = tiny_config()
    serial = run_hh4b_study([config], SEEDS[:1], tmp_path / "serial", device="cpu")
    outcome = run_sweep(
        [config],
        SEEDS[:1],
        tmp_path / "dask",
        executor="dask-local",
        device="cpu",
        n_workers=1,
    )
    assert outcome.failures == []
    assert outcome.computed == [(config.key(), SEEDS[0])]
    pd.testing.assert_frame_equal(without_timing(outcome.table), without_timing(serial))


@pytest.mark.parametrize("executor", ["threads", "tcp:/missing-slash", 3])
def test_invalid_executor(tmp_path: Path, executor: object) -> None:
    with pytest.raises(ValueError, match="executor"):
        run_sweep([tiny_config()], SEEDS, tmp_path, executor=executor)
