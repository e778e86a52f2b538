"""2-D and 3-D projections of embeddings: UMAP, t-SNE (openTSNE) and PCA.

Run these in the worker process only: numba (behind UMAP) can abort when two threads
use it at once, and Streamlit runs each session in a thread.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

METHODS = ("pca", "umap", "tsne")


def project(vectors: np.ndarray, method: str, dims: int = 2, seed: int = 0) -> np.ndarray:
    """Coordinates (N, dims) for ``vectors`` (N, D)."""
    if method not in METHODS:
        raise ValueError(f"projection must be one of {', '.join(METHODS)}, not {method!r}")
    if dims not in (2, 3):
        raise ValueError("projections are 2-D or 3-D")
    n = len(vectors)
    if n < 5:
        raise ValueError("at least 5 images are needed for a projection")
    vectors = np.asarray(vectors, dtype=np.float32)
    if method == "pca":
        return PCA(n_components=dims, random_state=seed).fit_transform(vectors)
    if method == "umap":
        import umap

        reducer = umap.UMAP(
            n_components=dims,
            n_neighbors=min(15, n - 1),
            metric="cosine",
            random_state=seed,
            n_jobs=1,
        )
        return np.asarray(reducer.fit_transform(vectors))
    from openTSNE import TSNE

    perplexity = float(min(30, (n - 1) / 3))
    embedding = TSNE(
        n_components=dims,
        perplexity=perplexity,
        metric="cosine",
        random_state=seed,
        n_jobs=1,
        negative_gradient_method="bh" if dims == 3 else "auto",
    ).fit(vectors)
    return np.asarray(embedding)
