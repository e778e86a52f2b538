"""Content-addressed pixel files: ``media/<first two hex>/<sha256>.png``, written
atomically so a crash never leaves a half-written image behind a database row."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def content_hash(pixels: np.ndarray) -> str:
    """Hash of the decoded pixels (shape included), so the same picture in two
    containers (a PNG and a DICOM, two transfer syntaxes) is one image."""
    digest = hashlib.sha256(f"{pixels.shape}|{pixels.dtype}|".encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def save_pixels(media_root: Path, pixels: np.ndarray) -> tuple[str, str]:
    """Store ``pixels`` as PNG; return ``(relative path, content hash)``."""
    digest = content_hash(pixels)
    relative = f"{digest[:2]}/{digest}.png"
    target = media_root / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                Image.fromarray(pixels).save(handle, format="PNG")
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return relative, digest


def remove_stale_parts(folder: Path, older_than_seconds: float = 60.0) -> int:
    """Delete ``*.part`` files that a killed process left behind. A live writer renames
    its ``.part`` within milliseconds, so one older than a minute is an orphan; nothing
    ever reads a ``.part``. Returns how many were removed."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for part in folder.rglob("*.part"):
        try:
            if part.is_file() and part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed


def load_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
