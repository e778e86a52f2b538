"""A new version against the active one, on the same validation images, with an interval.

Both versions' severity scores for the fixed validation split are compared on two
figures of the validation score (``recipes.VALIDATION_KEYS``) that can be recomputed
from the scores alone: Kendall's tau between the score and the grade (graded images),
and the agreement with held-out answers (both images in the validation split; equal
answers are not counted). The probe's macro-F1 is left out: it would need a probe
trained again in every resample.

The difference (new minus active, the mean of the figures' differences) gets a 95%
percentile interval from a paired bootstrap over *patients*: a resample draws patients
with replacement and takes every validation image of each, and every held-out answer
whose left image is theirs, for both versions at once. An image without a patient is its
own unit. Images of one patient are alike, so resampling images would make the interval
too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import severity_tau

DRAWS = 1000
LEVEL = 0.95
MIN_PATIENTS = 5  # fewer, and every resample is nearly the same: no interval to speak of


@dataclass(frozen=True)
class Answers:
    """Held-out answers as positions into the image arrays."""

    left: np.ndarray  # position of the left image
    right: np.ndarray  # position of the right image
    left_more_severe: np.ndarray  # bool: the expert chose the left image


@dataclass(frozen=True)
class Comparison:
    """New minus active: the difference of the validation score, its interval and how
    much it rests on."""

    difference: float
    low: float
    high: float
    figures: dict[str, float]  # each figure's own difference (new minus active)
    patients: int  # resampled units
    images: int
    answers: int

    @property
    def worse(self) -> bool:
        """Worse beyond the luck of the validation images: the whole interval is below 0."""
        return self.high < 0.0

    def describe(self) -> str:
        return f"{self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def compare_versions(
    new: np.ndarray,
    active: np.ndarray,
    grades: np.ndarray,
    units: np.ndarray,
    answers: Answers,
    draws: int = DRAWS,
    seed: int = 0,
) -> Comparison | None:
    """``new`` and ``active``: each version's severity score for the same validation
    images; ``grades`` (-1: ungraded); ``units``: each image's patient (or its own id).
    None when neither figure can be measured (under two graded images of different
    grades, and no decided held-out answer), or with under ``MIN_PATIENTS`` units.
    Every resample measures the same figures as the point estimate; a resample that
    cannot (one grade drawn, or no answer) is drawn again."""
    new, active = np.asarray(new, float), np.asarray(active, float)
    grades, units = np.asarray(grades), np.asarray(units)
    if not (len(new) == len(active) == len(grades) == len(units)):
        raise ValueError("every image needs both versions' scores, a grade and a unit")
    codes, unit_of_image = np.unique(units, return_inverse=True)
    graded = np.flatnonzero(grades >= 0)
    use_tau = len(np.unique(grades[graded])) > 1
    use_answers = len(answers.left) > 0
    if not (use_tau or use_answers) or len(codes) < MIN_PATIENTS:
        return None
    members = [graded[unit_of_image[graded] == u] for u in range(len(codes))]
    hits = {  # per answer: did each version pick the expert's side?
        name: (scores[answers.left] > scores[answers.right]) == answers.left_more_severe
        for name, scores in (("new", new), ("active", active))
    }
    answer_unit = unit_of_image[answers.left]

    def figures(weights: np.ndarray, index: np.ndarray) -> dict[str, float]:
        out = {}
        if use_tau and len(np.unique(grades[index])) > 1:
            out["tau"] = severity_tau(new[index], grades[index]) - severity_tau(
                active[index], grades[index]
            )
        if use_answers:
            per_answer = weights[answer_unit]
            if per_answer.sum() > 0:
                agreement = {
                    k: float((per_answer * h).sum() / per_answer.sum()) for k, h in hits.items()
                }
                out["agreement"] = agreement["new"] - agreement["active"]
        return out

    point = figures(np.ones(len(codes)), graded)
    rng = np.random.default_rng(seed)
    differences: list[float] = []
    for _ in range(20 * draws):  # redraws are rare; the bound only stops a pathological case
        if len(differences) == draws:
            break
        drawn = rng.integers(len(codes), size=len(codes))
        index = np.concatenate([members[u] for u in drawn]) if use_tau else graded[:0]
        found = figures(np.bincount(drawn, minlength=len(codes)).astype(float), index)
        if found.keys() == point.keys():
            differences.append(float(np.mean(list(found.values()))))
    if not differences:
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Comparison(
        difference=float(np.mean(list(point.values()))),
        low=float(low),
        high=float(high),
        figures=point,
        patients=len(codes),
        images=len(new),
        answers=len(answers.left),
    )
