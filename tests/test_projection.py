import numpy as np
import pytest

from core.projection import FIT_SAMPLE_ABOVE, FIT_SAMPLE_SIZE, fit_sample, project


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


def three_clusters(per_cluster: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_cluster)
    vectors = rng.normal(0, 0.1, (len(labels), 16)) + np.eye(16)[labels] * 3
    return vectors, labels


# the sampled path on a small map: threshold and sample lowered from 20,000 and 10,000
SAMPLED = {"sample_above": 100, "sample_size": 60}


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_large_map_is_fitted_on_a_sample_and_the_rest_placed_on_it(method):
    vectors, labels = three_clusters()
    coords = project(vectors, method, 2, seed=3, **SAMPLED)
    assert coords.shape == (150, 2) and np.isfinite(coords).all()
    assert np.array_equal(coords, project(vectors, method, 2, seed=3, **SAMPLED))  # seeded
    sample = fit_sample(150, 60, seed=3)
    assert len(np.unique(sample)) == 60
    # the sampled points keep the coordinates of a map fitted on them alone
    alone = project(vectors[sample], method, 2, seed=3, **SAMPLED)
    np.testing.assert_allclose(coords[sample], alone)
    # every other point lands among its own cluster's sampled points
    placed = np.setdiff1d(np.arange(150), sample)
    gaps = np.linalg.norm(coords[placed][:, None] - coords[sample][None], axis=2)
    assert (labels[sample][gaps.argmin(1)] == labels[placed]).all()


def test_the_sample_is_drawn_from_the_seed():
    assert np.array_equal(fit_sample(1000, 100, seed=1), fit_sample(1000, 100, seed=1))
    assert not np.array_equal(fit_sample(1000, 100, seed=1), fit_sample(1000, 100, seed=2))
    assert (np.diff(fit_sample(1000, 100, seed=1)) > 0).all()  # sorted, no repeat


def test_pca_and_small_maps_use_every_point():
    vectors, _ = three_clusters()
    np.testing.assert_allclose(
        project(vectors, "pca", 2, **SAMPLED), project(vectors, "pca", 2), atol=1e-5
    )
    assert FIT_SAMPLE_SIZE < FIT_SAMPLE_ABOVE
    with pytest.raises(ValueError, match="fitted sample"):
        project(vectors, "umap", 2, sample_above=50, sample_size=50)


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_a_starting_map_is_where_the_fit_starts(method):
    """The same points and seed, started from two maps that are mirror images of each
    other: the fits differ, and each ends nearer the map it started from than the other
    does (how much nearer, on real retrains: ``benchmarks/map_stability.py``)."""
    vectors, _ = three_clusters(per_cluster=40)
    start = project(vectors, method, 2, seed=0)
    mirrored = start * [-1.0, 1.0]
    from_start = project(vectors, method, 2, seed=1, init=start)
    from_mirror = project(vectors, method, 2, seed=1, init=mirrored)

    def gap(a, b):  # after centring and scaling, no rotation: a mirror image stays one
        a, b = (m - m.mean(0) for m in (a, b))
        return float(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))

    assert gap(from_start, start) < gap(from_mirror, start)
    assert gap(from_mirror, mirrored) < gap(from_start, mirrored)


def test_a_new_map_starts_from_the_known_one_and_new_images_beside_their_neighbours():
    from core.projection_align import Layout
    from core.worker.maps import starting_map

    known = Layout(np.array([1, 2, 3, 4, 5]), np.arange(10.0).reshape(5, 2))
    vectors = np.array([[0, 0], [10, 0], [20, 0], [30, 0], [40, 0], [29, 1], [1, 1]], float)
    start = starting_map(known, [1, 2, 3, 4, 5, 6, 7], vectors)
    np.testing.assert_array_equal(start[:5], known.coords)
    np.testing.assert_array_equal(start[5], known.coords[3])  # 6 lies beside 4
    np.testing.assert_array_equal(start[6], known.coords[0])  # 7 beside 1
    assert starting_map(known, [1, 2, 3, 4, 9], vectors[:5]) is None  # 4 shared: too few
    many = [1, 2, 3, 4, 5, *range(10, 16)]  # 5 of 11 on the known map: under half
    assert starting_map(known, many, np.zeros((11, 2))) is None
    assert starting_map(None, [1, 2], vectors[:2]) is None


def test_a_starting_map_must_fit_the_points():
    with pytest.raises(ValueError, match="starting map"):
        project(clusters(), "umap", 2, init=np.zeros((59, 2)))
    with pytest.raises(ValueError, match="starting map"):
        project(clusters(), "umap", 2, init=np.full((60, 2), np.nan))
