"""2-D and 3-D projections of embeddings: UMAP, t-SNE (openTSNE) and PCA.

Run these in the worker process only: numba (behind UMAP) can abort when two threads
use it at once, and Streamlit runs each session in a thread.

Large maps: UMAP and t-SNE cost grows faster than the number of points, and every
retrain projects the whole dataset again. Above ``FIT_SAMPLE_ABOVE`` points the map is
fitted on a random sample of ``FIT_SAMPLE_SIZE`` (drawn from the seed) and every other
point is placed on it with the fitted model's ``transform`` (UMAP's, openTSNE's
``TSNEEmbedding.transform``): the sampled points keep their fitted coordinates, the
others land beside their nearest sampled neighbours without moving them. PCA is cheap
and exact at any size, so it is always fitted on every point.

Starting from a known map: UMAP and t-SNE may be given ``init``, a starting place for
each point (the worker passes the active version's map, so a retrain's map starts where
users left it and only moves where the model did). PCA has no starting place and ignores
it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA

METHODS = ("pca", "umap", "tsne")
FIT_SAMPLE_ABOVE = 20_000  # more points than this: UMAP / t-SNE fitted on a sample
FIT_SAMPLE_SIZE = 10_000  # the points such a map is fitted on; the rest are placed on it


def project(
    vectors: np.ndarray,
    method: str,
    dims: int = 2,
    seed: int = 0,
    sample_above: int = FIT_SAMPLE_ABOVE,
    sample_size: int = FIT_SAMPLE_SIZE,
    init: np.ndarray | None = None,
) -> np.ndarray:
    """Coordinates (N, dims) for ``vectors`` (N, D); the same for the same seed (and
    ``init``, an (N, dims) starting place for UMAP and t-SNE)."""
    if method not in METHODS:
        raise ValueError(f"projection must be one of {', '.join(METHODS)}, not {method!r}")
    if dims not in (2, 3):
        raise ValueError("projections are 2-D or 3-D")
    n = len(vectors)
    if n < 5:
        raise ValueError("at least 5 images are needed for a projection")
    if not 5 <= sample_size < sample_above:
        raise ValueError("a fitted sample needs at least 5 points, and fewer than its threshold")
    vectors = np.asarray(vectors, dtype=np.float32)
    if init is not None:
        init = np.asarray(init, dtype=np.float64)
        if init.shape != (n, dims) or not np.isfinite(init).all():
            raise ValueError(f"a starting map needs {n} finite points of {dims} coordinates")
    if method == "pca":
        return PCA(n_components=dims, random_state=seed).fit_transform(vectors)
    if n <= sample_above:
        return _fit(vectors, method, dims, seed, init)[0]
    sample = fit_sample(n, sample_size, seed)
    fitted, model = _fit(
        vectors[sample], method, dims, seed, None if init is None else init[sample]
    )
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    coords = np.empty((n, dims), dtype=np.float64)
    coords[sample] = fitted
    coords[rest] = _place(model, vectors[rest])
    return coords


def fit_sample(n: int, size: int, seed: int) -> np.ndarray:
    """The rows (sorted) a map of ``n`` points is fitted on when it is sampled."""
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _fit(
    vectors: np.ndarray, method: str, dims: int, seed: int, init: np.ndarray | None = None
) -> tuple[np.ndarray, Any]:
    """UMAP or t-SNE fitted on ``vectors`` (from ``init`` where given): their
    coordinates, and the fitted model."""
    n = len(vectors)
    if method == "umap":
        import umap

        reducer = umap.UMAP(
            n_components=dims,
            n_neighbors=min(15, n - 1),
            metric="cosine",
            random_state=seed,
            transform_seed=seed,
            n_jobs=1,
            init="spectral" if init is None else init,
        )
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float64), reducer
    from openTSNE import TSNE

    perplexity = float(min(30, (n - 1) / 3))
    embedding = TSNE(
        n_components=dims,
        perplexity=perplexity,
        metric="cosine",
        random_state=seed,
        n_jobs=1,
        negative_gradient_method="bh" if dims == 3 else "auto",
        # openTSNE expects a starting map of small spread (its own are scaled so)
        initialization="pca" if init is None else _small(init),
    ).fit(vectors)
    return np.asarray(embedding, dtype=np.float64), embedding


def _small(init: np.ndarray) -> np.ndarray:
    """``init`` centred and scaled to a standard deviation of 1e-4 on its first axis."""
    centred = init - init.mean(axis=0)
    return centred / (centred[:, 0].std() or 1.0) * 1e-4


def _place(model: Any, vectors: np.ndarray) -> np.ndarray:
    """New points laid on a fitted map without moving its points."""
    return np.asarray(model.transform(vectors), dtype=np.float64)  # UMAP's, or openTSNE's
