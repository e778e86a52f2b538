"""Maps that stay put: a new version's map fitted onto the map users already know.

Each version's UMAP / t-SNE / PCA is fitted afresh, so without help the map of version 7
is a rotated, reflected, rescaled and shifted copy of version 6's even where the model
barely changed. Orthogonal Procrustes finds the similarity transform (rotation or
reflection ``R``, uniform scale ``s``, translation ``t``) that brings the new map ``A``
closest to the reference map ``B`` over the images both show:

    min over R (R^T R = I), s, t of  sum_i || s * a_i R + t - b_i ||^2

With both maps centred on the shared images (``A0``, ``B0``) and ``U S V^T`` the SVD of
``A0^T B0``: ``R = U V^T``, ``s = trace(S) / ||A0||_F^2`` and ``t = mean(B) - s mean(A) R``.
The transform is then applied to every point of the new map, shared or not. Distances
between points are only scaled, so the new map's neighbourhoods are untouched; what is
left of a point's movement is the model's doing.

Pure NumPy / SciPy on the lowest floor: the store and the worker call it, it imports
neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import orthogonal_procrustes


@dataclass(frozen=True)
class Layout:
    """One map: image ids (N,) and their coordinates (N, 2 or 3), row for row."""

    ids: np.ndarray  # (N,) distinct image ids
    coords: np.ndarray  # (N, dims) float64

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        coords = np.asarray(self.coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[0] != len(ids):
            raise ValueError(
                f"a map needs one row of coordinates per image: {len(ids)} ids, "
                f"coordinates of shape {coords.shape}"
            )
        if len(np.unique(ids)) != len(ids):
            raise ValueError("a map shows each image once: its ids repeat")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "coords", coords)

    @property
    def dims(self) -> int:
        return int(self.coords.shape[1])

    def width(self) -> float:
        """The longest side of the map's bounding box (0 for an empty or one-point map)."""
        if len(self.ids) == 0:
            return 0.0
        return float(np.ptp(self.coords, axis=0).max())

    def at(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Coordinates of ``ids``, in that order; an id not on the map raises ``KeyError``."""
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        order = np.argsort(self.ids)
        known = self.ids[order]
        slots = np.clip(np.searchsorted(known, wanted), 0, max(len(known) - 1, 0))
        missing = wanted[known[slots] != wanted] if len(known) else wanted
        if len(missing):
            raise KeyError(f"images not on this map: {missing[:5].tolist()}")
        return self.coords[order[slots]]


@dataclass(frozen=True)
class Alignment:
    """``x -> scale * x @ rotation + translation``, fitted on ``shared`` images."""

    rotation: np.ndarray  # (dims, dims), orthogonal: a rotation, or one with a reflection
    scale: float  # uniform, > 0
    translation: np.ndarray  # (dims,)
    shared: int  # how many images the fit used

    def apply(self, coords: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(coords, dtype=np.float64) @ self.rotation + self.translation


def shared_ids(first: Layout, second: Layout) -> np.ndarray:
    """Ids on both maps, in ``first``'s order."""
    return first.ids[np.isin(first.ids, second.ids)]


def fit_alignment(moving: Layout, reference: Layout) -> Alignment | None:
    """The similarity transform that lays ``moving`` over ``reference`` on their shared
    images; ``None`` where it is not determined: fewer shared images than ``dims + 1``
    or all of them on one point of either map."""
    if moving.dims != reference.dims:
        raise ValueError(
            f"only maps of the same dimension align: {moving.dims}-D onto {reference.dims}-D"
        )
    ids = shared_ids(moving, reference)
    if len(ids) < moving.dims + 1:
        return None
    source, target = moving.at(ids), reference.at(ids)
    source_mean, target_mean = source.mean(0), target.mean(0)
    source0, target0 = source - source_mean, target - target_mean
    spread = float((source0**2).sum())
    if spread <= 0 or float((target0**2).sum()) <= 0:
        return None
    rotation, singular_sum = orthogonal_procrustes(source0, target0)
    scale = float(singular_sum) / spread
    translation = target_mean - scale * source_mean @ rotation
    return Alignment(rotation, scale, translation, len(ids))


def align(moving: Layout, reference: Layout | None) -> tuple[Layout, Alignment | None]:
    """``moving`` laid over ``reference`` (every point, shared or not), with the fit; a
    map with nothing to align to (no reference, too few shared images) comes back as is."""
    fit = None if reference is None else fit_alignment(moving, reference)
    if fit is None:
        return moving, None
    return Layout(moving.ids, fit.apply(moving.coords)), fit


def displacement(
    old: Layout, new: Layout, ids: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """How far each of ``ids`` (default: every image on both maps, in ``old``'s order)
    moved from ``old`` to ``new``, as a share of ``old``'s width (the longest side of its
    bounding box). The maps are compared as they are: align first to leave out the frame."""
    if old.dims != new.dims:
        raise ValueError(f"a {old.dims}-D map and a {new.dims}-D map cannot be compared")
    wanted = shared_ids(old, new) if ids is None else np.asarray(ids, dtype=np.int64)
    width = old.width()
    if width <= 0:
        raise ValueError("the reference map has no width (all its points sit on one spot)")
    return np.linalg.norm(new.at(wanted) - old.at(wanted), axis=1) / width
