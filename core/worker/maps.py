"""A version's maps: 2-D and 3-D projections of its embeddings, each laid over the map of
the same kind that users know already (the active version's), so that neighbourhoods stay
where they were unless the model moved them. Fitting UMAP or t-SNE afresh alone would
rotate, mirror and reshuffle the map at every retrain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.projection import project
from core.projection_align import Layout, align, displacement
from core.store import Store

MAP_ALIGNMENT = "map_alignment"  # the version's metric recording what its maps were laid over


def starting_map(known: Layout | None, ids: list[int], vectors: np.ndarray) -> np.ndarray | None:
    """Where each image starts when the new map is fitted: its place on the ``known``
    map, or, for an image not on it, the place of its nearest neighbour (in the new
    embedding) among those that are. None without a known map, or where it holds under
    half of the images (most would start piled on the few places it has)."""
    if known is None:
        return None
    on_known = np.isin(np.asarray(ids), known.ids)
    if on_known.sum() < max(5, len(ids) / 2):
        return None
    start = np.empty((len(ids), known.dims))
    start[on_known] = known.at(np.asarray(ids)[on_known])
    if (~on_known).any():
        from sklearn.neighbors import NearestNeighbors

        finder = NearestNeighbors(n_neighbors=1).fit(vectors[on_known])
        nearest = finder.kneighbors(vectors[~on_known], return_distance=False)[:, 0]
        start[~on_known] = start[on_known][nearest]
    return start


def project_maps(
    store: Store,
    model_id: int,
    chosen: list[tuple[str, int]],
    progress: Callable[[int, str, int], None] = lambda number, method, dims: None,
    align_maps: bool = True,
) -> dict:
    """Store the version's map for each ``(method, dims)`` of ``chosen``. With
    ``align_maps`` each UMAP and t-SNE map starts from the active version's map of the
    same kind (``starting_map``), and each map is then fitted (rotation or reflection,
    uniform scale, shift) onto the active version's map of the same kind over the images both show;
    for the active version itself, onto its own map as stored before. Returns the
    metrics to record (``{MAP_ALIGNMENT: ...}``: which version, and for each aligned map
    the shared images and the median move of an image as a share of the map's width,
    aligned and as fitted), or ``{}`` where no map was aligned."""
    model = store.models.get(model_id)
    ids, vectors, _ = store.embeddings.vectors(model_id)
    reference = store.models.active(model["dataset_id"]) if align_maps else None
    aligned = {}
    for number, (method, dims) in enumerate(chosen):
        progress(number, method, dims)
        # read before saving: for the active version this is its own map, about to go
        known = (
            None if reference is None else store.embeddings.layout(reference["id"], method, dims)
        )
        start = starting_map(known, ids, vectors) if method != "pca" else None
        fitted = Layout(np.array(ids), project(vectors, method, dims, init=start))
        layout, fit = align(fitted, known)
        store.embeddings.save_projection(model_id, method, layout.ids.tolist(), layout.coords)
        if fit is not None and known is not None:
            aligned[f"{method}-{dims}d"] = {
                "shared_images": fit.shared,
                "median_shift": float(np.median(displacement(known, layout))),
                "median_shift_unaligned": float(np.median(displacement(known, fitted))),
            }
    if reference is None or not aligned:
        return {}
    record = {"version": reference["version"], "model_id": reference["id"], "maps": aligned}
    return {MAP_ALIGNMENT: record}
