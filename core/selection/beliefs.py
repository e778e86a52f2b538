"""A Gaussian belief over each image's latent severity, updated after every answer.

Thurstone's model of comparative judgment: a rater perceives severity s + Normal(0, beta)
and answers from the difference; "equal" when it falls inside the draw margin. After an
answer the two images' beliefs are moment-matched to the posterior (assumed-density
filtering, as in TrueSkill: Herbrich, Minka and Graepel 2007, eqs. (2)-(4) and their
draw case). Units: severity in standard deviations of the model's score over the
dataset, so a prior from the score is on the same footing for every dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BETA = 0.5  # a rater's perception noise, in SDs of the dataset's severity scores
DRAW_MARGIN = 0.1  # |perceived difference| below which a rater answers "equal"
PRIOR_SD = 1.0  # belief spread without a model: as wide as the dataset itself
SCORE_SD = 0.5  # belief spread around a model's score (its flip spread is added)
MIN_VARIANCE = 1e-4


@dataclass(frozen=True)
class Belief:
    mu: float
    sigma: float


def prior_from_scores(
    severity: np.ndarray | None, spread: np.ndarray | None, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) for ``count`` images: the model's severity score standardised over the
    dataset, with its spread over flipped copies added to ``SCORE_SD``; without a model,
    everyone at 0 with ``PRIOR_SD``."""
    if severity is None:
        return np.zeros(count), np.full(count, PRIOR_SD)
    severity = np.asarray(severity, dtype=float)
    scale = severity.std() or 1.0
    mu = (severity - severity.mean()) / scale
    extra = np.zeros(count) if spread is None else np.nan_to_num(np.asarray(spread) / scale)
    return mu, np.sqrt(SCORE_SD**2 + extra**2)


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def update(
    more: Belief, less: Belief, equal: bool = False, beta: float = BETA, margin: float = DRAW_MARGIN
) -> tuple[Belief, Belief]:
    """Beliefs after an answer: ``more`` was judged more severe than ``less`` (or, with
    ``equal``, the two were judged the same; the order then does not matter)."""
    c2 = 2 * beta**2 + more.sigma**2 + less.sigma**2
    c = math.sqrt(c2)
    t, e = (more.mu - less.mu) / c, margin / c
    if equal:
        mass = max(_cdf(e - t) - _cdf(-e - t), 1e-12)
        v = (_pdf(-e - t) - _pdf(e - t)) / mass
        w = v * v + ((e - t) * _pdf(e - t) + (e + t) * _pdf(e + t)) / mass
    else:
        x = t - e
        v = _pdf(x) / max(_cdf(x), 1e-12)
        w = v * (v + x)
    return (
        _moved(more, +v, w, c, c2),
        _moved(less, -v, w, c, c2),
    )


def _moved(belief: Belief, v: float, w: float, c: float, c2: float) -> Belief:
    variance = belief.sigma**2
    shrunk = max(variance * (1 - variance / c2 * w), MIN_VARIANCE)
    return Belief(belief.mu + variance / c * v, math.sqrt(shrunk))


def apply(left: Belief, right: Belief, outcome: str) -> tuple[Belief, Belief]:
    """(left, right) after a stored answer: left / right (more severe) / equal."""
    if outcome == "left":
        return update(left, right)
    if outcome == "right":
        new_right, new_left = update(right, left)
        return new_left, new_right
    if outcome == "equal":
        return update(left, right, equal=True)
    raise ValueError(f"no belief update for the answer {outcome!r}")


def outcome_probability(
    left: Belief, right: Belief, outcome: str, beta: float = BETA, margin: float = DRAW_MARGIN
) -> float:
    """The probability the beliefs give a rater's answer about (left, right) under the
    same model ``update`` assumes: left / right when the perceived difference clears the
    draw margin that way, equal inside it."""
    c = math.sqrt(2 * beta**2 + left.sigma**2 + right.sigma**2)
    t, e = (left.mu - right.mu) / c, margin / c
    p_left, p_right = _cdf(t - e), _cdf(-t - e)
    if outcome == "left":
        return p_left
    if outcome == "right":
        return p_right
    if outcome == "equal":
        return max(1.0 - p_left - p_right, 0.0)
    raise ValueError(f"no probability for the answer {outcome!r}")
