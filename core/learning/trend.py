"""LEARNER's downstream task: given two visits of one patient, did severity improve,
stay the same or deteriorate? Split by patient, two ways of answering it:

- LEARNER's protocol: a 3-way MLP probe on the pair's embeddings ``[u_a, u_b, u_b - u_a]``
  (768 numbers a pair: with a few hundred training pairs it learns the patients it saw);
- the **score change**: a 3-way logistic regression on one number, ``s(b) - s(a)``, the
  change of the severity score. It has three slopes and three offsets to fit, so it
  carries over to new patients exactly as far as the score orders severity.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .data import ImageSet
from .evaluate import train_probe
from .metrics import classification_metrics
from .scoring import space_vectors

SAME_WITHIN = 0.1  # a health-score change smaller than this counts as "same"


def visit_pairs(image_set: ImageSet) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive visits of each patient, as index pairs (earlier, later)."""
    earlier, later = [], []
    for patient in np.unique(image_set.patients):
        if not patient:
            continue
        visits = np.flatnonzero(image_set.patients == patient)
        visits = visits[np.argsort(image_set.visit_order[visits], kind="stable")]
        earlier += visits[:-1].tolist()
        later += visits[1:].tolist()
    return np.array(earlier, dtype=int), np.array(later, dtype=int)


def trend_labels(health: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    change = health[later] - health[earlier]
    return np.where(change < -SAME_WITHIN, 0, np.where(change > SAME_WITHIN, 2, 1))


def pair_features(vectors: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [vectors[earlier], vectors[later], vectors[later] - vectors[earlier]], axis=1
    )


def trend_vectors(net, image_set: ImageSet) -> np.ndarray:
    """The pre-trained embedding u (the contrastive head's space, as in LEARNER)."""
    return space_vectors(net, image_set.images, "contrastive").numpy()


class ScoreChangeCaller:
    """Trend from the change of the severity score: multinomial logistic regression on
    ``s(later) - s(earlier)`` (standardised), classes weighted to balance."""

    def __init__(self, changes: np.ndarray, labels: np.ndarray):
        self.scale = float(np.std(changes)) or 1.0
        self.model = LogisticRegression(class_weight="balanced", max_iter=1000)
        self.model.fit(changes[:, None] / self.scale, labels)

    def probabilities(self, changes: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities of improved, same, deteriorated (0 for a class the
        training pairs never showed)."""
        known = self.model.predict_proba(changes[:, None] / self.scale)
        out = np.zeros((len(changes), 3))
        out[:, self.model.classes_] = known
        return out

    def predict(self, changes: np.ndarray) -> np.ndarray:
        return self.probabilities(changes).argmax(1)


def trend_figures(labels: np.ndarray, predicted: np.ndarray, prefix: str) -> dict[str, float]:
    metrics = classification_metrics(labels, predicted)
    return {f"{prefix}_macro_f1": metrics["macro_f1"], f"{prefix}_accuracy": metrics["accuracy"]}


def evaluate_trend(
    net,
    train: ImageSet,
    val: ImageSet,
    test: ImageSet,
    epochs: int,
    seed: int,
    scores: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Trend figures on the test patients. ``scores``: s(x) per split, for the score
    change caller (fitted on the training patients' pairs)."""
    features, labels, changes = {}, {}, {}
    for name, part in (("train", train), ("val", val), ("test", test)):
        earlier, later = visit_pairs(part)
        features[name] = pair_features(trend_vectors(net, part), earlier, later)
        labels[name] = trend_labels(part.health, earlier, later)
        if scores is not None:
            changes[name] = scores[name][later] - scores[name][earlier]
    probe = train_probe(
        features["train"], labels["train"], features["val"], labels["val"], epochs, seed
    )
    majority = np.bincount(labels["train"], minlength=3).argmax()
    figures = {
        **trend_figures(labels["test"], probe.predict(features["test"]), "trend"),
        "trend_majority_accuracy": float(np.mean(labels["test"] == majority)),
        "trend_pairs_test": float(len(labels["test"])),
    }
    if scores is not None:
        caller = ScoreChangeCaller(changes["train"], labels["train"])
        figures.update(
            trend_figures(labels["test"], caller.predict(changes["test"]), "trend_score_change")
        )
    return figures
