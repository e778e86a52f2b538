"""Images as in-memory tensors for training and evaluation (the data sets here are
small: RetinaMNIST is 1,200 images of 28 px), loaded from the store or an ``.npz``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.imaging import load_pixels
from core.importers.npz import read_npz
from core.store import Store

from .patches import scale_lesions

MEAN = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
STD = torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1)


@dataclass
class ImageSet:
    """One split: images (N, 3, H, W) float32, normalised, plus what is known about them."""

    images: torch.Tensor
    grades: np.ndarray  # int, -1 when unknown
    health: np.ndarray  # float, NaN when unknown
    image_ids: np.ndarray  # store ids (or positions for npz data)
    patients: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    visit_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=float))
    health_is_truth: bool = True  # False where ``health`` only stands in for the grade
    datasets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # store ids
    # recorded lesions per image, (x, y, radius) rows in these images' pixels; None: unknown
    lesions: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray) -> ImageSet:
        pick = torch.as_tensor(index, dtype=torch.long)
        return ImageSet(
            self.images[pick],
            self.grades[index],
            self.health[index],
            self.image_ids[index],
            self.patients[index] if len(self.patients) else self.patients,
            self.visit_order[index] if len(self.visit_order) else self.visit_order,
            self.health_is_truth,
            self.datasets[index] if len(self.datasets) else self.datasets,
            None if self.lesions is None else [self.lesions[i] for i in index],
        )


def to_tensor(pixels: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, H, W[, 3]) -> normalised float (N, 3, size, size)."""
    array = torch.as_tensor(np.asarray(pixels))
    if array.dim() == 3:
        array = array.unsqueeze(-1).expand(-1, -1, -1, 3)
    # one float copy, normalised in place: a 100,000-image study holds 1.2 GB of these
    images = array.permute(0, 3, 1, 2).contiguous().float().div_(255.0)
    if images.shape[-1] != size or images.shape[-2] != size:
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return images.sub_(MEAN).div_(STD)


def degraded_copy(image_set: ImageSet, strength: float, seed: int = 0) -> ImageSet:
    """The same images at lower quality: every degradation of
    ``core.imaging.degrade.degrade_fixed`` at ``strength``, applied to the 8-bit pictures
    (JPEG included), then normalised again. Same order, same labels."""
    from core.imaging.degrade import degrade_fixed

    rng = np.random.default_rng(seed)
    pixels = ((image_set.images * STD + MEAN).clamp(0, 1) * 255).round().byte()
    pictures = pixels.permute(0, 2, 3, 1).numpy()
    worse = np.stack([degrade_fixed(picture, strength, rng) for picture in pictures])
    return replace(image_set, images=to_tensor(worse, image_set.images.shape[-1]))


def load_npz_splits(path: str | Path, size: int) -> dict[str, ImageSet]:
    splits = {}
    for split, (images, grades) in read_npz(Path(path)).items():
        n = len(grades)
        splits[split] = ImageSet(
            to_tensor(images, size),
            grades.astype(int),
            grades.astype(float),  # LEARNER's regression target, not a truth
            np.arange(n),
            health_is_truth=False,
        )
    return splits


def load_store_splits(
    store: Store, size: int, dataset_id: int | None = None
) -> dict[str, ImageSet]:
    """Every image of the store (or of one dataset), grouped by its frozen split."""
    rows = store.images.query(dataset_id=dataset_id)
    splits = {}
    for split in ("train", "val", "test"):
        chosen = [r for r in rows if r["split"] == split]
        if chosen:
            splits[split] = image_set_from_rows(store, chosen, size, with_lesions=True)
    return splits


def image_set_from_rows(
    store: Store, rows: list[dict], size: int, with_lesions: bool = False
) -> ImageSet:
    """Pixels and facts of the given image rows (as returned by ``store.images.query``);
    ``with_lesions`` also reads their recorded lesions (training needs them, embedding
    does not)."""
    pictures = (load_pixels(store.media_path(r["pixel_path"])) for r in rows)  # one at a time
    recorded = store.images.lesions([r["id"] for r in rows]) if with_lesions else {}
    lesions = None
    if recorded:  # where the generator (or a manifest) said where lesions are
        lesions = [
            scale_lesions(recorded.get(r["id"], []), (r["width"], r["height"]), size) for r in rows
        ]
    return ImageSet(
        images=pictures_to_tensor(pictures, size),
        grades=np.array([-1 if r["grade"] is None else r["grade"] for r in rows]),
        health=np.array(
            [np.nan if r["known_severity"] is None else r["known_severity"] for r in rows],
            dtype=float,
        ),
        image_ids=np.array([r["id"] for r in rows]),
        patients=np.array([r["patient"] or "" for r in rows], dtype=object),
        visit_order=np.array([_visit_key(r) for r in rows], dtype=float),
        datasets=np.array([r["dataset_id"] for r in rows], dtype=int),
        lesions=lesions,
    )


def pictures_to_tensor(pictures: Iterable[np.ndarray], size: int) -> torch.Tensor:
    """What a version sees of 8-bit pictures of any size (H x W grey or H x W x 3 RGB, as
    the importers decode them): each resized to ``size`` pixels a side in 8 bits, a
    bounded batch at a time (only the small copies are kept), then normalised as
    ``to_tensor`` does. Grey pictures are repeated on three channels, as reading their
    stored PNG in RGB does. The one preprocessing of the app's embeddings and of
    ``python -m core score``."""
    squared: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    held = 0
    for picture in pictures:
        batch.append(_rgb(picture))
        held += batch[-1].nbytes
        if len(batch) == SQUARE_BATCH or held >= SQUARE_BYTES:
            squared += _squares(batch, size)
            batch, held = [], 0
    squared += _squares(batch, size)
    return to_tensor(np.stack(squared), size)


# pictures resized together: a float copy of a batch at its full size is allocated and
# freed in one piece, where one such copy per picture, each freed between small kept
# ones, left glibc's heap holding about 100 KB a picture (0.85 GB per 8,000 at 96 px).
# A batch ends at SQUARE_BATCH pictures or SQUARE_BYTES of full-size pixels, whichever
# comes first: 1,024 small pictures, or a few photographs of several megapixels (their
# float copy four times SQUARE_BYTES)
SQUARE_BATCH = 1024
SQUARE_BYTES = 32 * 2**20


def _rgb(picture: np.ndarray) -> np.ndarray:
    return np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture


def _squares(pictures: list[np.ndarray], size: int) -> list[np.ndarray]:
    """Each H x W x 3 picture at ``size`` x ``size`` in 8 bits (antialiased bilinear),
    pictures of one shape in one call; the same values as one picture at a time."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for k, picture in enumerate(pictures):
        by_shape.setdefault(picture.shape, []).append(k)
    squared: list[np.ndarray] = [np.empty(0, np.uint8)] * len(pictures)
    for positions in by_shape.values():
        stack = np.stack([pictures[k] for k in positions])
        images = torch.from_numpy(stack).permute(0, 3, 1, 2).float()
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        small = images.permute(0, 2, 3, 1).round().clamp(0, 255).byte().numpy()
        for k, picture in zip(positions, small, strict=True):
            squared[k] = picture
    return squared


def _visit_key(row: dict) -> float:
    if row["visit_index"] is not None:
        return float(row["visit_index"])
    if row["visit_date"]:
        return float(np.datetime64(row["visit_date"], "D").astype(int))
    return float("nan")


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """SimCLR-style views, random per image: crop-and-resize, flips, brightness/contrast."""
    n, _, h, w = images.shape
    scale = torch.empty(n).uniform_(0.6, 1.0, generator=generator)
    cx = torch.empty(n).uniform_(-1, 1, generator=generator) * (1 - scale)
    cy = torch.empty(n).uniform_(-1, 1, generator=generator) * (1 - scale)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = F.affine_grid(theta.to(images.device, images.dtype), [n, 3, h, w], align_corners=False)
    views = F.grid_sample(images, grid, align_corners=False, padding_mode="reflection")
    brightness = torch.empty(n, 1, 1, 1).uniform_(-0.4, 0.4, generator=generator)
    contrast = torch.empty(n, 1, 1, 1).uniform_(0.7, 1.3, generator=generator)
    mean = views.mean(dim=(1, 2, 3), keepdim=True)
    return (views - mean) * contrast.to(views) + mean + brightness.to(views)
