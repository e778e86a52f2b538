import numpy as np

from core.demo import import_cohort
from core.projection import METHODS
from core.store.embeddings import MAP_KINDS
from core.synthetic import CohortConfig


def test_the_kinds_probed_are_every_kind_a_version_can_have():
    assert set(MAP_KINDS) == {(method, dims) for method in METHODS for dims in (2, 3)}


def test_a_version_lists_the_maps_it_has_and_no_other(store):
    import_cohort(store, CohortConfig(patients=2, image_size=16))
    ids = store.images.ids()
    coords = np.random.default_rng(0).normal(size=(len(ids), 3))
    first = store.models.create("conpro", {})["id"]
    second = store.models.create("conpro", {})["id"]
    assert store.embeddings.available_projections(first) == []
    store.embeddings.save_projection(first, "umap", ids, coords)
    store.embeddings.save_projection(first, "pca", ids, coords[:, :2])
    store.embeddings.save_projection(second, "tsne", ids, coords[:, :2])
    assert store.embeddings.available_projections(first) == [("pca", 2), ("umap", 3)]
    assert store.embeddings.available_projections(second) == [("tsne", 2)]
