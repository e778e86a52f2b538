"""The belief update against moment matching done by brute force on a grid, and the
information gain against the mutual information computed by quadrature."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from core.selection.beliefs import (
    BETA,
    DRAW_MARGIN,
    Belief,
    apply,
    outcome_probability,
    update,
)
from core.selection.gain import information_gain


def _grid_posterior(first: Belief, second: Belief, likelihood) -> tuple[Belief, Belief]:
    """Mean and SD of each severity under prior x likelihood, on a dense grid."""
    x = np.linspace(first.mu - 7 * first.sigma, first.mu + 7 * first.sigma, 801)
    y = np.linspace(second.mu - 7 * second.sigma, second.mu + 7 * second.sigma, 801)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    weight = norm.pdf(xx, first.mu, first.sigma) * norm.pdf(yy, second.mu, second.sigma)
    weight *= likelihood(xx - yy)
    weight /= weight.sum()
    moments = []
    for grid in (xx, yy):
        mean = (weight * grid).sum()
        moments.append(Belief(mean, math.sqrt((weight * (grid - mean) ** 2).sum())))
    return moments[0], moments[1]


NOISE = math.sqrt(2) * BETA  # SD of the difference in two perceptions


@pytest.mark.parametrize(
    "first, second",
    [(Belief(0.0, 1.0), Belief(0.0, 1.0)), (Belief(0.8, 0.4), Belief(-0.3, 0.9))],
)
def test_a_decided_answer_is_moment_matched(first, second):
    expected = _grid_posterior(first, second, lambda d: norm.cdf((d - DRAW_MARGIN) / NOISE))
    got = update(first, second)
    for mine, truth in zip(got, expected, strict=True):
        assert mine.mu == pytest.approx(truth.mu, abs=1e-3)
        assert mine.sigma == pytest.approx(truth.sigma, abs=1e-3)
    assert got[0].mu > first.mu and got[1].mu < second.mu  # the winner moves up
    assert got[0].sigma < first.sigma and got[1].sigma < second.sigma


def test_an_equal_answer_is_moment_matched_and_pulls_the_two_together():
    first, second = Belief(0.9, 0.6), Belief(-0.2, 0.7)

    def inside_margin(d):
        return norm.cdf((DRAW_MARGIN - d) / NOISE) - norm.cdf((-DRAW_MARGIN - d) / NOISE)

    expected = _grid_posterior(first, second, inside_margin)
    got = update(first, second, equal=True)
    for mine, truth in zip(got, expected, strict=True):
        assert mine.mu == pytest.approx(truth.mu, abs=1e-3)
        assert mine.sigma == pytest.approx(truth.sigma, abs=1e-3)
    assert got[0].mu < first.mu and got[1].mu > second.mu


def test_stored_outcomes_map_to_the_right_side():
    left, right = Belief(0.0, 1.0), Belief(0.0, 1.0)
    after_left = apply(left, right, "left")
    after_right = apply(left, right, "right")
    assert after_left[0].mu > 0 > after_left[1].mu
    assert after_right[0].mu < 0 < after_right[1].mu
    with pytest.raises(ValueError, match="skip"):
        apply(left, right, "skip")


@pytest.mark.parametrize("first, second", [(Belief(0.8, 0.4), Belief(-0.3, 0.9))])
def test_the_answer_probabilities_are_those_of_the_model_the_update_assumes(first, second):
    """The probability of each answer integrated over the beliefs on a grid, as the
    moment matching above integrates the likelihood."""
    mu = first.mu - second.mu
    sd = math.sqrt(first.sigma**2 + second.sigma**2)
    d = np.linspace(mu - 8 * sd, mu + 8 * sd, 40001)
    weight = norm.pdf(d, mu, sd)
    weight /= weight.sum()
    left = (weight * norm.cdf((d - DRAW_MARGIN) / NOISE)).sum()
    right = (weight * norm.cdf((-d - DRAW_MARGIN) / NOISE)).sum()
    assert outcome_probability(first, second, "left") == pytest.approx(left, abs=1e-6)
    assert outcome_probability(first, second, "right") == pytest.approx(right, abs=1e-6)
    total = sum(outcome_probability(first, second, o) for o in ("left", "right", "equal"))
    assert total == pytest.approx(1.0)
    assert outcome_probability(second, first, "right") == outcome_probability(first, second, "left")


def _mutual_information(mean: float, variance: float) -> float:
    """I(answer; difference) by quadrature over the believed difference."""
    d = np.linspace(mean - 8 * math.sqrt(variance), mean + 8 * math.sqrt(variance), 20001)
    weight = norm.pdf(d, mean, math.sqrt(variance))
    weight /= weight.sum()
    p = norm.cdf(d / NOISE)

    def entropy(q):
        q = np.clip(q, 1e-15, 1 - 1e-15)
        return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))

    return float(entropy((weight * p).sum()) - (weight * entropy(p)).sum())


@pytest.mark.parametrize("mean, variance", [(0.0, 2.0), (0.5, 0.5), (1.5, 1.0), (0.0, 0.05)])
def test_information_gain_matches_the_mutual_information(mean, variance):
    assert information_gain(np.array([mean]), np.array([variance]))[0] == pytest.approx(
        _mutual_information(mean, variance), abs=0.01
    )


def test_information_gain_prefers_close_and_uncertain_pairs():
    close, far = information_gain(np.array([0.1, 2.0]), np.array([1.0, 1.0]))
    assert close > far
    uncertain, known = information_gain(np.array([0.1, 0.1]), np.array([2.0, 0.01]))
    assert uncertain > known
