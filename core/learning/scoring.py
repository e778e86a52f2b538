"""Embeddings and the severity score ``s(x)`` of a trained network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .data import ImageSet
from .device import autocast, to_device
from .encoders import SeverityNet
from .losses import severity_score

BATCH = 256


@dataclass(frozen=True)
class ScoreSpace:
    """How a method's severity score is read: which head's vectors, and either the cosine
    distance from the normality anchor in that space, or a number the head computes."""

    vectors: Callable[[SeverityNet, torch.Tensor], torch.Tensor]
    map_space: str  # where the latent map of such a model is drawn
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None  # None: anchored distance


def _expected_grade(probabilities: torch.Tensor) -> torch.Tensor:
    return probabilities @ torch.arange(probabilities.shape[1], dtype=probabilities.dtype)


# Every method names one of these (core.learning.method_info);
# nothing else special-cases them.
SPACES: dict[str, ScoreSpace] = {
    "features": ScoreSpace(lambda net, x: net(x), "features"),
    "contrastive": ScoreSpace(lambda net, x: net.contrastive(x), "contrastive"),
    "preference": ScoreSpace(lambda net, x: net.preference(x), "preference"),
    # LEARNER: the regressed health score; its map uses u, the space it was trained in
    "regression": ScoreSpace(
        lambda net, x: net.regressor(net.contrastive(x)), "contrastive", lambda v: v[:, 0]
    ),
    # the supervised ceiling: the expected grade; its map uses the encoder's features
    "classifier": ScoreSpace(
        lambda net, x: torch.softmax(net.classify(x).float(), dim=1), "features", _expected_grade
    ),
}


def score_space(name: str) -> ScoreSpace:
    if name not in SPACES:
        raise ValueError(f"unknown score space {name!r}")
    return SPACES[name]


@torch.no_grad()
def space_vectors(
    net: SeverityNet, images: torch.Tensor, space: str, device: torch.device | None = None
) -> torch.Tensor:
    """Vectors of ``images`` in ``space`` (a name of ``SPACES``)."""
    net.eval()
    device = device or next(net.parameters()).device
    head = score_space(space).vectors
    chunks = []
    for start in range(0, len(images), BATCH):
        with autocast(device):
            chunks.append(head(net, to_device(images[start : start + BATCH], device)).float())
    return torch.cat(chunks).cpu()


def fit_anchor(
    net: SeverityNet, train_set: ImageSet, space: str, n: int, device: torch.device
) -> torch.Tensor:
    """The normality anchor used for scoring: mean of ``n`` normal training images in
    the method's score space (fixed indices: the first n normals, for reproducibility)."""
    if score_space(space).reduce is not None:
        return torch.zeros(1)  # this score needs no anchor
    normal = np.flatnonzero(train_set.grades == 0)[:n]
    if len(normal) == 0:
        raise ValueError("no normal (grade 0) training image to anchor the severity score")
    return space_vectors(net, train_set.images[normal], space, device).mean(0)


def severity_scores(
    net: SeverityNet, images: torch.Tensor, space: str, anchor: torch.Tensor
) -> np.ndarray:
    """``s(x)``: cosine distance from the anchor, or the number the space's head computes
    (LEARNER's health score, the supervised expected grade)."""
    vectors = space_vectors(net, images, space)
    reduce = score_space(space).reduce
    if reduce is not None:
        return reduce(vectors).numpy()
    return severity_score(vectors, anchor).numpy()
