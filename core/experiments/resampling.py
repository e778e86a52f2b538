"""Intervals and paired differences for a benchmark: a bootstrap over test images.

Each resample draws test images with replacement *and* runs (seeds) with replacement;
every figure of every drawn run is recomputed on the drawn images, the same images for
every method. So the interval of a method's seed-mean, and of the difference between
two methods (paired by seed and by image), carries both the spread of the seeds and the
luck of the test slice. Runs are paired by the seed they carry, never by their place in a
list: a seed that one method lost (its training diverged) leaves that method's figures and
every difference with it, and nothing else. The classification figures are computed from
one confusion matrix per resample (``tests/experiments/test_resampling.py`` checks them
against scikit-learn and scipy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau, rankdata

FIGURES = (
    "macro_f1",
    "macro_recall",
    "accuracy",
    "maee",
    "maee_bayes",
    "qwk",
    "tau",
    "tau_abnormal",
    "auc_abnormal",
    "tau_truth",
)


@dataclass(frozen=True)
class Answers:
    """One run's answers for each test image, and the seed the run trained with (None
    for a deterministic run, such as the constant floor, which stands for every seed)."""

    predicted: np.ndarray  # grade (probe argmax)
    predicted_bayes: np.ndarray  # grade of least expected MAEE
    score: np.ndarray  # severity score s(x)
    seed: int | None = None


Seed = int | None  # None: the one run of a deterministic method, the same at every seed


def figures(
    grades: np.ndarray,
    answers: Answers,
    truth: np.ndarray | None = None,
    index=None,
    classes: int | None = None,
) -> dict[str, float]:
    """Every figure of one run on the test images at ``index`` (all when None).
    ``classes``: how many grades the model can answer (0 to ``classes - 1``); by default
    enough for every test grade and every prediction."""
    index = np.arange(len(grades)) if index is None else index
    y = grades[index]
    classes = grade_range(grades, answers, classes=classes)
    out = _classification(y, answers.predicted[index], classes)
    out["maee_bayes"] = float(np.exp(np.abs(y - answers.predicted_bayes[index])).mean())
    score = answers.score[index]
    out["tau"] = _tau(score, y)
    abnormal = y > 0
    if abnormal.any() and not abnormal.all():
        out["auc_abnormal"] = _auc(score, abnormal)
    if len(np.unique(y[abnormal])) > 1:
        out["tau_abnormal"] = _tau(score[abnormal], y[abnormal])
    if truth is not None:
        out["tau_truth"] = _tau(score, truth[index])
    return out


def grade_range(grades: np.ndarray, *answers: Answers, classes: int | None = None) -> int:
    """How many grades the confusion matrix needs: ``classes`` (the grades the model
    knows), checked to hold every test grade and every prediction, or else just enough
    for them all. A matrix sized from the test grades alone puts a prediction above the
    highest test grade into the next row (or past the end)."""
    highest = max(
        [int(grades.max()), *(int(a.predicted.max()) for a in answers if a.predicted.size)]
    )
    if classes is None:
        return highest + 1
    if highest >= classes:
        raise ValueError(f"grade {highest} is outside the {classes} grades the model knows")
    return classes


def _classification(y: np.ndarray, p: np.ndarray, classes: int) -> dict[str, float]:
    """macro-F1 and macro recall over the grades present in ``y`` (scikit-learn's
    ``labels=np.unique(y)``, ``zero_division=0``), accuracy, MAEE and quadratic kappa
    with weights ``(i - j)^2`` on the grade values."""
    confusion = np.bincount(y * classes + p, minlength=classes * classes).reshape(classes, classes)
    hits = np.diag(confusion).astype(float)
    actual, chosen = confusion.sum(1), confusion.sum(0)
    present = actual > 0
    recall = np.divide(hits, actual, out=np.zeros(classes), where=actual > 0)
    precision = np.divide(hits, chosen, out=np.zeros(classes), where=chosen > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(classes), where=total > 0)
    n = len(y)
    grade = np.arange(classes)
    weights = (grade[:, None] - grade[None, :]) ** 2
    expected = np.outer(actual, chosen) / n
    denominator = (weights * expected).sum()
    qwk = 1.0 - (weights * confusion).sum() / denominator if denominator > 0 else 0.0
    return {
        "macro_f1": float(f1[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "accuracy": float(hits.sum() / n),
        "maee": float(np.exp(np.abs(y - p)).mean()),
        "qwk": float(qwk),
    }


PAIRWISE_TAU_MAX = 1500  # up to this many images tau-b is computed on all pairs at once


def _tau(score: np.ndarray, truth: np.ndarray) -> float:
    """Kendall tau-b (0 where undefined). For a test slice of benchmark size, from the
    signs of all pairwise differences in one go: the same figure as scipy's
    ``kendalltau``, without its per-call overhead, which dominated the bootstrap."""
    if len(score) > PAIRWISE_TAU_MAX:
        tau = kendalltau(score, truth).statistic
        return float(0.0 if np.isnan(tau) else tau)
    # every pair counted twice (i, j and j, i) in numerator and denominator alike
    dx = np.sign(score[:, None] - score[None, :])
    dy = np.sign(truth[:, None] - truth[None, :])
    denominator = np.sqrt(float(np.count_nonzero(dx)) * float(np.count_nonzero(dy)))
    return float((dx * dy).sum() / denominator) if denominator > 0 else 0.0


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count a half)."""
    ranks = rankdata(score)
    n_pos = int(positive.sum())
    n_neg = len(score) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def summarise_with_intervals(
    grades: np.ndarray,
    answers: dict[str, list[Answers]],
    truth: np.ndarray | None = None,
    references: tuple[str, ...] = (),
    resamples: int = 1000,
    seed: int = 0,
    classes: int | None = None,
) -> dict[str, dict]:
    """Per method: mean and standard deviation (ddof 1) over its runs of every figure on
    the whole test slice, with a 95% percentile interval for the mean from resampling
    test images and the method's own seeds; and, against each of ``references``, the
    paired difference ``reference - method`` over the seeds both have (seed s against
    seed s, same resample) with its interval and per-seed values (``per_run``, in the
    order of ``seeds``). A pair with no seed in common has no difference. ``classes``:
    the grades the models know (``grade_range``)."""
    rng = np.random.default_rng(seed)
    n = len(grades)
    by_seed = {m: runs_by_seed(m, runs) for m, runs in answers.items() if runs}
    every_run = [a for runs in by_seed.values() for a in runs.values()]
    classes = grade_range(grades, *every_run, classes=classes)
    references = tuple(r for r in references if r in by_seed)
    point = {
        m: {s: figures(grades, a, truth, None, classes) for s, a in runs.items()}
        for m, runs in by_seed.items()
    }
    names = [f for f in FIGURES if all(f in r for runs in point.values() for r in runs.values())]
    common = {
        (ref, m): shared_seeds(by_seed[ref], by_seed[m])
        for ref in references
        for m in by_seed
        if m != ref
    }
    pairs = {pair: seeds for pair, seeds in common.items() if seeds}
    draws = {m: {f: np.empty(resamples) for f in names} for m in by_seed}
    paired = {pair: {f: np.empty(resamples) for f in names} for pair in pairs}
    for b in range(resamples):
        index = rng.integers(0, n, n)
        if len(np.unique(grades[index])) < len(np.unique(grades)):
            index = _keep_every_grade(index, grades, rng)
        per_run = {
            m: {s: figures(grades, a, truth, index, classes) for s, a in runs.items()}
            for m, runs in by_seed.items()
        }
        drawn: dict[tuple[Seed, ...], list[Seed]] = {}
        for m, runs in per_run.items():
            picked = _draw_seeds(tuple(runs), rng, drawn)
            for f in names:
                draws[m][f][b] = np.mean([runs[s][f] for s in picked])
        for (ref, m), seeds in pairs.items():
            picked = _draw_seeds(seeds, rng, drawn)
            for f in names:
                paired[ref, m][f][b] = _paired_mean(per_run[ref], per_run[m], picked, f)
    summary: dict[str, dict] = {}
    for m, runs in point.items():
        summary[m] = {"runs": len(runs), "seeds": list(runs), "metrics": {}}
        for f in names:
            values = [r[f] for r in runs.values()]
            summary[m]["metrics"][f] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "ci95": _interval(draws[m][f]),
            }
        against = {
            ref: {
                f: {
                    "mean": _paired_mean(point[ref], runs, seeds, f),
                    "ci95": _interval(paired[ref, m][f]),
                    "per_run": _paired_values(point[ref], runs, seeds, f),
                    "seeds": list(seeds),
                }
                for f in names
            }
            for (ref, other), seeds in pairs.items()
            if other == m
        }
        if against:
            summary[m]["paired"] = against
    return summary


def runs_by_seed(method: str, runs: list[Answers]) -> dict[Seed, Answers]:
    """A method's runs under their seeds, in seed order. A lone run without a seed is a
    deterministic method's (the same at every seed); several runs need a seed each, or
    they could only be paired by their place in the list."""
    seeds = [a.seed for a in runs]
    if len(set(seeds)) < len(seeds) or (None in seeds and len(runs) > 1):
        raise ValueError(
            f"{method}: each run needs a seed of its own (only a lone deterministic run "
            "may have none)"
        )
    return {a.seed: a for a in sorted(runs, key=lambda a: a.seed or 0)}


def shared_seeds(first: Mapping[Seed, object], second: Mapping[Seed, object]) -> tuple[Seed, ...]:
    """The seeds at which two methods can be paired: those both ran (a deterministic
    method's run, under None, pairs with every seed of the other)."""
    if None in first:
        return tuple(second)
    if None in second:
        return tuple(first)
    return tuple(s for s in first if s in second)


def _draw_seeds(
    seeds: tuple[Seed, ...], rng: np.random.Generator, drawn: dict[tuple[Seed, ...], list[Seed]]
) -> list[Seed]:
    """As many seeds as there are, drawn with replacement from ``seeds``: once per set of
    seeds and resample (kept in ``drawn``), so methods that ran the same seeds, and their
    paired difference, resample the same seeds."""
    if seeds not in drawn:
        drawn[seeds] = [seeds[k] for k in rng.integers(0, len(seeds), len(seeds))]
    return drawn[seeds]


def drop_difference(
    grades: np.ndarray,
    method: tuple[Answers, Answers],
    reference: tuple[Answers, Answers],
    names: tuple[str, ...],
    truth: np.ndarray | None = None,
    resamples: int = 1000,
    seed: int = 0,
    classes: int | None = None,
) -> dict[str, dict]:
    """How much less a method loses than a reference when the images get worse:
    ``(reference clean - reference degraded) - (method clean - method degraded)`` for each
    figure (positive: the method holds up better), all four scored on the same resample
    of test images, with its 95% interval. Each pair is (clean answers, degraded answers)
    of one run; ``classes``: the grades the models know (``grade_range``)."""
    rng = np.random.default_rng(seed)
    classes = grade_range(grades, *method, *reference, classes=classes)

    def difference(index) -> dict[str, float]:
        a, b = (figures(grades, answers, truth, index, classes) for answers in method)
        c, d = (figures(grades, answers, truth, index, classes) for answers in reference)
        return {f: (c[f] - d[f]) - (a[f] - b[f]) for f in names if f in a and f in c}

    point = difference(None)
    draws = {f: np.empty(resamples) for f in point}
    for k in range(resamples):
        index = rng.integers(0, len(grades), len(grades))
        if len(np.unique(grades[index])) < len(np.unique(grades)):
            index = _keep_every_grade(index, grades, rng)
        for f, value in difference(index).items():
            draws[f][k] = value
    return {f: {"mean": point[f], "ci95": _interval(draws[f])} for f in point}


def _keep_every_grade(index: np.ndarray, grades: np.ndarray, rng) -> np.ndarray:
    """A resample that lost a rare grade gets one image of it back, so that macro
    figures average over the same grades in every resample."""
    missing = np.setdiff1d(np.unique(grades), grades[index])
    extra = [rng.choice(np.flatnonzero(grades == g)) for g in missing]
    return np.concatenate([index[: len(index) - len(extra)], extra]).astype(int)


def _paired_values(
    reference: dict[Seed, dict], other: dict[Seed, dict], seeds: Sequence[Seed], figure: str
) -> list[float]:
    """The reference's run minus the other's at each of ``seeds`` (a deterministic
    method's one run stands at every seed)."""
    return [float(_at(reference, s)[figure] - _at(other, s)[figure]) for s in seeds]


def _paired_mean(
    reference: dict[Seed, dict], other: dict[Seed, dict], seeds: Sequence[Seed], figure: str
) -> float:
    return float(np.mean(_paired_values(reference, other, seeds, figure)))


def _at(runs: dict[Seed, dict], seed: Seed) -> dict:
    """A method's figures at a seed: its run there, or its deterministic run."""
    return runs[seed] if seed in runs else runs[None]


def _interval(draws: np.ndarray) -> list[float]:
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
