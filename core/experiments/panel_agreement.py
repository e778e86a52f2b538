"""Does the model agree with a panel of raters as well as the raters agree with each
other? (issue 24, item 6; the bar the i-ROP study of retinopathy of prematurity set:
experts' pairwise rankings agreed far better than their category labels.)

At each seed, pairs of held-out images are drawn so that they cluster cleanly: the
held-out patients are shuffled and paired up, and each pair of patients gives every
pair of one visit of the first with one visit of the second. Three simulated raters of
different noise (position bias and lapses as the benchmark's rater) answer every pair
once; the same answers serve every arm and checkpoint of the seed. Figures:

- ``rater_mutual``: the share of pairs two raters answer alike, over the three pairs of
  raters;
- ``model_with_consensus``: the share of pairs where the model's order (which image it
  scores higher) is the majority's answer (pairs without a majority left out);
- ``rater_with_others`` / ``model_with_others``: each rater, and the model, against the
  other two raters where those two agree (the like-for-like comparison: the consensus
  of three includes the rater being compared).

Intervals: the benchmark's two-stage bootstrap, seeds then pairs of patients (every
image pair of a pair of patients drawn together), the same draws for every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from core.simulation import SimulatedRater

from .cluster_bootstrap import SeedBootstrap, interval

DEFAULT_NOISES = (0.05, 0.1, 0.3)
CODE = {"left": 1, "right": -1, "equal": 0}
GROUP = "panel pairs"


def patient_pairs(patients: Sequence[Any], seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Image positions (left, right) and each pair's cluster (its pair of patients)."""
    rng = np.random.default_rng([seed, 24])
    named = sorted({str(p) for p in patients if p is not None})
    order = [named[k] for k in rng.permutation(len(named))]
    by_patient: dict[str, list[int]] = {p: [] for p in named}
    for k, p in enumerate(patients):
        if p is not None:
            by_patient[str(p)].append(k)
    left: list[int] = []
    right: list[int] = []
    cluster: list[int] = []
    for c in range(len(order) // 2):
        first, second = by_patient[order[2 * c]], by_patient[order[2 * c + 1]]
        for a in first:
            for b in second:
                swap = rng.random() < 0.5
                left.append(b if swap else a)
                right.append(a if swap else b)
                cluster.append(c)
    return np.array(left, dtype=int), np.array(right, dtype=int), cluster


def panel_answers(
    truth: Sequence[float],
    left: np.ndarray,
    right: np.ndarray,
    noises: Sequence[float],
    position_bias: float,
    lapse: float,
    seed: int,
) -> np.ndarray:
    """(raters, pairs) answers coded +1 left, -1 right, 0 equal."""
    values = np.asarray(truth, dtype=float)
    answers = np.empty((len(noises), len(left)), dtype=int)
    for r, noise in enumerate(noises):
        rater = SimulatedRater(
            f"Panel rater {r + 1}",
            noise=noise,
            left_bias=0.5 + position_bias,
            lapse=lapse,
            seed=seed * 1000 + 240 + r,
        )
        for k, (a, b) in enumerate(zip(left, right, strict=True)):
            answers[r, k] = CODE[rater.answer(values[a], values[b])]
    return answers


def majority(answers: np.ndarray) -> np.ndarray:
    """Per pair the answer at least two raters gave, else a value no answer takes (9)."""
    out = np.full(answers.shape[1], 9)
    for r, s in combinations(range(answers.shape[0]), 2):
        agree = (answers[r] == answers[s]) & (out == 9)
        out[agree] = answers[r][agree]
    return out


def agreement(model: np.ndarray, answers: np.ndarray, index: np.ndarray) -> dict[str, float]:
    """The four figures over the pairs at ``index`` (repeats count again)."""
    a, m = answers[:, index], model[index]
    raters = range(a.shape[0])
    mutual = np.mean([np.mean(a[r] == a[s]) for r, s in combinations(raters, 2)])
    consensus = majority(a)
    has = consensus != 9
    rater_others, model_others = [], []
    for r in raters:
        s, t = (x for x in raters if x != r)
        both = a[s] == a[t]
        if both.any():
            rater_others.append(np.mean(a[r][both] == a[s][both]))
            model_others.append(np.mean(m[both] == a[s][both]))
    return {
        "rater_mutual": float(mutual),
        "model_with_consensus": float(np.mean(m[has] == consensus[has])) if has.any() else np.nan,
        "rater_with_others": float(np.mean(rater_others)) if rater_others else np.nan,
        "model_with_others": float(np.mean(model_others)) if model_others else np.nan,
    }


class PanelSeed:
    """A seed's pairs of held-out images and the panel's answers about them."""

    def __init__(self, record: Mapping[str, Sequence], config: Any, seed: int) -> None:
        self.size = len(record["truth"])
        self.left, self.right, cluster = patient_pairs(record["patient"], seed)
        noises = tuple(config.panel) or DEFAULT_NOISES
        self.answers = panel_answers(
            record["truth"], self.left, self.right, noises, config.position_bias, config.lapse, seed
        )
        # the bootstrap's record of this group: one entry per image pair, by cluster
        self.units: dict[str, Sequence] = {"truth": [0.0] * len(cluster), "cluster": cluster}

    def model(self, record: Mapping[str, Sequence]) -> np.ndarray:
        if len(record["truth"]) != self.size:
            raise ValueError("a record of another seed's held-out images")
        score = np.asarray(record["score"], dtype=float)
        return np.sign(score[self.left] - score[self.right]).astype(int)


def panel_figures(
    bootstrap: SeedBootstrap, panels: Mapping[int, PanelSeed], records: Mapping[int, Mapping]
) -> dict:
    """The four figures (mean over seeds) and the model's two gaps to the raters, with
    95% intervals, for one curve's records by seed."""
    pool = sorted(s for s in records if s in panels)
    if not pool:
        return {}
    models = {s: panels[s].model(records[s]) for s in pool}
    everything = {s: np.arange(len(panels[s].left)) for s in pool}
    point = _mean_figures(panels, models, [(s, everything[s]) for s in pool])
    draws: dict[str, list[float]] = {k: [] for k in point}
    for b in range(bootstrap.resamples):
        drawn = [
            (s, bootstrap.index(b, GROUP, s, repeat, panels[s].units, "cluster"))
            for s, repeat in bootstrap.seeds(b, pool)
        ]
        for key, value in _mean_figures(panels, models, drawn).items():
            draws[key].append(value)
    return {
        key: {"mean": point[key], "ci95": interval(np.array(values))}
        for key, values in draws.items()
    }


def _mean_figures(
    panels: Mapping[int, PanelSeed],
    models: Mapping[int, np.ndarray],
    drawn: Sequence[tuple[int, np.ndarray]],
) -> dict[str, float]:
    per_seed = [agreement(models[s], panels[s].answers, index) for s, index in drawn]
    figures = {k: float(np.nanmean([f[k] for f in per_seed])) for k in per_seed[0]}
    figures["consensus_minus_mutual"] = figures["model_with_consensus"] - figures["rater_mutual"]
    figures["others_minus_rater"] = figures["model_with_others"] - figures["rater_with_others"]
    return figures


def panel_report(
    config: Any,
    bootstrap: SeedBootstrap,
    start: Mapping[int, Mapping],
    curves: Mapping[str, Sequence[tuple[int, Mapping[int, Mapping]]]],
) -> dict:
    """The panel's figures for the first model (``start``: records by seed) and for each
    curve's checkpoints (name -> [(checkpoint, records by seed)])."""
    every = [start, *(records for points in curves.values() for _, records in points)]
    seeds = sorted({s for records in every for s in records})
    panels = {}
    for seed in seeds:
        record = next(records[seed] for records in every if seed in records)
        panels[seed] = PanelSeed(record, config, seed)
    return {
        "raters_noise": list(tuple(config.panel) or DEFAULT_NOISES),
        "pairs_per_seed": {s: len(p.left) for s, p in panels.items()},
        "first_model": panel_figures(bootstrap, panels, start),
        "curves": {
            name: [
                {"checkpoint": checkpoint, **panel_figures(bootstrap, panels, records)}
                for checkpoint, records in points
            ]
            for name, points in curves.items()
        },
    }
