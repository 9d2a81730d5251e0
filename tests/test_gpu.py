"""Tests that need a CUDA device: a repeat trains on it, and it agrees with the CPU.

NOTE: no CUDA machine has run these tests yet, nor TrainingConfig(torch_compile=True)
on CUDA. On the CPU, tests/test_network.py runs the network on the meta device,
which catches tensors created on the wrong device, but not CUDA-only failures.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from srlib.hh4b import HH4bConfig, run_hh4b_repeat
from srlib.network import FourJetNetwork
from srlib.simulation import simulate_samples

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

# Unit roundoff of float32.
FLOAT32_ROUNDOFF = 2.0**-24


@pytest.fixture
def no_tf32() -> None:
    # TF32 matrix products keep 10 mantissa bits, which would swamp the float32
    # comparison below. Restore the caller's settings afterwards.
    matmul, cudnn = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = matmul
    torch.backends.cudnn.allow_tf32 = cudnn


def test_tiny_repeat_on_cuda() -> None:
    config = HH4bConfig(n_3b=2000, signal_ratio=0.2)
    config = replace(
        config,
        network_training=replace(config.network_training, max_epochs=2),
        head_training=replace(config.head_training, max_epochs=2),
    )
    result = run_hh4b_repeat(config, seed=0, device="cuda")

    assert next(result.network.parameters()).device.type == "cuda"
    assert np.all(np.isfinite(result.log_gamma))
    assert np.all(np.isfinite(result.log_gamma_smoothed))
    assert np.all(np.isfinite(result.history_network.train_loss))
    assert np.all((result.curve.signal_share >= 0) & (result.curve.signal_share <= 1))


def test_cuda_logits_match_cpu(no_tf32: None) -> None:
    torch.manual_seed(0)
    events_3b, events_4b = simulate_samples(2000, 2000, 0.2, seed=1)
    jets = torch.from_numpy(
        np.concatenate([events_3b.jets, events_4b.jets]).astype(np.float32)
    )
    labels = torch.cat([torch.zeros(2000), torch.ones(2000)])

    # A few training steps give the batch-norm running statistics and weights
    # values away from their initialisation, then the network is fixed.
    model = FourJetNetwork(width=6)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(jets), labels).backward()
        optimizer.step()
    model.eval()

    with torch.no_grad():
        reference = model.double()(jets.double())
        on_cpu = model.float()(jets)
        on_cuda = model.cuda()(jets.cuda()).cpu()

    # Tolerance: both float32 runs do the same operations and differ from the
    # float64 reference only by rounding. The GPU sums in another order, and its
    # sinh, asinh, atan2 and log1p may round a few units in the last place apart
    # from the CPU's (an estimate, not a documented bound), so its error from the
    # reference should stay within a small multiple of the CPU's: 4x. The second
    # term, 64 roundoffs of the logit's size, covers a CPU error that happens to
    # be near zero.
    cpu_error = (on_cpu.double() - reference).abs().max().item()
    scale = reference.abs().max().item()
    tolerance = 4.0 * cpu_error + 64.0 * FLOAT32_ROUNDOFF * max(scale, 1.0)
    assert math.isfinite(tolerance)
    assert torch.isfinite(on_cuda).all()
    assert (on_cuda.double() - reference).abs().max().item() <= tolerance
    assert (on_cuda - on_cpu).abs().max().item() <= tolerance + cpu_error
