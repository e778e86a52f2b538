"""A new version against the active one: the paired difference, its interval over
patients, checked against plain loops."""

import numpy as np
import pytest

from core.learning.comparison import Answers, compare_versions
from core.learning.metrics import severity_tau

NO_ANSWERS = Answers(np.zeros(0, int), np.zeros(0, int), np.zeros(0, bool))


def cohort(patients=30, per_patient=4, seed=0):
    """Grades that rise along each patient's visits; a patient's images share a unit."""
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(patients), per_patient)
    grades = np.clip(
        rng.integers(0, 3, patients).repeat(per_patient)
        + np.tile(np.arange(per_patient) // 2, patients),
        0,
        4,
    )
    return rng, grades, units


def some_answers(rng, grades, count=80):
    left, right = rng.integers(0, len(grades), (2, count))
    keep = grades[left] != grades[right]
    left, right = left[keep], right[keep]
    return Answers(left, right, grades[left] > grades[right])


def test_the_point_difference_is_each_figure_recomputed_by_hand():
    rng, grades, units = cohort()
    new = grades + rng.normal(0, 1.0, len(grades))
    active = rng.normal(0, 1.0, len(grades))
    answers = some_answers(rng, grades)
    result = compare_versions(new, active, grades, units, answers, draws=50)

    tau = severity_tau(new, grades) - severity_tau(active, grades)
    hits = {"new": 0, "active": 0}
    for a, b, left in zip(answers.left, answers.right, answers.left_more_severe, strict=True):
        hits["new"] += (new[a] > new[b]) == left
        hits["active"] += (active[a] > active[b]) == left
    agreement = (hits["new"] - hits["active"]) / len(answers.left)
    assert result.figures == pytest.approx({"tau": tau, "agreement": agreement})
    assert result.difference == pytest.approx((tau + agreement) / 2)
    assert (result.patients, result.images, result.answers) == (30, 120, len(answers.left))


def test_a_better_version_is_not_worse_and_a_reversed_one_is():
    rng, grades, units = cohort()
    good = grades + rng.normal(0, 0.5, len(grades))
    answers = some_answers(rng, grades)
    better = compare_versions(good, rng.normal(size=len(grades)), grades, units, answers)
    assert better.low > 0.2 and not better.worse
    reversed_ = compare_versions(-good, good, grades, units, answers)
    assert reversed_.high < -0.5 and reversed_.worse
    assert "+" not in reversed_.describe().split("[")[0]


def test_the_same_scores_differ_by_exactly_nothing():
    rng, grades, units = cohort()
    scores = rng.normal(size=len(grades))
    same = compare_versions(scores, scores.copy(), grades, units, some_answers(rng, grades))
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0) and not same.worse


def test_resampling_patients_is_wider_than_resampling_their_images():
    """Four images of a patient carry the same score offset: they are one observation,
    and an interval that treated them as four would be too sure."""
    rng, grades, units = cohort(patients=40, per_patient=6, seed=3)
    offset = rng.normal(0, 2.0, 40).repeat(6)  # what a version gets wrong, per patient
    new = grades + offset
    active = grades + rng.normal(0, 2.0, 40).repeat(6)
    by_patient = compare_versions(new, active, grades, units, NO_ANSWERS)
    by_image = compare_versions(new, active, grades, np.arange(len(grades)), NO_ANSWERS)
    assert by_patient.difference == by_image.difference
    width = {k: r.high - r.low for k, r in (("patient", by_patient), ("image", by_image))}
    assert width["patient"] > 1.5 * width["image"]


def test_answers_alone_or_grades_alone_are_enough_and_neither_is_none():
    rng, grades, units = cohort()
    scores = grades + rng.normal(0, 0.5, len(grades))
    answers = some_answers(rng, grades)
    ungraded = np.full_like(grades, -1)
    only_answers = compare_versions(scores, -scores, ungraded, units, answers)
    assert set(only_answers.figures) == {"agreement"} and only_answers.difference > 0.5
    only_grades = compare_versions(scores, -scores, grades, units, NO_ANSWERS)
    assert set(only_grades.figures) == {"tau"}
    assert compare_versions(scores, -scores, ungraded, units, NO_ANSWERS) is None
    one_grade = np.zeros_like(grades)  # tau needs two grades
    assert compare_versions(scores, -scores, one_grade, units, NO_ANSWERS) is None
    few = units < 4  # four patients: too few for an interval
    assert compare_versions(scores[few], -scores[few], grades[few], units[few], NO_ANSWERS) is None
    with pytest.raises(ValueError, match="both versions"):
        compare_versions(scores, scores[:-1], grades, units, NO_ANSWERS)
