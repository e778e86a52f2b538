"""Maps that stay put: the worker lays each new version's maps over the active version's,
records it, and the store tells how far each image moved between two versions.

PCA maps only (a job's ``projections``, or ``PROJECTIONS`` patched): UMAP would cost
half a minute of numba compilation per process for nothing these tests check."""

import numpy as np
import pytest

import core.worker.handlers as handlers
from core.projection import project
from core.projection_align import Layout, align, displacement
from core.store import Store
from core.worker.maps import MAP_ALIGNMENT
from core.worker.train_job import train_job
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import TINY, add_judgments

PCA_MAPS = [["pca", 2], ["pca", 3]]


def _version_with_vectors(store: Store, vectors: np.ndarray) -> dict:
    """A finished version of the cohort whose embeddings are ``vectors`` (row k: the
    k-th image), waiting for its maps."""
    dataset = store.datasets.by_name("Synthetic cohort")["id"]
    model = store.models.create("conpro", {}, dataset_id=dataset)
    store.models.finish(model["id"], "models/none.pt", {})
    ids = store.images.ids(dataset_id=dataset)
    store.embeddings.save(model["id"], ids, vectors[: len(ids)], np.zeros(len(ids)))
    return model


def _project(db, model_id: int, **params) -> None:
    with Store(db) as store:
        store.jobs.submit("project", {"model_id": model_id, "projections": PCA_MAPS, **params})
    run_worker_until_idle(db, kinds=("project",))


def _cohort_vectors(store: Store, seed: int = 0) -> np.ndarray:
    n = len(store.images.ids())
    spread = np.array([6.0, 4.0, 2.5] + [0.3] * 9)  # three clear principal axes
    return np.random.default_rng(seed).normal(0, 1, (n, 12)) * spread


def test_a_new_versions_maps_are_laid_over_the_active_versions(cohort_db):
    with Store(cohort_db) as store:
        vectors = _cohort_vectors(store)
        first = _version_with_vectors(store, vectors)
    _project(cohort_db, first["id"])
    with Store(cohort_db) as store:
        assert MAP_ALIGNMENT not in store.models.get(first["id"])["metrics"]  # nothing to follow
        store.models.activate(first["id"])
        # the same space, scaled, shifted and a little noisier: PCA fits a map 3 times
        # as large, which only alignment brings back to where the first one was
        noise = np.random.default_rng(1).normal(0, 0.05, vectors.shape)
        second = _version_with_vectors(store, 3 * (vectors + noise) + 1)
    _project(cohort_db, second["id"])
    with Store(cohort_db) as store:
        record = store.models.get(second["id"])["metrics"][MAP_ALIGNMENT]
        assert (record["version"], record["model_id"]) == (first["version"], first["id"])
        ids, stored_vectors, _ = store.embeddings.vectors(second["id"])
        for method, dims in PCA_MAPS:
            before = store.embeddings.layout(first["id"], method, dims)
            stored = store.embeddings.layout(second["id"], method, dims)
            fitted = Layout(ids, project(stored_vectors, method, dims))
            expected, fit = align(fitted, before)
            assert fit is not None and fit.shared == len(ids)
            np.testing.assert_allclose(stored.at(ids), expected.at(ids), atol=1e-6, rtol=0)
            moved, unaligned = displacement(before, stored), displacement(before, fitted)
            assert np.median(moved) < 0.05 < np.median(unaligned)
            figures = record["maps"][f"{method}-{dims}d"]
            assert figures["shared_images"] == len(ids)
            assert figures["median_shift"] == pytest.approx(float(np.median(moved)), abs=1e-9)
            assert figures["median_shift_unaligned"] == pytest.approx(float(np.median(unaligned)))


def test_alignment_can_be_turned_off_for_a_job(cohort_db):
    with Store(cohort_db) as store:
        vectors = _cohort_vectors(store)
        first = _version_with_vectors(store, vectors)
    _project(cohort_db, first["id"])
    with Store(cohort_db) as store:
        store.models.activate(first["id"])
        second = _version_with_vectors(store, 3 * vectors)
    _project(cohort_db, second["id"], align_maps=False)
    with Store(cohort_db) as store:
        assert MAP_ALIGNMENT not in store.models.get(second["id"])["metrics"]
        _, stored_vectors, _ = store.embeddings.vectors(second["id"])
        stored = store.embeddings.layout(second["id"], "pca", 2)
        np.testing.assert_allclose(stored.coords, project(stored_vectors, "pca", 2), atol=1e-6)


def test_map_shift_gives_each_images_move_between_two_versions(cohort_db):
    with Store(cohort_db) as store:
        vectors = _cohort_vectors(store)
        first = _version_with_vectors(store, vectors)
        second = _version_with_vectors(store, vectors)
        ids = store.images.ids()
        rng = np.random.default_rng(2)
        before = rng.normal(0, 1, (len(ids), 2))
        after = before.copy()
        after[0] += [0.5, 0.0]  # one image moved by the model
        rotation = np.array([[0.0, -1.0], [-1.0, 0.0]])  # a reflection
        store.embeddings.save_projection(first["id"], "umap", ids, before)
        # the second map lacks the last image, in another frame
        store.embeddings.save_projection(
            second["id"], "umap", ids[:-1], after[:-1] @ rotation * 2 + 7
        )

        rows = store.embeddings.map_shift(first["id"], second["id"], "umap", 2)
        width = float(np.ptp(before, axis=0).max())
        assert [r["image_id"] for r in rows] == sorted(ids[:-1])
        shifts = {r["image_id"]: r["shift"] for r in rows}
        # the frame is taken out, the moved image stands out (a least-squares fit spreads
        # a little of its move over the others)
        assert shifts[ids[0]] == pytest.approx(0.5 / width, rel=0.1)
        assert max(shifts[i] for i in ids[1:-1]) < 0.1 * shifts[ids[0]]
        first_row = next(r for r in rows if r["image_id"] == ids[0])
        assert first_row["z_from"] is None and first_row["x_from"] == pytest.approx(before[0, 0])
        raw = store.embeddings.map_shift(first["id"], second["id"], "umap", 2, align_maps=False)
        assert np.median([r["shift"] for r in raw]) > 1  # as stored: another frame
        assert store.embeddings.map_shift(first["id"], second["id"], "pca", 3) == []


@pytest.mark.slow
def test_a_warm_retrains_stored_map_follows_the_active_version(cohort_db, monkeypatch):
    """End to end: the worker trains a version, then a warm retrain after more answers;
    the retrain's stored 2-D map is its fresh PCA laid over the first version's."""
    monkeypatch.setattr(handlers, "PROJECTIONS", (("pca", 2),))
    with Store(cohort_db) as store:
        dataset = store.datasets.by_name("Synthetic cohort")["id"]
        store.settings.set("train_defaults", TINY.to_dict())
        store.jobs.submit("train", train_job(store, dataset).to_params())
    run_worker_until_idle(cohort_db, kinds=("train", "embed", "project"))
    with Store(cohort_db) as store:
        first = store.models.active(dataset)
        add_judgments(store, 12)
        warm = store.jobs.submit("train", train_job(store, dataset, "warm").to_params())
    run_worker_until_idle(cohort_db, kinds=("train", "embed", "project"))
    with Store(cohort_db) as store:
        second = store.models.of_job(warm)
        assert second["parent_id"] == first["id"]
        assert second["metrics"][MAP_ALIGNMENT]["version"] == first["version"]
        ids, vectors, _ = store.embeddings.vectors(second["id"])
        before = store.embeddings.layout(first["id"], "pca", 2)
        fitted = Layout(ids, project(vectors, "pca", 2))
        expected, _ = align(fitted, before)
        stored = store.embeddings.layout(second["id"], "pca", 2)
        np.testing.assert_allclose(stored.at(ids), expected.at(ids), atol=1e-6, rtol=0)
        assert np.median(displacement(before, stored)) <= np.median(displacement(before, fitted))
