from dataclasses import replace

import numpy as np
import pytest
import torch

from srlib.ratio import (
    DensityRatioEstimator,
    TrainingConfig,
    noise_scale_from_range,
    resolve_device,
)

# Tolerances of the learning tests. A classifier's log ratio carries statistical
# noise of roughly sqrt(1/k_3b + 1/k_4b), where k is the number of events of each
# sample in the region that the network effectively averages over. On the central
# interval [-1.5, 1.5] of 20 000 standard-normal events per sample, a network that
# averages over a tenth of that interval still sees k of about 1 000, giving an sd
# of 0.045. The bound 0.15 is about three such sd; a wrong sign or a missing prior
# correction moves the curve by 0.4 or more and fails it.
N_EVENTS = 20_000
TOLERANCE = 0.15
CENTRAL = np.linspace(-1.5, 1.5, 31)


def test_same_distribution_gives_zero_log_ratio(
    rng: np.random.Generator, fast_config: TrainingConfig
) -> None:
    x_3b, x_4b = rng.normal(size=N_EVENTS), rng.normal(size=N_EVENTS)
    ratio = DensityRatioEstimator(config=fast_config).fit(x_3b, x_4b)
    assert np.abs(ratio.log_ratio(CENTRAL)).max() < TOLERANCE


def test_class_weight_correction(
    rng: np.random.Generator, fast_config: TrainingConfig
) -> None:
    # Without balancing, 4b events weigh 4 times more, so the logit is about log 4;
    # subtracting the log ratio of class weights must bring log gamma back to 0.
    config = replace(fast_config, balance_classes=False)
    x_3b, x_4b = rng.normal(size=N_EVENTS), rng.normal(size=N_EVENTS)
    ratio = DensityRatioEstimator(config=config).fit(
        x_3b, x_4b, weights_4b=np.full(N_EVENTS, 4.0)
    )
    assert ratio.log_prior_ratio_ == pytest.approx(np.log(4.0), abs=0.05)
    assert np.abs(ratio.log_ratio(CENTRAL)).max() < TOLERANCE


def test_shifted_gaussians_give_linear_log_ratio(
    rng: np.random.Generator, fast_config: TrainingConfig
) -> None:
    # p_4b / p_3b for N(0.5, 1) over N(0, 1) is exp(0.5 z - 0.125).
    x_3b, x_4b = rng.normal(0, 1, N_EVENTS), rng.normal(0.5, 1, N_EVENTS)
    ratio = DensityRatioEstimator(config=fast_config).fit(x_3b, x_4b)
    expected = 0.5 * CENTRAL - 0.125
    assert np.abs(ratio.log_ratio(CENTRAL) - expected).max() < TOLERANCE


def test_smoothed_ratio_of_shifted_gaussians(
    rng: np.random.Generator, fast_config: TrainingConfig
) -> None:
    # Smoothing with sd s turns both into N(mu, 1 + s^2): the log ratio's slope
    # shrinks from 0.5 to 0.5 / (1 + s^2) = 0.2 for s = sqrt(1.5).
    sd = np.sqrt(1.5)
    x_3b, x_4b = rng.normal(0, 1, N_EVENTS), rng.normal(0.5, 1, N_EVENTS)
    ratio = DensityRatioEstimator(noise_sd=sd, config=fast_config).fit(x_3b, x_4b)
    expected = (0.5 * CENTRAL - 0.125) / (1 + sd**2)
    assert ratio.smoothed
    assert np.abs(ratio.log_ratio(CENTRAL) - expected).max() < TOLERANCE


def test_weighted_training_matches_reweighted_sample(
    rng: np.random.Generator, fast_config: TrainingConfig
) -> None:
    # 4b is 3b reweighted by exp(0.5 z), normalised by E[exp(0.5 z)] = exp(0.125),
    # so log gamma = 0.5 z - 0.125.
    x_3b, x_4b = rng.normal(size=N_EVENTS), rng.normal(size=N_EVENTS)
    weights = np.exp(0.5 * x_4b)
    ratio = DensityRatioEstimator(config=fast_config).fit(
        x_3b, x_4b, weights_4b=weights
    )
    expected = 0.5 * CENTRAL - 0.125
    assert np.abs(ratio.log_ratio(CENTRAL) - expected).max() < TOLERANCE


def test_multidimensional_inputs(rng: np.random.Generator) -> None:
    config = TrainingConfig(max_epochs=2, progress=False, device="cpu")
    x = rng.normal(size=(500, 4, 4))
    ratio = DensityRatioEstimator(eta=0.1, config=config).fit(x, x + 0.1)
    assert ratio.log_ratio(x[:7]).shape == (7,)
    assert ratio.noise_sd_.shape == (4, 4)


def test_noise_scale_is_eta_times_range() -> None:
    inputs = np.array([[0.0, 10.0], [2.0, 30.0], [1.0, 20.0]])
    assert np.allclose(noise_scale_from_range(inputs, 0.1), [0.2, 2.0])


def test_training_is_reproducible(rng: np.random.Generator) -> None:
    config = TrainingConfig(max_epochs=3, progress=False, device="cpu", seed=7)
    x_3b, x_4b = rng.normal(size=2000), rng.normal(0.3, 1, 2000)
    first = DensityRatioEstimator(eta=0.1, config=config).fit(x_3b, x_4b)
    second = DensityRatioEstimator(eta=0.1, config=config).fit(x_3b, x_4b)
    assert np.array_equal(first.log_ratio(CENTRAL), second.log_ratio(CENTRAL))
    assert first.history_.validation_loss == second.history_.validation_loss


def test_fit_leaves_global_torch_seed_alone(rng: np.random.Generator) -> None:
    config = TrainingConfig(max_epochs=1, progress=False, device="cpu")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    DensityRatioEstimator(config=config).fit(rng.normal(size=100), rng.normal(size=100))
    assert torch.equal(torch.rand(3), expected)


def test_history_records_each_epoch(rng: np.random.Generator) -> None:
    config = TrainingConfig(
        max_epochs=4, progress=False, device="cpu", batch_size_doubling_epochs=(2,)
    )
    ratio = DensityRatioEstimator(config=config).fit(
        rng.normal(size=1000), rng.normal(size=1000)
    )
    history = ratio.history_
    assert len(history.validation_loss) == len(history.train_loss) >= 1
    assert 0 <= history.best_epoch < len(history.train_loss)
    if len(history.batch_size) > 2:
        assert history.batch_size[2] == 2 * history.batch_size[0]


def test_progress_bar_off_writes_nothing(
    rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    config = TrainingConfig(max_epochs=2, progress=False, device="cpu")
    DensityRatioEstimator(config=config).fit(rng.normal(size=200), rng.normal(size=200))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


@pytest.mark.parametrize(
    ("x_3b", "x_4b", "message"),
    [
        (np.array([0.0, np.nan, 1.0]), np.zeros(3), "x_3b"),
        (np.zeros(3), np.array([0.0, np.inf, 1.0]), "x_4b"),
        (np.zeros((3, 2)), np.zeros((3, 3)), "per-event shape"),
        (np.array([]), np.zeros(3), "x_3b"),
        # float32 turns 1e39 into inf, which gave NaN ratios without an error.
        (np.array([0.0, 1e39, 1.0]), np.zeros(3), "float32 limit"),
    ],
)
def test_invalid_samples(x_3b: np.ndarray, x_4b: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DensityRatioEstimator().fit(x_3b, x_4b)


def test_invalid_weights() -> None:
    with pytest.raises(ValueError, match="weights_4b"):
        DensityRatioEstimator().fit(np.zeros(3), np.zeros(3), weights_4b=np.ones(2))
    with pytest.raises(ValueError, match="weights_3b"):
        DensityRatioEstimator().fit(
            np.zeros(3), np.zeros(3), weights_3b=np.array([1.0, -1.0, 1.0])
        )


@pytest.mark.parametrize("eta", [0.0, -0.1, float("nan")])
def test_invalid_eta(eta: float) -> None:
    with pytest.raises(ValueError, match="eta"):
        DensityRatioEstimator(eta=eta)


def test_invalid_noise_settings() -> None:
    with pytest.raises(ValueError, match="noise_sd"):
        DensityRatioEstimator(noise_sd=0.0)
    with pytest.raises(ValueError, match="eta or noise_sd"):
        DensityRatioEstimator(eta=0.1, noise_sd=1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch_size", 0),
        ("validation_fraction", 1.0),
        ("learning_rate", -1.0),
        ("weight_decay", float("nan")),
        ("weight_decay", float("inf")),
        ("seed", 1.5),
        # A bare epoch number was accepted and failed at the first epoch with a
        # TypeError from the membership test.
        ("batch_size_doubling_epochs", 3),
        ("batch_size_doubling_epochs", (1.5,)),
        ("progress", "no"),
        ("torch_compile", 1),
    ],
)
def test_invalid_training_config(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TrainingConfig(**{field: value})


def test_doubling_epochs_become_sorted_plain_ints() -> None:
    # numpy integers broke the JSON of HH4bConfig.key(), and the same schedule
    # written in another order gave another key.
    config = TrainingConfig(batch_size_doubling_epochs=(np.int64(4), 2, 2))
    assert config.batch_size_doubling_epochs == (2, 4)
    assert all(type(epoch) is int for epoch in config.batch_size_doubling_epochs)


def test_log_ratio_before_fit_raises() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        DensityRatioEstimator().log_ratio(np.zeros(3))


@pytest.mark.parametrize("device", ["tpu", "mps", "meta", None])
def test_unknown_device(device: object) -> None:
    # "mps" and "meta" are torch device types that srlib does not support; they
    # failed inside torch at the first tensor move.
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(device)


def test_noise_sd_of_wrong_shape_raises() -> None:
    estimator = DensityRatioEstimator(noise_sd=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="noise_sd has shape"):
        estimator.fit(np.zeros((4, 2)), np.zeros((4, 2)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_cuda_without_gpu_raises() -> None:
    with pytest.raises(ValueError, match="CUDA"):
        resolve_device("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_gpu_matches_shapes(rng: np.random.Generator) -> None:
    config = TrainingConfig(max_epochs=2, progress=False, device="cuda")
    ratio = DensityRatioEstimator(eta=0.1, config=config).fit(
        rng.normal(size=2000), rng.normal(size=2000)
    )
    assert resolve_device("auto").type == "cuda"
    assert np.isfinite(ratio.log_ratio(CENTRAL)).all()


# Importing TorchInductor defines TorchScript methods inside torch itself, which
# warns in torch 2.13; the warning is torch's, not srlib's.
@pytest.mark.filterwarnings(
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
)
def test_compiled_training_matches_eager() -> None:
    # torch.compile fuses and reorders the float32 arithmetic, so the two trainings
    # differ by rounding: about 1e-7 relative per operation, 5e-7 in the losses
    # after the 14 steps here. A different computation, for example another
    # initialisation, moves the losses by 4e-2. The bound 1e-4 lies more than two
    # orders of magnitude from each.
    from srlib.network import FourJetNetwork
    from srlib.ratio import train_classifier
    from srlib.simulation import simulate_samples

    torch.set_num_threads(1)
    events_3b, events_4b = simulate_samples(1000, 1000, 0.2, seed=3)
    jets = np.concatenate([events_3b.jets, events_4b.jets])
    labels = np.repeat([0.0, 1.0], [len(events_3b), len(events_4b)])
    weights = np.concatenate([events_3b.weights, events_4b.weights])
    histories = []
    for compiled in (False, True):
        torch.manual_seed(0)
        config = TrainingConfig(
            max_epochs=2,
            batch_size=256,
            progress=False,
            device="cpu",
            torch_compile=compiled,
        )
        history, _ = train_classifier(FourJetNetwork(), jets, labels, weights, config)
        histories.append(history)
    eager, compiled = histories
    np.testing.assert_allclose(
        compiled.validation_loss, eager.validation_loss, rtol=1e-4
    )
    np.testing.assert_allclose(compiled.train_loss, eager.train_loss, rtol=1e-4)
