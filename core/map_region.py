"""A region drawn on a 2-D map (a box or a lasso), and the points inside it.

The Latent space page's map is drawn in the browser; a selection comes back as its
outline in the map's own coordinates, not as a list of points, so a box over 100,000
points costs the same few bytes as a box over ten. This module checks that outline (it
comes from a browser, so nothing in it is trusted) and finds the points inside with
NumPy, at any size, without a loop over points.

Pure NumPy on the lowest floor: pages call it, it imports nothing of the project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("box", "lasso")
MAX_VERTICES = 1_000  # the map sends at most 256 (it thins a longer lasso); more is not a lasso


@dataclass(frozen=True)
class Region:
    """A box (``xs`` and ``ys`` its two corners) or a lasso (``xs``, ``ys`` its
    vertices in order, closed back to the first), on the map named ``map_id``."""

    map_id: str
    kind: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """A boolean mask, one per point: inside the region (a box includes its edges)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.kind == "box":
            return (
                (x >= min(self.xs))
                & (x <= max(self.xs))
                & (y >= min(self.ys))
                & (y <= max(self.ys))
            )
        return inside_polygon(x, y, np.asarray(self.xs), np.asarray(self.ys))


def inside_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray from it to the right crosses the
    polygon's edges an odd number of times. Vectorised over points, one pass per edge,
    and only over the points within the polygon's bounding box."""
    inside = np.zeros(len(x), dtype=bool)
    candidates = np.flatnonzero(
        (x >= px.min()) & (x <= px.max()) & (y >= py.min()) & (y <= py.max())
    )
    cx, cy = x[candidates], y[candidates]
    crossings = np.zeros(len(candidates), dtype=bool)
    for k in range(len(px)):
        x1, y1, x2, y2 = px[k - 1], py[k - 1], px[k], py[k]
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        spans = (y1 > cy) != (y2 > cy)
        at_x = x1 + (cy - y1) * (x2 - x1) / (y2 - y1)
        crossings ^= spans & (cx < at_x)
    inside[candidates] = crossings
    return inside


def parse_region(value: Any) -> Region | None:
    """The region the browser sent, or ``None`` for "no selection". Raises
    ``ValueError``, in plain words, for anything that is not a region."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValueError("a selection must be a box or a lasso")
    kind, map_id = value.get("kind"), value.get("map")
    if kind not in KINDS:
        raise ValueError(f"a selection must be a box or a lasso, not {kind!r}")
    if not isinstance(map_id, str) or not map_id:
        raise ValueError("a selection must say which map it was drawn on")
    xs, ys = value.get("x"), value.get("y")
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise ValueError("a selection needs as many x as y coordinates")
    need = 2 if kind == "box" else 3
    if not need <= len(xs) <= (2 if kind == "box" else MAX_VERTICES):
        raise ValueError(
            "a box has two corners" if kind == "box" else f"a lasso has 3 to {MAX_VERTICES} points"
        )
    coords = []
    for v in (*xs, *ys):
        try:
            number = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        except OverflowError:  # an integer too large for a float
            number = None
        if number is None or not math.isfinite(number):
            raise ValueError("a selection's coordinates must be finite numbers")
        coords.append(number)
    n = len(xs)
    return Region(map_id, kind, tuple(coords[:n]), tuple(coords[n:]))
