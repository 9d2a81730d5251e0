"""Tests for srlib.network: symmetries, gradients, checkpoints and a learning check."""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from srlib.network import (
    FourJetNetwork,
    NetworkConfig,
    RepresentationHead,
    canonicalise_jets,
    count_parameters,
    load_network,
    save_network,
)

ALL_PERMUTATIONS = list(itertools.permutations(range(4)))


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)


def random_jets(
    n_events: int, seed: int, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Draw jets with distinct pt, phi in [-pi, pi) and non-negative masses."""
    generator = torch.Generator().manual_seed(seed)
    shape = (n_events, 4)
    pt = 20.0 + 280.0 * torch.rand(shape, generator=generator, dtype=dtype)
    eta = (2.0 * torch.randn(shape, generator=generator, dtype=dtype)).clamp(-4.5, 4.5)
    phi = math.pi * (2.0 * torch.rand(shape, generator=generator, dtype=dtype) - 1.0)
    mass = 30.0 * torch.rand(shape, generator=generator, dtype=dtype)
    return torch.stack([pt, eta, phi, mass], dim=-1)  # (N, 4, 4)


def wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


def train_steps(
    model: FourJetNetwork, jets: torch.Tensor, labels: torch.Tensor, n_steps: int
) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(n_steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(jets), labels)
        loss.backward()
        optimizer.step()


@pytest.fixture(scope="module")
def trained_model() -> FourJetNetwork:
    """A float64 network after a few steps, so batch-norm statistics are not trivial."""
    torch.manual_seed(0)
    model = FourJetNetwork(width=6).double()
    jets = random_jets(256, seed=1)
    labels = (
        torch.rand(256, generator=torch.Generator().manual_seed(2)) < 0.5
    ).double()
    train_steps(model, jets, labels, n_steps=5)
    return model.eval()


def rotate_phi(jets: torch.Tensor) -> torch.Tensor:
    """Rotate each event in phi by its own random angle."""
    generator = torch.Generator().manual_seed(20)
    angle = 2.0 * math.pi * torch.rand(len(jets), 1, generator=generator).double()
    rotated = jets.clone()
    rotated[..., 2] = wrap(jets[..., 2] + angle)
    return rotated


def reflect(jets: torch.Tensor, field: int) -> torch.Tensor:
    reflected = jets.clone()
    reflected[..., field] = -jets[..., field]
    return reflected


# Each transformation maps an event to one the network must treat identically.
SYMMETRIES = {
    "swap jets of a dijet": lambda jets: jets[:, [1, 0, 2, 3]],
    "swap dijets of a pairing": lambda jets: jets[:, [2, 3, 0, 1]],
    "rotate phi": rotate_phi,
    "reflect eta": lambda jets: reflect(jets, field=1),
    "reflect phi": lambda jets: reflect(jets, field=2),
}


def test_canonical_jets_sorted_and_aligned() -> None:
    jets = canonicalise_jets(random_jets(500, seed=3))
    pt, eta, phi, _ = jets.unbind(-1)

    assert torch.all(pt[:, :-1] >= pt[:, 1:])
    assert torch.all(eta[:, 0] >= 0)
    assert torch.all(phi[:, 0] == 0)
    assert torch.all(phi[:, 1] >= 0)
    assert torch.all(phi.abs() <= math.pi)


def test_canonical_jets_idempotent() -> None:
    jets = canonicalise_jets(random_jets(100, seed=4))
    torch.testing.assert_close(canonicalise_jets(jets), jets, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(SYMMETRIES))
def test_network_invariant_to_symmetry(
    trained_model: FourJetNetwork, name: str
) -> None:
    jets = random_jets(200, seed=5)
    transformed = SYMMETRIES[name](jets)
    with torch.no_grad():
        logits = trained_model(jets)
        zeta = trained_model.representation(jets)
        torch.testing.assert_close(
            trained_model(transformed), logits, rtol=0, atol=1e-10
        )
        torch.testing.assert_close(
            trained_model.representation(transformed), zeta, rtol=0, atol=1e-10
        )


def test_network_invariant_to_all_jet_orders(trained_model: FourJetNetwork) -> None:
    jets = random_jets(100, seed=6)
    with torch.no_grad():
        logits = trained_model(jets)
        for permutation in ALL_PERMUTATIONS:
            permuted = trained_model(jets[:, list(permutation)])
            torch.testing.assert_close(permuted, logits, rtol=0, atol=1e-10)


def test_layers_invariant_without_sorting(trained_model: FourJetNetwork) -> None:
    # Sorting by pt already makes forward() independent of jet order. Skipping
    # canonicalise_jets here checks that the layers themselves are symmetric.
    jets = random_jets(100, seed=7)

    def logits_of(jets: torch.Tensor) -> torch.Tensor:
        return trained_model.head(trained_model._quadjets(jets).flatten(1))

    with torch.no_grad():
        reference = logits_of(jets)
        for permutation in ALL_PERMUTATIONS:
            permuted = logits_of(jets[:, list(permutation)])
            torch.testing.assert_close(permuted, reference, rtol=0, atol=1e-10)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(8)
    model = FourJetNetwork().double().train()
    jets = random_jets(64, seed=9)
    labels = (torch.arange(64) % 2).double()

    F.binary_cross_entropy_with_logits(model(jets), labels).backward()

    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        # A gradient that is zero in exact arithmetic comes out near 1e-17 in float64.
        assert parameter.grad.abs().max() > 1e-10, name


def test_saved_network_reloads_identically(
    trained_model: FourJetNetwork, tmp_path: Path
) -> None:
    path = tmp_path / "network.pt"
    extra = {"seed": 0, "settings": {"lr": 0.01, "tags": ["4b", "3b"]}}
    save_network(trained_model, path, extra=extra)

    checkpoint = load_network(path)
    jets = random_jets(100, seed=10)
    with torch.no_grad():
        expected = trained_model(jets)
        reloaded = checkpoint.model(jets)

    assert torch.equal(reloaded, expected)
    assert not checkpoint.model.training
    assert checkpoint.config == trained_model.config
    assert checkpoint.extra == extra
    assert checkpoint.versions["torch"] == torch.__version__


def test_save_rejects_mismatched_config(
    trained_model: FourJetNetwork, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="config"):
        save_network(trained_model, tmp_path / "n.pt", config=NetworkConfig(width=7))


def test_save_rejects_unloadable_extra(
    trained_model: FourJetNetwork, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"extra\['array'\]"):
        save_network(trained_model, tmp_path / "n.pt", extra={"array": np.zeros(3)})


def test_load_rejects_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"format_version": 99}, path)

    with pytest.raises(ValueError, match="format version"):
        load_network(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "was not found"),
        (b"", "could not be read"),
        (b"not a checkpoint at all", "could not be read"),
        ("tensor", "contains a Tensor"),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, content, message: str) -> None:
    # These raised FileNotFoundError, EOFError, UnpicklingError with a long note
    # on weights_only, or AttributeError from torch or from dict access.
    path = tmp_path / "network.pt"
    if content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_network(path)


def extreme_jets() -> torch.Tensor:
    """Valid but extreme events: pt 1e4 GeV, |eta| 4.9, massless and collinear jets."""
    events = [
        [[1e4, 4.9, 0.0, 0.0], [1e4, -4.9, 3.0, 0.0], [1e4, 4.9, -3.0, 0.0]]
        + [[1e4, -4.9, 1.0, 0.0]],
        # Four identical massless jets give zero dijet masses and Delta R.
        [[1e4, 4.9, 1.0, 0.0]] * 4,
        # Back-to-back jets of equal pt and eta give a dijet with zero pt.
        [[50.0, 0.0, 0.0, 0.0], [50.0, 0.0, math.pi, 0.0]]
        + [[1e4, 4.9, 0.5, 0.0], [20.0, -4.9, -0.5, 0.0]],
    ]
    return torch.tensor(events, dtype=torch.float32)  # (3, 4, 4)


def test_logits_finite_for_extreme_jets(trained_model: FourJetNetwork) -> None:
    jets = extreme_jets()
    fresh = FourJetNetwork().train()
    trained = copy.deepcopy(trained_model).float().eval()

    for model in [fresh, trained]:
        logits = model(jets)
        zeta = model.representation(jets)
        assert torch.isfinite(logits).all()
        assert torch.isfinite(zeta).all()


def test_parameter_count_at_width_6() -> None:
    # Pinned so that a change to the architecture updates this number on purpose.
    assert count_parameters(FourJetNetwork(width=6)) == 675


def test_parameter_count_excludes_frozen() -> None:
    model = FourJetNetwork(width=6)
    model.head.requires_grad_(False)

    assert count_parameters(model) == 675 - 13
    assert count_parameters(model, trainable_only=False) == 675


def test_representation_shapes() -> None:
    model = FourJetNetwork(width=5).eval()
    jets = random_jets(7, seed=11, dtype=torch.float32)

    assert model.representation(jets).shape == (7, 15)
    assert model.representation(jets, kind="quadjets").shape == (7, 15)
    assert model.representation(jets, kind="pooled").shape == (7, 5)
    assert model(jets).shape == (7,)


def test_representation_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        FourJetNetwork().representation(random_jets(2, seed=0), kind="dijets")


@pytest.mark.parametrize("kind", ["quadjets", "pooled"])
def test_head_on_noisy_representation(kind: str) -> None:
    torch.manual_seed(12)
    model = FourJetNetwork(width=6).eval()
    jets = random_jets(9, seed=13, dtype=torch.float32)
    with torch.no_grad():
        zeta = model.representation(jets, kind=kind)
    noisy = zeta + 0.1 * torch.randn_like(zeta)

    logits = RepresentationHead(width=6, kind=kind)(noisy)

    assert logits.shape == (9,)
    assert torch.isfinite(logits).all()


def test_fresh_head_matches_network_head(trained_model: FourJetNetwork) -> None:
    head = RepresentationHead(width=6).double()
    head.load_state_dict(trained_model.head.state_dict())
    jets = random_jets(20, seed=14)

    with torch.no_grad():
        from_head = head(trained_model.representation(jets))
        torch.testing.assert_close(from_head, trained_model(jets), rtol=0, atol=0)


def test_head_rejects_wrong_size() -> None:
    with pytest.raises(ValueError, match="representation"):
        RepresentationHead(width=6)(torch.zeros(4, 6))


@pytest.mark.parametrize(
    ("argument", "value"),
    [("width", 0), ("n_block_layers", 0), ("n_event_layers", -1), ("width", 2.5)],
)
def test_network_rejects_invalid_config(argument: str, value: float) -> None:
    with pytest.raises(ValueError, match=argument):
        FourJetNetwork(**{argument: value})


@pytest.mark.parametrize(
    "jets",
    [torch.zeros(5, 4, 3), torch.zeros(4, 4), torch.zeros(5, 4, 4, dtype=torch.long)],
)
def test_network_rejects_invalid_jets(jets: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="jets"):
        FourJetNetwork()(jets)


def dijet_mass(jets: np.ndarray, first: int, second: int) -> np.ndarray:
    """Invariant mass of two jets from (pt, eta, phi, m) rows, in float64."""
    pt, eta, phi, mass = (jets[:, [first, second], k] for k in range(4))
    momenta = np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1
    )  # (N, 2, 3)
    energy = np.sqrt((momenta**2).sum(-1) + mass**2)  # (N, 2)
    total = momenta.sum(1)  # (N, 3)
    return np.sqrt(np.maximum(energy.sum(1) ** 2 - (total**2).sum(-1), 0.0))


def higgs_like_events(n_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw events where class 1 has one pairing with both dijet masses near 125 GeV.

    Scaling the pt and mass of two jets by s scales their dijet mass by s. Each
    event's dijets 01 and 23 are rescaled this way to target masses, drawn from
    N(125, 5^2) GeV for class 1 and log-uniform in [40, 400] GeV for class 0. The jets
    are then shuffled.
    """
    rng = np.random.default_rng(seed)
    n_events = 2 * n_per_class
    jets = np.stack(
        [
            30.0 + rng.exponential(60.0, (n_events, 4)),
            rng.normal(0.0, 1.5, (n_events, 4)),
            rng.uniform(-np.pi, np.pi, (n_events, 4)),
            rng.uniform(5.0, 15.0, (n_events, 4)),
        ],
        axis=-1,
    )  # (N, 4, 4)
    labels = np.repeat([1.0, 0.0], n_per_class)

    for first, second in [(0, 1), (2, 3)]:
        target = np.where(
            labels == 1,
            rng.normal(125.0, 5.0, n_events),
            np.exp(rng.uniform(np.log(40.0), np.log(400.0), n_events)),
        )
        scale = target / dijet_mass(jets, first, second)
        jets[:, [first, second], 0] *= scale[:, None]
        jets[:, [first, second], 3] *= scale[:, None]

    order = np.argsort(rng.random((n_events, 4)), axis=1)
    jets = np.take_along_axis(jets, order[:, :, None], axis=1)
    return torch.tensor(jets, dtype=torch.float32), torch.tensor(labels).float()


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Probability that a class-1 score exceeds a class-0 score, ties counted half."""
    positive = scores[labels == 1][:, None]
    negative = scores[labels == 0][None, :]
    wins = (positive > negative).double() + 0.5 * (positive == negative).double()
    return wins.mean().item()


def test_network_learns_dijet_mass_peak() -> None:
    torch.manual_seed(15)
    train_jets, train_labels = higgs_like_events(2000, seed=16)
    test_jets, test_labels = higgs_like_events(1000, seed=17)
    model = FourJetNetwork(width=6)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(18)

    model.train()
    for _ in range(300):
        batch = torch.randint(len(train_jets), (256,), generator=generator)
        optimizer.zero_grad()
        logits = model(train_jets[batch])
        F.binary_cross_entropy_with_logits(logits, train_labels[batch]).backward()
        optimizer.step()

    model.eval()
    with torch.no_grad():
        auc = roc_auc(model(test_jets), test_labels)
    # Model seeds 15 to 19 gave test AUCs from 0.9945 to 0.9962, and the summed jet pt
    # alone gives 0.45, so passing needs the dijet masses. 0.8 leaves a wide margin.
    assert auc > 0.8


def test_network_runs_on_meta_device() -> None:
    # Arithmetic between a meta tensor and a CPU tensor raises, so this catches
    # tensors that forward() creates on the CPU instead of the input's device.
    model = FourJetNetwork().to("meta")
    jets = torch.empty(5, 4, 4, device="meta")

    for training in [True, False]:
        model.train(training)
        assert model(jets).device.type == "meta"
        assert model.representation(jets, kind="pooled").device.type == "meta"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_network_runs_on_cuda(trained_model: FourJetNetwork) -> None:
    jets = random_jets(50, seed=19)
    model = copy.deepcopy(trained_model).cuda()
    with torch.no_grad():
        on_cuda = model(jets.cuda()).cpu()
        torch.testing.assert_close(on_cuda, trained_model(jets), rtol=0, atol=1e-8)


def test_engineered_forward_matches_forward() -> None:
    torch.manual_seed(0)
    model = FourJetNetwork(width=6).double().eval()
    jets = random_jets(64, seed=11)
    engineered = model.engineered_inputs(jets)
    assert engineered.shape == (64, 66)
    # The same operations on the same numbers in the same order: equal bits.
    assert torch.equal(model.forward_engineered(engineered), model(jets))
    with pytest.raises(ValueError, match="engineered"):
        model.forward_engineered(engineered[:, :60])


def test_matrix_product_flops_per_event() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    # Forward FLOPs at width C = 6, 2 per multiply-add: jet embedding 12 * 2*4*C,
    # dijet embedding 6 * 2*2*C, pairing embedding 3 * 2*2*C, two dijet layers of
    # 6 * (2*2C*C + 2*C*C), two quadjet layers of 3 * (2*2C*C + 2*C*C), three event
    # layers of 3 * 2*C*C, pooling score 3 * 2*C and output 2*C: 5 376 in all. The
    # backward pass needs the gradients of both the inputs and the weights of each
    # product, twice the forward FLOPs, so the step costs 3 * 5 376 = 16 128.
    model = FourJetNetwork(width=6).train()
    jets = random_jets(32, seed=5, dtype=torch.float32)
    with FlopCounterMode(display=False) as counter:
        model(jets).sum().backward()
    assert counter.get_total_flops() == 16_128 * 32
