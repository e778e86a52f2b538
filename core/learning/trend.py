"""LEARNER's downstream task: given two visits of one patient, did severity improve,
stay the same or deteriorate? A 3-way probe on the pair's embeddings, split by patient."""

from __future__ import annotations

import numpy as np

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


def evaluate_trend(
    net, train: ImageSet, val: ImageSet, test: ImageSet, epochs: int, seed: int
) -> dict[str, float]:
    features, labels = {}, {}
    for name, part in (("train", train), ("val", val), ("test", test)):
        earlier, later = visit_pairs(part)
        features[name] = pair_features(trend_vectors(net, part), earlier, later)
        labels[name] = trend_labels(part.health, earlier, later)
    probe = train_probe(
        features["train"], labels["train"], features["val"], labels["val"], epochs, seed
    )
    predicted = probe.predict(features["test"])
    metrics = classification_metrics(labels["test"], predicted)
    return {
        "trend_macro_f1": metrics["macro_f1"],
        "trend_accuracy": metrics["accuracy"],
        "trend_pairs_test": float(len(predicted)),
    }
