"""Lesion and healthy patches for CoMCL's patch level, cropped where lesions are known.

The paper crops lesion patches with a detector trained on pixel-level masks; here the
synthetic cohort's generator records every lesion it draws (``core.synthetic.Lesion``),
kept per image as ``(x, y, radius)`` rows in the pixels of the training images.

A lesion patch is centred on one recorded lesion. A healthy patch is centred on a point
of the fundus (within ``FUNDUS`` of the image's radius) whose square holds no recorded
lesion. Images without recorded lesions give healthy patches only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FUNDUS = 0.36  # healthy centres lie within this share of the side from the centre
TRIES = 50  # candidate centres per healthy patch before giving up on it


@dataclass(frozen=True)
class PatchDraw:
    image: np.ndarray  # (P,) index into the training images
    top: np.ndarray  # (P,) pixel row of each patch's top edge
    left: np.ndarray  # (P,) pixel column of its left edge
    lesion: np.ndarray  # (P,) bool: a lesion patch (True) or a healthy one


def patch_side(image_size: int, configured: int = 0) -> int:
    """The configured side, else a quarter of the image (at least 8 pixels)."""
    return configured or max(8, image_size // 4)


def draw_patches(
    lesions: list[np.ndarray], size: int, side: int, count: int, rng: np.random.Generator
) -> PatchDraw | None:
    """``count`` lesion patches and up to ``count`` healthy ones; None when no image
    has a recorded lesion."""
    with_lesions = np.array([i for i, found in enumerate(lesions) if len(found)])
    if len(with_lesions) == 0:
        return None
    images, centres, is_lesion = [], [], []
    for i in rng.choice(with_lesions, count):
        x, y, _ = lesions[i][rng.integers(len(lesions[i]))]
        images.append(i)
        centres.append((x, y))
        is_lesion.append(True)
    for _ in range(count):
        found = _healthy_centre(lesions, size, side, rng)
        if found is not None:
            images.append(found[0])
            centres.append(found[1])
            is_lesion.append(False)
    corner = np.clip(np.round(np.array(centres) - side / 2), 0, size - side).astype(int)
    return PatchDraw(np.array(images), corner[:, 1], corner[:, 0], np.array(is_lesion))


def _healthy_centre(
    lesions: list[np.ndarray], size: int, side: int, rng: np.random.Generator
) -> tuple[int, tuple[float, float]] | None:
    for _ in range(TRIES):
        i = int(rng.integers(len(lesions)))
        r, a = FUNDUS * size * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        x, y = size / 2 + r * np.cos(a), size / 2 + r * np.sin(a)
        found = lesions[i]
        reach = side / 2 + (found[:, 2] if len(found) else 0)
        clear = (np.abs(found[:, 0] - x) > reach) | (np.abs(found[:, 1] - y) > reach)
        if clear.all():
            return i, (x, y)
    return None


def crop(images: torch.Tensor, draw: PatchDraw, side: int) -> torch.Tensor:
    """The drawn patches of ``images`` (N, C, H, W) as (P, C, side, side)."""
    return torch.stack(
        [
            images[i, :, top : top + side, left : left + side]
            for i, top, left in zip(draw.image, draw.top, draw.left, strict=True)
        ]
    )


def scale_lesions(rows: list, from_size: tuple[int, int], to_size: int) -> np.ndarray:
    """Recorded lesions ``[kind, x, y, radius]`` (pixels of an image ``from_size`` =
    (width, height)) as ``(x, y, radius)`` rows in the pixels of a ``to_size`` square."""
    if not rows:
        return np.zeros((0, 3))
    width, height = from_size
    sx, sy = to_size / width, to_size / height
    return np.array([(x * sx, y * sy, r * (sx + sy) / 2) for _, x, y, r in rows], dtype=float)
