"""The evaluation metrics of the papers, from well-kept libraries where they exist."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    recall_score,
    roc_auc_score,
)


def maee(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute exponential error, ``mean(exp(|y - y_hat|))`` on integer grades
    (ConPro): 1 when every grade is right, and a two-grade miss costs e^2."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError("maee needs two non-empty arrays of the same shape")
    return float(np.exp(np.abs(y_true - y_pred)).mean())


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    labels = np.unique(y_true)
    return {
        "macro_f1": float(
            f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)
        ),
        "macro_recall": float(
            recall_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)
        ),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "maee": maee(y_true, y_pred),
        "qwk": float(cohen_kappa_score(y_true, y_pred, weights="quadratic")),
    }


def severity_tau(score: np.ndarray, grade: np.ndarray) -> float:
    """Kendall tau (tau-b, ties allowed) between the severity score and the grade."""
    tau = kendalltau(score, grade).statistic
    return float(0.0 if np.isnan(tau) else tau)


def severity_ordering(
    score: np.ndarray, grade: np.ndarray, truth: np.ndarray | None = None
) -> dict[str, float]:
    """Two questions kept apart: does s(x) tell abnormal from normal (``auc_abnormal``),
    and does it order severity *among* abnormal images (``tau_abnormal``)? Most
    different-grade pairs involve a normal image, so ``tau`` alone mostly measures the
    first. ``tau_truth`` is against a continuous truth where one exists (the synthetic
    cohort's severity). Figures that cannot be measured (one class only) are left out."""
    score, grade = np.asarray(score, dtype=float), np.asarray(grade)
    figures = {"tau": severity_tau(score, grade)}
    abnormal = grade > 0
    if abnormal.any() and (grade == 0).any():
        figures["auc_abnormal"] = float(roc_auc_score(abnormal[grade >= 0], score[grade >= 0]))
    if len(np.unique(grade[abnormal])) > 1:
        figures["tau_abnormal"] = severity_tau(score[abnormal], grade[abnormal])
    if truth is not None:
        known = np.isfinite(np.asarray(truth, dtype=float))
        if known.sum() > 1:
            figures["tau_truth"] = severity_tau(score[known], np.asarray(truth)[known])
    return figures


def bayes_maee_decision(probabilities: np.ndarray) -> np.ndarray:
    """The grade that minimises the expected MAEE under the predicted distribution:
    ``argmin_k sum_c p_c exp(|c - k|)`` (not the argmax, which ignores how far off a
    wrong grade is)."""
    probabilities = np.asarray(probabilities, dtype=float)
    grades = np.arange(probabilities.shape[1])
    cost = np.exp(np.abs(grades[:, None] - grades[None, :]))  # cost[c, k]
    return (probabilities @ cost).argmin(axis=1)


def constant_grade(train_grades: np.ndarray) -> int:
    """The floor's answer: the one grade that minimises expected MAEE under the training
    split's grade frequencies (unknown grades, -1, left out)."""
    known = train_grades[train_grades >= 0]
    return int(bayes_maee_decision((np.bincount(known) / len(known))[None, :])[0])


def constant_maee(train_grades: np.ndarray, test_grades: np.ndarray) -> dict[str, float]:
    """The floor: always answer ``constant_grade``, scored on the test grades."""
    constant = constant_grade(train_grades)
    return {
        "constant_grade": constant,
        "maee": maee(test_grades, np.full_like(test_grades, constant)),
    }


def judgment_agreement(
    score_left: np.ndarray, score_right: np.ndarray, outcome: list[str]
) -> float:
    """Share of held-out left/right judgments where the model's more severe side
    (``sigmoid(s_l - s_r) > 0.5``) matches the expert. Equal answers are not counted."""
    decided = [
        (sl, sr, o)
        for sl, sr, o in zip(score_left, score_right, outcome, strict=True)
        if o in ("left", "right")
    ]
    if not decided:
        return float("nan")
    hits = sum(bool(sl > sr) == (o == "left") for sl, sr, o in decided)
    return float(hits / len(decided))
