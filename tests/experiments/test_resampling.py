"""The benchmark's fast figures against scikit-learn and scipy, and the bootstrap's
intervals and paired differences on answers whose truth is known."""

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from core.experiments.resampling import Answers, figures, summarise_with_intervals
from core.learning.metrics import classification_metrics, maee


def random_answers(rng, n=150, classes=5):
    grades = rng.integers(0, classes, n)
    noisy = np.clip(grades + rng.integers(-2, 3, n), 0, classes - 1)
    score = grades + rng.normal(0, 1.5, n)
    return grades, Answers(noisy, np.clip(noisy + rng.integers(-1, 2, n), 0, 4), score)


@pytest.mark.parametrize("seed", range(5))
def test_fast_figures_equal_the_reference_implementations(seed):
    rng = np.random.default_rng(seed)
    grades, answers = random_answers(rng)
    truth = grades + rng.normal(0, 0.3, len(grades))
    index = rng.integers(0, len(grades), len(grades))
    fast = figures(grades, answers, truth, index)
    y, p = grades[index], answers.predicted[index]
    reference = classification_metrics(y, p)
    reference["qwk"] = cohen_kappa_score(y, p, weights="quadratic", labels=np.arange(5))
    reference["maee_bayes"] = maee(y, answers.predicted_bayes[index])
    score, abnormal = answers.score[index], y > 0
    reference["tau"] = kendalltau(score, y).statistic
    reference["tau_abnormal"] = kendalltau(score[abnormal], y[abnormal]).statistic
    reference["auc_abnormal"] = roc_auc_score(abnormal, score)
    reference["tau_truth"] = kendalltau(score, truth[index]).statistic
    assert fast == pytest.approx(reference, abs=1e-12)


def test_a_grade_missing_from_the_predictions_scores_zero_not_an_error():
    grades = np.array([0, 0, 1, 2, 3, 4])
    answers = Answers(np.zeros(6, dtype=int), np.zeros(6, dtype=int), np.zeros(6))
    out = figures(grades, answers)
    assert out["macro_f1"] == pytest.approx(
        classification_metrics(grades, np.zeros(6, int))["macro_f1"]
    )
    assert out["tau"] == 0.0 and out["auc_abnormal"] == 0.5


def test_intervals_hold_the_mean_and_paired_differences_find_a_real_gap():
    rng = np.random.default_rng(0)
    n = 200
    grades = rng.integers(0, 5, n)

    def runs(noise):
        out = []
        for seed in range(4):
            guess = np.clip(np.round(grades + rng.normal(0, noise, n)), 0, 4).astype(int)
            out.append(Answers(guess, guess, grades + rng.normal(0, noise, n), seed))
        return out

    good, poor = runs(0.5), runs(2.0)
    summary = summarise_with_intervals(
        grades, {"good": good, "poor": poor, "same": good}, references=("good",), resamples=200
    )
    for method in ("good", "poor"):
        for figure in summary[method]["metrics"].values():
            low, high = figure["ci95"]
            assert low <= figure["mean"] <= high and figure["std"] > 0
    gap = summary["poor"]["paired"]["good"]["tau"]
    assert gap["ci95"][0] > 0.2  # far better, and the interval says so
    assert len(gap["per_run"]) == 4
    identical = summary["same"]["paired"]["good"]["macro_f1"]
    assert identical["mean"] == 0.0 and identical["ci95"] == [0.0, 0.0]
    assert "paired" not in summary["good"]


def test_seed_spread_widens_the_interval():
    """Two methods with the same mean figure on the test images, one steady and one whose
    runs disagree: the second's interval is wider (seeds are resampled too)."""
    rng = np.random.default_rng(1)
    n = 300
    grades = rng.integers(0, 5, n)
    steady = [Answers(grades, grades, grades + rng.normal(0, 1.0, n), seed) for seed in range(5)]
    shaky = [
        Answers(grades, grades, grades + rng.normal(0, noise, n), seed)
        for seed, noise in enumerate((0.2, 0.4, 1, 3, 6))
    ]
    summary = summarise_with_intervals(grades, {"steady": steady, "shaky": shaky}, resamples=300)
    width = {m: np.diff(summary[m]["metrics"]["tau"]["ci95"])[0] for m in summary}
    assert width["shaky"] > 2 * width["steady"]


def test_drop_difference_credits_the_method_that_holds_up():
    from core.experiments.resampling import drop_difference

    rng = np.random.default_rng(0)
    grades = np.repeat(np.arange(5), 20)
    score = grades + rng.normal(0, 0.3, len(grades))
    right = Answers(grades.copy(), grades.copy(), score)
    wrong = Answers((grades + 2) % 5, (grades + 2) % 5, rng.normal(0, 1, len(grades)))
    result = drop_difference(
        grades, (right, right), (right, wrong), ("macro_f1", "tau_abnormal"), resamples=200
    )
    # the method loses nothing; the reference loses all of its macro-F1
    assert result["macro_f1"]["mean"] == pytest.approx(1.0)
    assert result["macro_f1"]["ci95"][0] > 0.9
    assert result["tau_abnormal"]["mean"] > 0.5 and result["tau_abnormal"]["ci95"][0] > 0
    same = drop_difference(grades, (right, wrong), (right, wrong), ("macro_f1",), resamples=50)
    assert same["macro_f1"]["mean"] == 0 and same["macro_f1"]["ci95"] == [0.0, 0.0]


@pytest.mark.parametrize(
    "grades, predicted",
    [
        # grade 3 above every test grade: sized from the test grades it fell into row 1
        ([0, 0, 1, 1, 2, 2], [3, 0, 1, 1, 2, 2]),
        # grade 4 on a grade-2 image: past the end of a matrix sized from the test grades
        ([0, 1, 1, 2, 2, 2], [0, 1, 4, 2, 2, 3]),
    ],
)
def test_a_prediction_above_every_test_grade_is_scored_in_its_own_cell(grades, predicted):
    grades, predicted = np.array(grades), np.array(predicted)
    answers = Answers(predicted, predicted, grades + 0.5 * np.arange(6) % 2)
    reference = classification_metrics(grades, predicted)
    reference["qwk"] = cohen_kappa_score(grades, predicted, weights="quadratic", labels=range(5))
    for classes in (None, 5):  # from the grades seen, or the grades the model knows
        out = figures(grades, answers, classes=classes)
        assert {f: out[f] for f in reference} == pytest.approx(reference, abs=1e-12)
    with pytest.raises(ValueError, match="outside the 3 grades"):
        figures(grades, answers, classes=3)


def test_runs_are_paired_by_seed_when_a_seed_diverged():
    """The other method is the reference run for run at the seeds it has; its seed 1
    diverged. Paired by seed every difference is zero; paired by place in the list, its
    seed 2 would meet the reference's seed 1."""
    rng = np.random.default_rng(3)
    n = 120
    grades = rng.integers(0, 5, n)
    reference = []
    for seed, noise in enumerate((0.3, 1.5, 3.0)):
        guess = np.clip(np.round(grades + rng.normal(0, noise, n)), 0, 4).astype(int)
        reference.append(Answers(guess, guess, grades + rng.normal(0, noise, n), seed))
    other = [reference[0], reference[2]]
    constant = Answers(np.full(n, 2), np.full(n, 2), np.zeros(n))  # no seed: every seed
    summary = summarise_with_intervals(
        grades,
        {"ref": reference, "other": other, "constant": [constant]},
        references=("ref",),
        resamples=100,
    )
    assert summary["ref"]["seeds"] == [0, 1, 2] and summary["other"]["seeds"] == [0, 2]
    for figure in summary["other"]["paired"]["ref"].values():
        assert figure["seeds"] == [0, 2]
        assert figure["per_run"] == [0.0, 0.0]
        assert figure["mean"] == 0.0 and figure["ci95"] == [0.0, 0.0]
    tau = summary["constant"]["paired"]["ref"]["tau"]
    assert tau["seeds"] == [0, 1, 2]
    assert tau["per_run"] == pytest.approx(
        [kendalltau(a.score, grades).statistic for a in reference]  # constant tau is 0
    )


def test_a_method_resamples_its_own_seeds():
    """A method with two seeds, one ranking perfectly (tau 1) and one backwards (tau -1),
    beside a method with ten: a resample of its two seeds is both of one run a quarter of
    the time, so its interval spans [-1, 1]. Drawing ten places in the list (as many as
    the other method has runs) would average the two away and narrow it."""
    rng = np.random.default_rng(4)
    n = 60
    grades = rng.integers(0, 5, n)
    many = [Answers(grades, grades, grades + rng.normal(0, 1, n), seed) for seed in range(10)]
    two = [Answers(grades, grades, grades * 1.0, 0), Answers(grades, grades, -1.0 * grades, 1)]
    summary = summarise_with_intervals(grades, {"many": many, "two": two}, resamples=200)
    tau = summary["two"]["metrics"]["tau"]
    assert tau["mean"] == pytest.approx(0.0)
    assert tau["ci95"] == pytest.approx([-1.0, 1.0])


def test_runs_without_their_own_seeds_are_refused():
    grades = np.array([0, 1, 2, 3])
    run = Answers(grades, grades, grades * 1.0)
    with pytest.raises(ValueError, match="each run needs a seed of its own"):
        summarise_with_intervals(grades, {"m": [run, run]}, resamples=5)
