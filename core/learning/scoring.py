"""Embeddings and the severity score ``s(x)`` of a trained network."""

from __future__ import annotations

import numpy as np
import torch

from .data import ImageSet
from .device import autocast, to_device
from .encoders import SeverityNet
from .losses import severity_score

BATCH = 256


@torch.no_grad()
def space_vectors(
    net: SeverityNet, images: torch.Tensor, space: str, device: torch.device | None = None
) -> torch.Tensor:
    """Vectors of ``images`` in ``space`` (features, contrastive, preference, regression)."""
    net.eval()
    device = device or next(net.parameters()).device
    heads = {
        "features": net.forward,
        "contrastive": net.contrastive,
        "preference": net.preference,
        "regression": lambda x: net.regressor(net.contrastive(x)),
    }
    if space not in heads:
        raise ValueError(f"unknown score space {space!r}")
    chunks = []
    for start in range(0, len(images), BATCH):
        with autocast(device):
            chunks.append(heads[space](to_device(images[start : start + BATCH], device)).float())
    return torch.cat(chunks).cpu()


def fit_anchor(
    net: SeverityNet, train_set: ImageSet, space: str, n: int, device: torch.device
) -> torch.Tensor:
    """The normality anchor used for scoring: mean of ``n`` normal training images in
    the method's score space (fixed indices: the first n normals, for reproducibility)."""
    if space == "regression":
        return torch.zeros(1)
    normal = np.flatnonzero(train_set.grades == 0)[:n]
    if len(normal) == 0:
        raise ValueError("no normal (grade 0) training image to anchor the severity score")
    return space_vectors(net, train_set.images[normal], space, device).mean(0)


def severity_scores(
    net: SeverityNet, images: torch.Tensor, space: str, anchor: torch.Tensor
) -> np.ndarray:
    """``s(x)``: cosine distance from the anchor (or the predicted health score)."""
    vectors = space_vectors(net, images, space)
    if space == "regression":
        return vectors.squeeze(1).numpy()
    return severity_score(vectors, anchor).numpy()
