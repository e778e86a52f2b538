"""What a trained version computes for every image, for the app: vectors for the latent
map, the severity score with its spread under test-time augmentation, and the trend
call between consecutive visits. The worker only orchestrates and stores the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .data import ImageSet
from .scoring import BATCH, score_space, severity_scores, space_vectors
from .trend import ScoreChangeCaller, trend_figures, trend_labels, visit_pairs


@dataclass
class Embedding:
    vectors: np.ndarray  # (N, D): the latent map's space
    severity: np.ndarray  # (N,) s(x) of the image as stored
    severity_std: np.ndarray  # (N,) spread of s(x) over flipped copies


# images embedded between two progress reports: whole batches of ``scoring.BATCH``, so
# that the figures are those of one pass over every image
CHUNK = 16 * BATCH


def embed(
    net,
    images: torch.Tensor,
    space: str,
    anchor: torch.Tensor,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Embedding:
    """Vectors for the latent map, and the severity score with its spread over the four
    flips of each image; ``progress(done, total)`` after every ``CHUNK`` images."""
    parts = []
    for start in range(0, len(images), CHUNK):
        part = images[start : start + CHUNK]
        vectors = space_vectors(net, part, score_space(space).map_space).numpy()
        views = [part, part.flip(-1), part.flip(-2), part.flip(-1, -2)]
        parts.append((vectors, np.stack([severity_scores(net, v, space, anchor) for v in views])))
        progress(start + len(part), len(images))
    if not parts:
        raise ValueError("there are no images to embed")
    vectors = np.concatenate([v for v, _ in parts])
    scores = np.concatenate([s for _, s in parts], axis=1)
    return Embedding(vectors, scores[0], scores.std(0))


@dataclass
class TrendCalls:
    calls: list[tuple[int, int, float, float, float]]  # earlier id, later id, 3 probabilities
    figures: dict[str, float]  # how the calls fare on the test-split patients


def trend_calls(severity: np.ndarray, images: ImageSet, splits: np.ndarray) -> TrendCalls:
    """Call every consecutive pair of visits from the change of the severity score, with
    a caller fitted on training-split patients only (``trend.ScoreChangeCaller``), and
    measure it on the test-split patients, whom it never saw. Trends follow the known
    severity, else the grade."""
    truth = np.where(np.isfinite(images.health), images.health, images.grades / 4.0)
    earlier, later = visit_pairs(images)
    if len(earlier) < 10:
        return TrendCalls([], {})
    labels = trend_labels(truth, earlier, later)
    changes = severity[later] - severity[earlier]
    train, test = splits[earlier] == "train", splits[earlier] == "test"
    if len(np.unique(labels[train])) < 2:
        return TrendCalls([], {})
    caller = ScoreChangeCaller(changes[train], labels[train])
    probabilities = caller.probabilities(changes)
    calls = [
        (int(images.image_ids[a]), int(images.image_ids[b]), float(p[0]), float(p[1]), float(p[2]))
        for a, b, p in zip(earlier, later, probabilities, strict=True)
    ]
    figures: dict[str, float] = {"trend_test_pairs": int(test.sum())}
    if test.any():
        majority = np.bincount(labels[train], minlength=3).argmax()
        figures |= trend_figures(labels[test], probabilities[test].argmax(1), "trend_test")
        figures["trend_test_majority_accuracy"] = float(np.mean(labels[test] == majority))
    return TrendCalls(calls, figures)
