"""The evaluation metrics of the papers, from well-kept libraries where they exist."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, recall_score


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
