import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from srlib.toy import GaussianToy


def numerical_smoothed(pdf, z: float, kernel_sd: float) -> float:
    """Convolve ``pdf`` with the Gaussian kernel by quadrature at ``z``."""
    value, _ = quad(
        lambda u: pdf(z - u) * norm.pdf(u, 0, kernel_sd),
        -12 * kernel_sd,
        12 * kernel_sd,
        points=[0.0],
        limit=400,
    )
    return value


@pytest.mark.parametrize("z", [-9.0, -1.0, 3.0, 6.5, 7.0, 7.5, 12.0])
def test_smoothed_densities_match_quadrature(z: float) -> None:
    toy = GaussianToy()
    for log_pdf in (toy.log_pdf_3b, toy.log_pdf_4b):
        closed = float(np.exp(log_pdf(np.array([z]), smoothed=True))[0])
        numeric = numerical_smoothed(
            lambda x, f=log_pdf: float(np.exp(f(np.array([x])))[0]), z, toy.kernel_sd
        )
        assert closed == pytest.approx(numeric, rel=1e-7)


def test_smoothed_ratio_matches_quadrature() -> None:
    toy = GaussianToy(signal_ratio=0.2, sd_signal=0.3, kernel_sd=1.3)
    z = 6.8
    p4 = numerical_smoothed(
        lambda x: float(np.exp(toy.log_pdf_4b(np.array([x])))[0]), z, 1.3
    )
    p3 = numerical_smoothed(
        lambda x: float(np.exp(toy.log_pdf_3b(np.array([x])))[0]), z, 1.3
    )
    assert float(toy.log_gamma_smoothed(np.array([z]))[0]) == pytest.approx(
        np.log(p4 / p3), abs=1e-7
    )


def test_background_log_ratio_is_linear() -> None:
    # Two Gaussians of equal sd 4 at -1 and 1: log ratio = log(0.95) - z / 8.
    toy = GaussianToy()
    z = np.array([-8.0, -2.0, 0.0])
    expected = np.log(0.95) - z / 8
    assert np.allclose(toy.log_gamma(z), expected, atol=1e-12)


def test_exact_peak_of_paper_toy() -> None:
    toy = GaussianToy()
    assert toy.peak_of_score(-11.0, 9.0) == pytest.approx(7.0712, abs=1e-3)


def test_sample_4b_signal_share(rng: np.random.Generator) -> None:
    toy = GaussianToy(signal_ratio=0.1)
    values, is_signal = toy.sample_4b(100_000, rng)
    # Binomial sd of the share is sqrt(0.1 * 0.9 / 1e5) = 0.00095; allow 5 sd.
    assert abs(is_signal.mean() - 0.1) < 5 * 0.00095
    assert abs(values[is_signal].mean() - 7.0) < 5 * 0.5 / np.sqrt(is_signal.sum())


def test_sampling_is_seeded() -> None:
    toy = GaussianToy()
    assert np.array_equal(toy.sample_3b(10, 3), toy.sample_3b(10, 3))
    assert np.array_equal(toy.sample_4b(10, 3)[0], toy.sample_4b(10, 3)[0])


def test_quantiles_invert_cdf() -> None:
    toy = GaussianToy(signal_ratio=0.0)
    quantiles = toy.quantiles_4b(np.array([0.05, 0.5, 0.95]))
    assert np.allclose(quantiles, norm.ppf([0.05, 0.5, 0.95], -1, 4), atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sd_3b": 0.0}, "sd_3b"),
        ({"kernel_sd": -1.0}, "kernel_sd"),
        ({"signal_ratio": 1.0}, "signal_ratio"),
        ({"mean_signal": float("nan")}, "mean_signal"),
        # Strings and None raised a TypeError from numpy before.
        ({"mean_3b": "1.0"}, "mean_3b"),
        ({"mean_background": None}, "mean_background"),
        ({"signal_ratio": "0.05"}, "signal_ratio"),
    ],
)
def test_invalid_toy_parameters(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        GaussianToy(**kwargs)


def test_invalid_inputs() -> None:
    toy = GaussianToy()
    with pytest.raises(ValueError, match="z"):
        toy.log_gamma(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="n"):
        toy.sample_3b(0)
    with pytest.raises(ValueError, match="empty"):
        toy.score(np.array([]))
