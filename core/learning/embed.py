"""What a trained version computes for every image, for the app: vectors for the latent
map, the severity score with its spread under test-time augmentation, and the trend
call between consecutive visits. The worker only orchestrates and stores the results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import ImageSet
from .evaluate import train_probe
from .scoring import severity_scores, space_vectors
from .trend import pair_features, trend_labels, visit_pairs

TREND_PROBE_EPOCHS = 40


@dataclass
class Embedding:
    vectors: np.ndarray  # (N, D) in the method's score space: the latent map
    contrastive: np.ndarray  # (N, D) u, LEARNER's space for trend calls
    severity: np.ndarray  # (N,) s(x) of the image as stored
    severity_std: np.ndarray  # (N,) spread of s(x) over flipped copies


def embed(net, images: torch.Tensor, space: str, anchor: torch.Tensor) -> Embedding:
    """The latent map uses the method's score space; trend calls use u (the contrastive
    space, as in LEARNER), which is the same space for the contrastive methods."""
    contrastive = space_vectors(net, images, "contrastive").numpy()
    vectors = (
        contrastive
        if space in ("contrastive", "regression")
        else space_vectors(net, images, space).numpy()
    )
    views = [images, images.flip(-1), images.flip(-2), images.flip(-1, -2)]
    scores = np.stack([severity_scores(net, view, space, anchor) for view in views])
    return Embedding(vectors, contrastive, scores[0], scores.std(0))


def trend_calls(
    vectors: np.ndarray, images: ImageSet, splits: np.ndarray, seed: int
) -> list[tuple[int, int, float, float, float]]:
    """Train the 3-way trend probe on training-split patients, then call every
    consecutive pair of visits: (earlier id, later id, p improved, p same, p
    deteriorated). Trends follow the health score, else the grade."""
    health = np.where(np.isfinite(images.health), images.health, images.grades / 4.0)
    earlier, later = visit_pairs(images)
    if len(earlier) < 10:
        return []
    labels = trend_labels(health, earlier, later)
    features = pair_features(vectors, earlier, later)
    train = splits[earlier] == "train"
    val = splits[earlier] == "val"
    if len(np.unique(labels[train])) < 2 or not val.any():
        return []
    probe = train_probe(
        features[train], labels[train], features[val], labels[val], TREND_PROBE_EPOCHS, seed
    )
    probabilities = probe.probabilities(features)
    return [
        (int(images.image_ids[a]), int(images.image_ids[b]), *map(float, p))
        for a, b, p in zip(earlier, later, probabilities, strict=True)
    ]
