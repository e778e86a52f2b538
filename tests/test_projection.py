import numpy as np
import pytest

from core.projection import project


def clusters(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.1, (30, 16)) + np.eye(16)[0] * 3
    b = rng.normal(0, 0.1, (30, 16)) + np.eye(16)[1] * 3
    return np.vstack([a, b])


@pytest.mark.parametrize(("method", "dims"), [("pca", 2), ("pca", 3), ("umap", 2), ("tsne", 2)])
def test_projections_keep_separate_clusters_apart(method, dims):
    coords = project(clusters(), method, dims)
    assert coords.shape == (60, dims) and np.isfinite(coords).all()
    first, second = coords[:30], coords[30:]
    between = np.linalg.norm(first.mean(0) - second.mean(0))
    within = max(first.std(0).max(), second.std(0).max())
    assert between > 2 * within


def test_bad_projection_requests_are_refused():
    with pytest.raises(ValueError, match="one of"):
        project(clusters(), "isomap")
    with pytest.raises(ValueError, match="at least 5"):
        project(clusters()[:3], "pca")
