"""How far to trust each rater: Crowd-BT's per-rater reliability.

Crowd-BT (Chen et al., WSDM 2013) says a rater reports the true order of a pair with
probability ``eta`` and the reverse otherwise, so that with the Bradley-Terry chance
``p = P(winner more severe)``,

    P(answer) = eta * p + (1 - eta) * (1 - p).

A guessing rater has ``eta`` = 0.5, a careful one close to 1. We estimate it in two
stages rather than jointly: the Bradley-Terry scores come from an L2-regularised
logistic fit of everyone's decisive answers (``scikit-learn``), and each answer's ``p``
is **cross-fitted** (predicted by a fit that did not see that answer): in-sample, a
sparse comparison graph lets the scores explain any answer, a guess included. The
regularised scores are under-confident, so their margins are rescaled by one
temperature shared by all raters, chosen with the ``eta`` values to maximise the
panel's likelihood (a grid over the temperature; for each, every ``eta`` at the maximum
of its concave likelihood): without it every rater better than chance would sit at 1. A second round
refits the scores with every answer weighted by its rater's trust, ``max(2 eta - 1, 0)``,
so a guesser no longer moves the scores the others are measured against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from .answers import answers_frame
from .measures import MINIMUM, Measure, too_few

FOLDS = 5
ROUNDS = 2
TEMPERATURES = np.geomspace(0.5, 30.0, 12)


def trust(eta: float) -> float:
    """The weight a rater's answers get: 0 for a guesser (eta 0.5), 1 for a perfect rater."""
    return max(2.0 * eta - 1.0, 0.0)


def reliability(everyone: pd.DataFrame, seed: int = 0) -> dict[str, Measure]:
    """Crowd-BT ``eta`` per rater, from the decisive answers of all raters."""
    decisive = everyone[everyone["decisive"]]
    counts = decisive.groupby("rater").size()
    raters = list(everyone["rater"].unique())
    if len(decisive) < MINIMUM["reliability"]:
        return {r: too_few(int(counts.get(r, 0)), "reliability") for r in raters}
    weights = np.ones(len(decisive))
    names, rater_of = np.unique(decisive["rater"].to_numpy(), return_inverse=True)
    for _ in range(ROUNDS):
        margin = _cross_fitted(decisive, weights, seed)
        values = _calibrated_eta(margin, rater_of, len(names))
        weights = np.maximum(2 * values - 1, 0)[rater_of]
        if weights.max() <= 0:
            weights = np.ones(len(decisive))
    eta = dict(zip(names.tolist(), values.tolist(), strict=True))
    return {
        r: Measure(eta[r], int(counts[r]), MINIMUM["reliability"])
        if counts.get(r, 0) >= MINIMUM["reliability"]
        else too_few(int(counts.get(r, 0)), "reliability")
        for r in raters
    }


def rater_weights(everyone: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """Training weight per rater in [0, 1] (the most trusted rater 1). A rater with too
    few answers to judge gets the median weight of the others; if nobody can be
    trusted more than a guesser, every rater counts the same."""
    measured = reliability(everyone, seed)
    known = {r: trust(m.value) for r, m in measured.items() if m.value is not None}
    top = max(known.values(), default=0.0)
    if top <= 0:
        return dict.fromkeys(measured, 1.0)
    scaled = {r: w / top for r, w in known.items()}
    fallback = float(np.median(list(scaled.values())))
    return {r: scaled.get(r, fallback) for r in measured}


def _calibrated_eta(margin: np.ndarray, rater_of: np.ndarray, raters: int) -> np.ndarray:
    """Every rater's ``eta`` (indexed as ``rater_of`` numbers them) at the temperature
    that makes the panel's answers likeliest."""
    best, best_eta = -np.inf, np.full(raters, 0.5)
    for temperature in TEMPERATURES:
        chance = 1.0 / (1.0 + np.exp(-temperature * margin))
        eta = _eta(chance, rater_of, raters)
        per_answer = eta[rater_of] * chance + (1 - eta[rater_of]) * (1 - chance)
        likelihood = np.log(per_answer + 1e-12).sum()
        if likelihood > best:
            best, best_eta = likelihood, eta
    return best_eta


def _cross_fitted(decisive: pd.DataFrame, weights: np.ndarray, seed: int) -> np.ndarray:
    """For every answer, the Bradley-Terry margin (winner's strength minus loser's)
    from a fit on the other folds: 0 where that fit never saw the images."""
    images, codes = np.unique(
        np.concatenate([decisive["winner"], decisive["loser"]]), return_inverse=True
    )
    n = len(decisive)
    winner, loser = codes[:n], codes[n:]
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % FOLDS
    flip = rng.random(n) < 0.5  # both classes present for the logistic fit
    sign = np.where(flip, -1.0, 1.0)
    rows = np.repeat(np.arange(n), 2)
    columns = np.stack([winner, loser], axis=1).ravel()
    values = (np.stack([sign, -sign], axis=1)).ravel()
    design = sparse.csr_matrix((values, (rows, columns)), shape=(n, len(images)))
    target = (~flip).astype(int)
    margin = np.zeros(n)
    for k in range(FOLDS):
        train = (fold != k) & (weights > 0)
        if train.sum() < 2 or len(np.unique(target[train])) < 2:
            continue
        fit = LogisticRegression(C=1.0, fit_intercept=False, max_iter=200)
        fit.fit(design[train], target[train], sample_weight=weights[train])
        strength = fit.coef_.ravel()
        held = fold == k
        margin[held] = strength[winner[held]] - strength[loser[held]]
    return margin


def _eta(chance: np.ndarray, rater_of: np.ndarray, raters: int) -> np.ndarray:
    """Maximum-likelihood ``eta`` of every rater given each answer's chance. The
    log-likelihood is concave in ``eta``, its derivative
    ``sum (2p - 1) / (eta (2p - 1) + 1 - p)`` decreasing, so bisection on the derivative
    finds the maximum (all raters at once; 30 halvings of [0, 1], to 1e-9)."""
    slope = 2 * np.clip(chance, 1e-6, 1 - 1e-6) - 1  # 2p - 1
    low, high = np.zeros(raters), np.ones(raters)
    for _ in range(30):
        middle = (low + high) / 2
        m = middle[rater_of]
        rising = np.bincount(rater_of, slope / (m * slope + (1 - slope) / 2), minlength=raters) > 0
        low, high = np.where(rising, middle, low), np.where(rising, high, middle)
    return (low + high) / 2


def judgment_rater_weights(judgments: list[dict], seed: int = 0) -> dict[int, float]:
    """``rater_weights`` keyed by rater id, from standing judgments as the trainer gets
    them (rows of ``effective_judgments``)."""
    rows = [{**j, "rater": j["rater_id"]} for j in judgments]
    return {int(r): w for r, w in rater_weights(answers_frame(rows), seed).items()}
