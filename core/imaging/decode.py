"""Raster images (PNG, JPEG, TIFF, BMP) to 8-bit display pixels, refusing bad files
with a reason a clinician can act on."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_STORED_SIDE = 1024  # stored pixels are downsampled to at most this many per side
MAX_SOURCE_PIXELS = 20_000 * 20_000  # larger sources are refused rather than decoded


class ImageRejected(Exception):
    """A file that cannot become an image; ``str(exc)`` is the reason shown to users."""


@dataclass
class DecodedImage:
    pixels: np.ndarray  # uint8, H x W (grey) or H x W x 3 (RGB)
    quality_flags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


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
                image.load()
                pixels = _pil_to_array(image)
                source_format = image.format
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
    decoded.quality_flags = flags + decoded.quality_flags
    decoded.metadata = {"format": source_format, "original_size": [width, height]}
    return decoded


def _pil_to_array(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGB", "L"):
        return np.asarray(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return np.asarray(image).astype(np.float64)
    if image.mode in ("LA", "1"):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


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
    array = array.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        raise ImageRejected("The image holds no valid pixel values.")
    low, high = array[finite].min(), array[finite].max()
    scaled = np.zeros_like(array) if high == low else (array - low) / (high - low) * 255.0
    return np.nan_to_num(scaled).round().clip(0, 255).astype(np.uint8)


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
