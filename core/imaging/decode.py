"""Raster images (PNG, JPEG, TIFF, BMP) to 8-bit display pixels, refusing bad files
with a reason a clinician can act on.

Memory is budgeted before anything is decoded: the header's size and pixel format give
the bytes the decoder will allocate, and a file that would need more than the budget
(``$SEVERITY_DECODE_BUDGET_MB``, default 512 MB) is refused, or decoded at a reduced
scale where the format allows it (JPEG). Large 8-bit images are reduced inside Pillow
before they become arrays; deeper images are rescaled to 8 bits in float32 row blocks,
never as a float64 copy of the whole frame.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_STORED_SIDE = 1024  # stored pixels are downsampled to at most this many per side
MAX_SOURCE_PIXELS = 20_000 * 20_000  # larger sources are refused rather than decoded
DECODE_BUDGET_ENV = "SEVERITY_DECODE_BUDGET_MB"
DEFAULT_DECODE_BUDGET_MB = 512
ROW_BLOCK = 256  # rows rescaled at a time
# bytes per pixel that Pillow allocates for a decoded image of each mode (multi-band
# 8-bit images are stored four bytes a pixel); other modes count as 4
PIL_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


class ImageRejected(Exception):
    """A file that cannot become an image; ``str(exc)`` is the reason shown to users."""


@dataclass
class DecodedImage:
    pixels: np.ndarray  # uint8, H x W (grey) or H x W x 3 (RGB)
    quality_flags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def decode_budget() -> int:
    """The most bytes one decode may allocate for the full-size image."""
    return int(float(os.environ.get(DECODE_BUDGET_ENV, DEFAULT_DECODE_BUDGET_MB)) * 2**20)


def check_budget(width: int, height: int, bytes_per_pixel: float, what: str) -> None:
    needed = width * height * bytes_per_pixel
    if needed > decode_budget():
        raise ImageRejected(
            f"The image is {width} x {height} pixels ({what}): about {needed / 2**20:,.0f} MB "
            f"once decoded, more than this app decodes ({decode_budget() / 2**20:,.0f} MB). "
            "Reduce its size before importing it."
        )


def decode_raster(path: Path) -> DecodedImage:
    """Decode a raster image file, downsampling very large ones as they are read."""
    size = path.stat().st_size
    if size == 0:
        raise ImageRejected("The file is empty (0 bytes).")
    Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS
    flags: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_SOURCE_PIXELS:
                    raise ImageRejected(
                        f"The image is {width} x {height} pixels, larger than this app accepts."
                    )
                if max(width, height) > MAX_STORED_SIDE:
                    # JPEG can decode at a reduced scale directly, which saves memory.
                    image.draft(image.mode, (MAX_STORED_SIDE, MAX_STORED_SIDE))
                    flags.append(f"downsampled from {width} x {height}")
                check_budget(*image.size, _decode_bytes_per_pixel(image.mode), image.mode)
                image.load()
                source_format = image.format
                pixels = _pil_to_array(image)
    except ImageRejected:
        raise
    except (UnidentifiedImageError, SyntaxError) as exc:
        raise ImageRejected(
            "This file is not a readable image (its content is not PNG, JPEG, TIFF or BMP, "
            "whatever its name says)."
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("The image is too large to open safely.") from exc
    except OSError as exc:
        raise ImageRejected(
            f"The image file is damaged or incomplete (it may have been cut off): {exc}"
        ) from exc
    decoded = to_display_pixels(pixels)
    decoded.quality_flags = flags + [f for f in decoded.quality_flags if f not in flags]
    decoded.metadata = {"format": source_format, "original_size": [width, height]}
    return decoded


def _decode_bytes_per_pixel(mode: str) -> float:
    """What Pillow allocates for the decoded image plus the largest full-size copy made
    from it here (the array of a deep image, or the converted image of other modes)."""
    decoded = PIL_BYTES_PER_PIXEL.get(mode, 4)
    if mode in DEEP_MODES or mode in ("RGB", "L"):
        return 2 * decoded  # the array copy
    return decoded + (1 if mode in ("1", "LA", "La") else 4)  # convert to L or RGB


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """Pixels as an array: 8-bit images reduced in Pillow first (no full-size array),
    deep images in their own integer or float32 type (never float64)."""
    if image.mode in DEEP_MODES:
        return np.asarray(image)
    if image.mode not in ("RGB", "L"):
        image = image.convert("L" if image.mode in ("1", "LA", "La") else "RGB")
    if max(image.size) > MAX_STORED_SIDE:
        image.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image)


def to_display_pixels(array: np.ndarray) -> DecodedImage:
    """Any numeric 2-D grey or H x W x 3 colour array to uint8, at most MAX_STORED_SIDE."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ImageRejected(f"Unsupported pixel layout {array.shape}.")
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise ImageRejected("The image is too small to show (under 2 pixels on a side).")
    flags: list[str] = []
    if array.dtype != np.uint8:
        array = _rescale_to_uint8(array)
    height, width = array.shape[:2]
    if max(height, width) > MAX_STORED_SIDE:
        image = Image.fromarray(array)
        image.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.Resampling.LANCZOS)
        array = np.asarray(image)
        flags.append(f"downsampled from {width} x {height}")
    flags += _quality_flags(array)
    return DecodedImage(np.ascontiguousarray(array), flags)


def _rescale_to_uint8(array: np.ndarray) -> np.ndarray:
    """Min-max rescale to 0-255 over the finite values, block by block in float32."""
    finite = np.isfinite(array) if array.dtype.kind == "f" else None
    if finite is not None and not finite.any():
        raise ImageRejected("The image holds no valid pixel values.")
    low = float(array.min(initial=np.inf, where=finite) if finite is not None else array.min())
    high = float(array.max(initial=-np.inf, where=finite) if finite is not None else array.max())
    scale = 0.0 if high == low else 255.0 / (high - low)
    out = np.empty(array.shape, dtype=np.uint8)
    for top in range(0, array.shape[0], ROW_BLOCK):
        block = array[top : top + ROW_BLOCK].astype(np.float32)
        block -= low
        block *= scale
        np.nan_to_num(block, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
        out[top : top + ROW_BLOCK] = block.round().clip(0, 255)
    return out


def _quality_flags(array: np.ndarray) -> list[str]:
    grey = array.mean(axis=2) if array.ndim == 3 else array
    flags = []
    if grey.std() < 4:
        flags.append("very low contrast")
    if grey.mean() < 15:
        flags.append("very dark")
    elif grey.mean() > 240:
        flags.append("very bright")
    return flags
