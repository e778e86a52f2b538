"""A version's attribution maps, computed for the images it serves and stored for the
pages (``store.attributions``): the background worker runs this (``handle_attribute``),
never the Streamlit process.

Each map is ``attribution.attribute`` of the version's stored score (Integrated Gradients
against the blurred image, positive part, ``attribution.STEPS`` points): the map
``benchmarks/explanations.py`` measures against the generator's lesions. Maps larger than
``MAP_SIDE`` a side are shrunk by summing blocks of pixels (a block's value is the score
its pixels add together), so that a 224 px version's maps stay as small as a 32 px one's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.store import Store

from .attribution import STEPS, attribute
from .data import image_set_from_rows
from .export_model import SeverityGraph
from .versions import load_version

MAP_SIDE = 32  # pixels a side at most: 1 KB a map in the store
BATCH_IMAGES = 64  # images decoded, attributed and saved at a time

Progress = Callable[[int, int], None]  # (images done, images in all); may raise to stop


def shrink(maps: np.ndarray, side: int = MAP_SIDE) -> np.ndarray:
    """(N, H, W) maps with at most ``side`` pixels a side: each output pixel the sum of
    the block of input pixels it covers (adaptive pooling times the block's area), so a
    map's total, the score its pixels add, is kept. Smaller maps are returned as they are."""
    maps = np.asarray(maps, dtype=np.float32)
    height, width = maps.shape[1:]
    if height <= side and width <= side:
        return maps
    target = (min(side, height), min(side, width))
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(maps)[:, None], target)[:, 0]
    return (pooled * (height * width / (target[0] * target[1]))).numpy()


def attribute_version(
    store: Store,
    model: dict,
    image_ids: list[int] | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
    steps: int | None = None,
) -> int:
    """Compute and store the maps of version ``model`` (its store row) for ``image_ids``,
    by default every image of the dataset it serves, ``BATCH_IMAGES`` at a time (each
    batch saved before the next, so a stopped job keeps what it made). Returns how many
    maps were stored. ``steps``: Integrated Gradients' points (None: ``STEPS``)."""
    version = load_version(store, model)
    graph = SeverityGraph(version.net, version.anchor, version.space).to(device)
    rows = store.images.query(dataset_id=model["dataset_id"])
    if image_ids is not None:
        wanted = {int(i) for i in image_ids}
        rows = [r for r in rows if r["id"] in wanted]
    done = 0
    for start in range(0, len(rows), BATCH_IMAGES):
        batch = rows[start : start + BATCH_IMAGES]
        images = image_set_from_rows(store, batch, version.config.image_size)
        maps = shrink(attribute(graph, images.images, steps=steps or STEPS))
        store.attributions.save(model["id"], images.image_ids.tolist(), maps)
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    return done
