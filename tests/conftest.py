"""Shared fixtures: seeded generators and fast training settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srlib.ratio import TrainingConfig


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # Small trainings run faster on one thread and give the same numbers on any
    # machine with the same torch build.
    torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def fast_config() -> TrainingConfig:
    return TrainingConfig(max_epochs=15, batch_size=512, progress=False, device="cpu")
