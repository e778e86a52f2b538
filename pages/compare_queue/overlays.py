"""Attribution maps over the Compare page's pictures: for teaching only.

Off unless a study lead turned them on (``store.attributions.for_compare``), since raters
should judge the images, not the model's reading of them. The judging view lays each
map, a transparent PNG, over its picture and sets its opacity in CSS (as it does zoom
and contrast), so the stored image is sent as it is; the classic buttons blend the map
into the picture (``core.imaging.heat.overlay``).
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from core.imaging.heat import heat_rgba, overlay, png_bytes, shared_scale
from core.store import Store

HEAT_OPACITY = 0.6  # the maps' opacity over the pictures until the rater changes it
HEAT_SIDE = 512  # a map's PNG at most this long a side: the browser scales it up
TEACHING_NOTE = (
    "Teaching mode: a study lead has turned on maps of what drives the model's severity "
    "score (deep blue to near white: more of the score comes from there). Answers given "
    "now are stored like any other and are not marked as given with the maps in view, "
    "so they are not blinded study evidence."
)


def teaching_model(store: Store, dataset_id: int | None) -> int | None:
    """The version whose maps the Compare page shows (the dataset's active one), when a
    study lead has turned them on for teaching; None otherwise."""
    if not store.attributions.shown_on_compare():
        return None
    model = store.models.active(dataset_id)
    return model["id"] if model else None


@st.cache_data(ttl=60, show_spinner=False)
def heat_scale(db_path: str, model_id: int) -> float:
    """The version's scale shared by all of its maps."""
    with Store(db_path) as fresh:
        return shared_scale(fresh.attributions.peaks(model_id))


def overlay_size(row: dict) -> tuple[int, int]:
    """A picture's (height, width), the longest side brought down to ``HEAT_SIDE``: the
    map keeps the picture's shape, so the two lie one over the other when the browser
    fits both to the same box."""
    height, width = int(row["height"]), int(row["width"])
    factor = min(1.0, HEAT_SIDE / max(height, width))
    return max(1, round(height * factor)), max(1, round(width * factor))


@st.cache_data(max_entries=1024, show_spinner=False)
def heat_url(heat: np.ndarray, scale: float, size: tuple[int, int]) -> str:
    """A map as a transparent PNG data URL (opaque where the score comes from)."""
    return (
        "data:image/png;base64,"
        + base64.b64encode(png_bytes(heat_rgba(heat, scale, size))).decode()
    )


def heat_urls(store: Store, model_id: int | None, rows: dict[int, dict]) -> dict[int, str]:
    """The maps of the images ``rows`` (id -> image row) as data URLs: {} unless a study
    lead turned them on, and none for an image the worker has no map of yet."""
    if model_id is None:
        return {}
    maps = store.attributions.for_compare(model_id, list(rows))
    if not maps:
        return {}
    scale = heat_scale(store.path, model_id)
    return {i: heat_url(heat, scale, overlay_size(rows[i])) for i, heat in maps.items()}


def blended(path: Path, heat: np.ndarray, scale: float, opacity: float) -> np.ndarray:
    """The picture at ``path`` with its map drawn in (the classic buttons' view)."""
    with Image.open(path) as source:
        picture = np.asarray(source.convert("RGB"))
    return overlay(picture, heat, scale, opacity)
