"""Attribution maps drawn over the pictures they explain, for the pages (numpy and
Pillow only: the Streamlit process never imports torch).

A map's values are in score units. ``strength`` divides them by one ``scale`` shared by
all of a version's images (``shared_scale``), so that an image whose score owes little
to any spot shows little colour, rather than each map stretched to its own peak. Colour
runs from deep blue (weak) through cyan to near white (at the scale and above), colours
that a red-orange fundus does not hold, and its opacity grows with the strength, times
the user's ``opacity``: where nothing drives the score, the picture shows through.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# weak contributions deep blue, the strongest near white: none of a fundus's own colours
COOL = np.array([(30, 40, 170), (0, 130, 255), (0, 230, 255), (225, 255, 255)], np.float64)
RAISED, LOWERED = (60, 235, 60), (150, 80, 255)  # a change map's two signs: green, violet
SCALE_QUANTILE = 0.9  # of a version's map peaks: its images' shared scale


def shared_scale(peaks: np.ndarray) -> float:
    """One scale for a version's maps: the ``SCALE_QUANTILE`` of their peaks (1 when
    there is no positive peak), so that a few outliers do not wash the others out."""
    positive = np.asarray(peaks, dtype=np.float64)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    return float(np.quantile(positive, SCALE_QUANTILE)) if len(positive) else 1.0


def resized(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A map (h, w) brought to a picture's (height, width), bilinear."""
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape == size:
        return heat
    return np.asarray(Image.fromarray(heat).resize(size[::-1], Image.Resampling.BILINEAR))


def strength(heat: np.ndarray, scale: float) -> np.ndarray:
    """``heat / scale`` clipped to [0, 1]."""
    if scale <= 0:
        raise ValueError("the scale must be positive")
    return np.clip(np.asarray(heat, dtype=np.float64) / scale, 0.0, 1.0)


def cool_colours(level: np.ndarray) -> np.ndarray:
    """(..., 3) float RGB for levels in [0, 1] along ``COOL``."""
    position = np.clip(level, 0.0, 1.0) * (len(COOL) - 1)
    low = np.minimum(np.floor(position).astype(int), len(COOL) - 2)
    fraction = (position - low)[..., None]
    return COOL[low] * (1 - fraction) + COOL[low + 1] * fraction


def overlay(picture: np.ndarray, heat: np.ndarray, scale: float, opacity: float) -> np.ndarray:
    """The picture (H, W, 3) uint8 with ``heat`` drawn over it; ``opacity`` in [0, 1]."""
    level = strength(resized(heat, picture.shape[:2]), scale)
    return _blend(picture, cool_colours(level), _alpha(level, opacity))


def change_overlay(
    picture: np.ndarray, before: np.ndarray, after: np.ndarray, scale: float, opacity: float
) -> np.ndarray:
    """What changed between two maps of one eye, drawn over ``picture`` (the later one):
    green where more of the score comes from at the later visit, violet where less. The two
    pictures are taken as they are, not registered: a shifted eye shows as change."""
    if np.shape(before) != np.shape(after):
        raise ValueError(f"maps of {np.shape(before)} and {np.shape(after)} cannot be compared")
    delta = resized(np.asarray(after) - np.asarray(before), picture.shape[:2])
    level = np.clip(np.abs(delta) / scale, 0.0, 1.0) if scale > 0 else np.zeros(delta.shape)
    colours = np.where((delta >= 0)[..., None], RAISED, LOWERED).astype(np.float64)
    return _blend(picture, colours, _alpha(level, opacity))


def heat_rgba(heat: np.ndarray, scale: float, size: tuple[int, int]) -> np.ndarray:
    """The map alone as (height, width, 4) uint8 RGBA, transparent where nothing drives
    the score: for a page that lays it over an image in the browser (CSS opacity)."""
    level = strength(resized(heat, size), scale)
    alpha = np.rint(255 * _alpha(level, 1.0))
    return np.dstack([np.rint(cool_colours(level)), alpha]).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _alpha(level: np.ndarray, opacity: float) -> np.ndarray:
    if not 0.0 <= opacity <= 1.0:
        raise ValueError("the opacity must lie between 0 and 1")
    # a square root lifts weak contributions into view without flattening the peak
    return opacity * np.sqrt(level)


def _blend(picture: np.ndarray, colours: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    base = np.asarray(picture, dtype=np.float64)[..., :3]
    mixed = base * (1 - alpha[..., None]) + colours * alpha[..., None]
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
