"""Images as the pages show them: thumbnails for galleries and timelines.

The Compare page shows each stored file as it is (the browser scales it, and applies
zoom and contrast in CSS), so that nothing is decoded or re-encoded per answer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def thumbnail_array(path: Path, size: int = 96) -> np.ndarray:
    with Image.open(path) as source:
        return np.asarray(source.convert("RGB").resize((size, size)))
