"""What drives a version's severity score: one small heat map per image.

The worker computes the maps (``core.learning.attribution_maps``); the pages only read
them. A map is kept as 8-bit levels of its own peak: ``heat`` (H x W uint8, row-major)
and ``peak`` (score units), a pixel's value being ``heat * peak / 255``. Only the part
that raises the score is stored (Integrated Gradients' positive part), so nothing is
lost below zero; at 32 x 32 a map takes 1 KB. A version's maps are removed with it
(the table's foreign key cascades, and ``Models.remove`` removes them explicitly).

Whether the Compare page shows them is a study setting (``COMPARE_SETTING``): off unless
a study lead turns it on for teaching, since raters should judge the images, not the
model's reading of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .store import Store

LEVELS = 255  # 8 bits per pixel
COMPARE_SETTING = "attributions_on_compare"  # a study lead's choice, for teaching
CHUNK = 500  # image ids per query


class AttributionMaps:
    def __init__(self, store: Store):
        self._store = store

    def save(self, model_id: int, image_ids: list[int], maps: np.ndarray) -> None:
        """Store (or replace) the maps (N, H, W) of ``image_ids`` for a version; negative
        values are dropped (what lowers the score is not kept)."""
        maps = np.clip(np.asarray(maps, dtype=np.float64), 0.0, None)
        if maps.ndim != 3 or len(maps) != len(image_ids):
            raise ValueError(f"{len(image_ids)} image ids need (N, H, W) maps, not {maps.shape}")
        if not np.isfinite(maps).all():
            raise ValueError("attribution maps must be finite")
        rows = [encode(model_id, int(i), heat) for i, heat in zip(image_ids, maps, strict=True)]
        if rows:
            with self._store.transaction(serialize=False):
                self._store.db.upsert_all("attribution_maps", rows, key=("model_id", "image_id"))

    def maps(self, model_id: int, image_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored maps (H, W) float32, in score units, of those of ``image_ids`` that
        have one for this version."""
        found: dict[int, np.ndarray] = {}
        ids = [int(i) for i in image_ids]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = self._store.all(
                "SELECT image_id, height, width, peak, heat FROM attribution_maps "
                f"WHERE model_id = ? AND image_id IN ({','.join('?' * len(chunk))})",
                [model_id, *chunk],
            )
            found.update({r["image_id"]: decode(r) for r in rows})
        return found

    def peaks(self, model_id: int) -> np.ndarray:
        """Every map's peak for a version: a scale shared by its images."""
        rows = self._store.all("SELECT peak FROM attribution_maps WHERE model_id = ?", [model_id])
        return np.array([r["peak"] for r in rows], dtype=np.float64)

    def count(self, model_id: int) -> int:
        return self._store.one_row(
            "SELECT COUNT(*) AS n FROM attribution_maps WHERE model_id = ?", [model_id]
        )["n"]

    def remove(self, model_id: int) -> int:
        """Remove a version's maps; returns how many there were."""
        with self._store.transaction(serialize=False):
            cursor = self._store.db.execute(
                "DELETE FROM attribution_maps WHERE model_id = ?", [model_id]
            )
        return cursor.rowcount

    # -- the Compare page, for teaching ---------------------------------------------------

    def shown_on_compare(self) -> bool:
        """Whether the study lead turned the maps on for raters (off by default)."""
        return bool(self._store.settings.get(COMPARE_SETTING, False))

    def show_on_compare(self, on: bool) -> None:
        """A study lead's choice (the caller checks the role, as for every setting)."""
        self._store.settings.set(COMPARE_SETTING, bool(on))

    def for_compare(self, model_id: int, image_ids: list[int]) -> dict[int, np.ndarray]:
        """What the Compare page may overlay on its pair: the maps when a study lead has
        turned them on for teaching, else nothing."""
        return self.maps(model_id, image_ids) if self.shown_on_compare() else {}


def encode(model_id: int, image_id: int, heat: np.ndarray) -> dict:
    """A map (H, W), non-negative, as its stored row."""
    peak = float(heat.max()) if heat.size else 0.0
    levels = np.zeros(heat.shape, np.uint8)
    if peak > 0:
        levels = np.rint(heat / peak * LEVELS).astype(np.uint8)
    return {
        "model_id": model_id,
        "image_id": image_id,
        "height": int(heat.shape[0]),
        "width": int(heat.shape[1]),
        "peak": peak,
        "heat": levels.tobytes(),
    }


def decode(row: dict) -> np.ndarray:
    levels = np.frombuffer(bytes(row["heat"]), dtype=np.uint8)
    levels = levels.reshape(row["height"], row["width"])
    return (levels.astype(np.float32) * np.float32(row["peak"] / LEVELS)).astype(np.float32)
