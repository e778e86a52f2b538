"""Turning files into 8-bit display pixels, and storing those pixels by content."""

from .decode import DecodedImage, ImageRejected, decode_raster, to_display_pixels
from .storage import content_hash, load_pixels, remove_stale_parts, save_pixels

__all__ = [
    "DecodedImage",
    "ImageRejected",
    "content_hash",
    "decode_raster",
    "load_pixels",
    "remove_stale_parts",
    "save_pixels",
    "to_display_pixels",
]
