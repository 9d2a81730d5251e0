import numpy as np
import pytest

from srlib.region import (
    concentration_curve,
    default_region_sizes,
    select_signal_region,
    signal_region_score,
    signal_region_threshold,
    summarize_curves,
)


@pytest.mark.parametrize("size", [0.001, 0.05, 0.37, 1.0])
def test_region_holds_requested_weighted_share(
    rng: np.random.Generator, size: float
) -> None:
    score = rng.normal(size=5000)
    weights = rng.exponential(size=5000)
    inside = select_signal_region(score, size, weights)
    share = weights[inside].sum() / weights.sum()
    assert share >= size - 1e-12
    # Without ties the smallest region overshoots by less than one event's weight.
    assert share < size + weights.max() / weights.sum()


def test_region_is_upper_set_of_score(rng: np.random.Generator) -> None:
    score = rng.normal(size=1000)
    inside = select_signal_region(score, 0.1)
    assert score[inside].min() > score[~inside].max()
    assert inside.sum() == 100


def test_ties_at_threshold_are_all_inside() -> None:
    score = np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    inside = select_signal_region(score, 0.3)
    assert inside.tolist() == [True, True, True, True, False]
    assert signal_region_threshold(score, 0.3) == 2.0


def test_concentration_curve_perfect_ranking() -> None:
    # Signal ranked first: S reaches 1 once the region holds all 10 signal events.
    score = np.arange(100.0)[::-1]
    is_signal = np.arange(100) < 10
    curve = concentration_curve(score, is_signal, np.array([0.05, 0.1, 0.5]))
    assert np.allclose(curve.signal_share, [0.5, 1.0, 1.0])
    assert np.allclose(curve.region_share, [0.05, 0.1, 0.5])


def test_concentration_curve_random_score_follows_diagonal(
    rng: np.random.Generator,
) -> None:
    n = 200_000
    is_signal = rng.random(n) < 0.05
    curve = concentration_curve(rng.random(n), is_signal, np.array([0.1, 0.5]))
    # S is a share of ~10 000 signal events: binomial sd below 0.005; allow 4 sd.
    assert np.allclose(curve.signal_share, [0.1, 0.5], atol=0.02)


def test_concentration_curve_uses_weights() -> None:
    score = np.array([4.0, 3.0, 2.0, 1.0])
    is_signal = np.array([False, True, False, True])
    weights = np.array([1.0, 3.0, 1.0, 1.0])
    curve = concentration_curve(score, is_signal, np.array([0.5]), weights)
    assert curve.region_share[0] == pytest.approx(4 / 6)
    assert curve.signal_share[0] == pytest.approx(3 / 4)


def test_summarize_curves_mean_and_sd() -> None:
    sizes = np.array([0.5, 1.0])
    score = np.array([2.0, 1.0])
    first = concentration_curve(score, np.array([True, False]), sizes)
    second = concentration_curve(score, np.array([False, True]), sizes)
    _, mean, sd = summarize_curves([first, second])
    assert np.allclose(mean, [0.5, 1.0])
    assert np.allclose(sd, [np.sqrt(0.5), 0.0])


def test_score_is_log_ratio_difference() -> None:
    assert np.allclose(
        signal_region_score(np.array([1.0, 2.0]), np.array([0.5, 3.0])), [0.5, -1.0]
    )


@pytest.mark.parametrize("size", [0.0, -0.1, 1.5, float("nan")])
def test_invalid_region_size(size: float) -> None:
    with pytest.raises(ValueError, match="size"):
        select_signal_region(np.array([1.0, 2.0]), size)


def test_invalid_region_inputs() -> None:
    with pytest.raises(ValueError, match="score"):
        select_signal_region(np.array([1.0, np.inf]), 0.5)
    with pytest.raises(ValueError, match="score"):
        select_signal_region(np.array([]), 0.5)
    with pytest.raises(ValueError, match="log_gamma_smoothed"):
        signal_region_score(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="is_signal"):
        concentration_curve(np.zeros(3), np.zeros(2, dtype=bool))
    with pytest.raises(ValueError, match="is_signal"):
        concentration_curve(np.zeros(3), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="weights"):
        select_signal_region(np.zeros(3), 0.5, np.array([1.0, -1.0, 1.0]))


def test_empty_sizes_raise() -> None:
    # An empty list failed with an IndexError from numpy.
    with pytest.raises(ValueError, match="sizes is empty"):
        concentration_curve(np.arange(4.0), np.array([True, False, False, False]), [])


@pytest.mark.parametrize(
    ("n_points", "smallest", "name"),
    [(0, 0.002, "n_points"), (10, 0.0, "smallest"), (10, 2.0, "smallest")],
)
def test_default_sizes_reject_bad_grid(n_points: int, smallest: float, name: str):
    # n_points=0 returned an empty grid, smallest=0 failed in np.geomspace and
    # smallest=2 returned sizes above 1.
    with pytest.raises(ValueError, match=name):
        default_region_sizes(n_points, smallest)
