"""The attribution job: the worker computes a map per image of a version after its map
is made, stores them, and they go when the version goes."""

import numpy as np
import pytest

from core.learning.attribution import attribute
from core.learning.attribution_maps import MAP_SIDE, shrink
from core.learning.data import image_set_from_rows
from core.learning.export_model import SeverityGraph
from core.learning.versions import load_version
from core.store import Store
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import train_params


def test_after_its_chain_every_image_of_a_version_has_its_map_until_the_version_goes(
    cohort_db,
):
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        model = store.models.active()
        (job,) = [j for j in store.jobs.list() if j["kind"] == "attribute"]
        assert job["status"] == "done" and job["params"] == {"model_id": model["id"]}
        project = next(j for j in store.jobs.list() if j["kind"] == "project")
        assert job["id"] > project["id"]  # queued once the map was made
        ids = store.images.ids()
        maps = store.attributions.maps(model["id"], ids)
        assert sorted(maps) == sorted(ids) and job["result"]["maps"] == len(ids)
        side = min(MAP_SIDE, model["config"]["image_size"])
        assert all(m.shape == (side, side) for m in maps.values())
        assert sum(bool(m.any()) for m in maps.values()) >= 0.9 * len(ids)

        # each stored map is this version's attribution of that image's score
        rows = store.images.query()[:3]
        version = load_version(store, model)
        graph = SeverityGraph(version.net, version.anchor, version.space)
        images = image_set_from_rows(store, rows, version.config.image_size)
        expected = shrink(attribute(graph, images.images, steps=2))
        for row, wanted in zip(rows, expected, strict=True):
            assert np.abs(maps[row["id"]] - wanted).max() <= wanted.max() / 255 + 1e-6

        # another version takes over; removing this one removes its maps and checkpoint
        other = store.models.create("conpro", {})
        store.models.finish(other["id"], "models/other.pt", {})
        store.models.chain_ready(other["id"])
        store.models.activate(other["id"])
        store.models.remove(model["id"])
        assert store.attributions.count(model["id"]) == 0
        assert store.one_row("SELECT COUNT(*) AS n FROM attribution_maps")["n"] == 0
        assert not store.media_path(model["checkpoint_path"]).exists()


def test_maps_wait_behind_a_training_and_can_be_asked_for_some_images(cohort_db):
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db, kinds=("train", "embed", "project"))
    with Store(cohort_db) as store:
        model = store.models.active()
        (queued,) = store.jobs.list(statuses=("queued",))
        assert queued["kind"] == "attribute"
        store.jobs.submit("train", train_params())  # a retrain queued after it
        claimed = store.jobs.claim("test")
        assert claimed["kind"] == "train"  # the retrain does not wait for the maps
        store.jobs.finish(claimed["id"], "cancelled")
        store.jobs.request_cancel(queued["id"])
        some = store.images.ids()[:5]
        store.jobs.submit("attribute", {"model_id": model["id"], "image_ids": some})
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        assert store.attributions.count(model["id"]) == 5
        assert sorted(store.attributions.maps(model["id"], store.images.ids())) == sorted(some)


def test_large_maps_are_shrunk_by_summing_blocks():
    maps = np.arange(2 * 64 * 64, dtype=np.float32).reshape(2, 64, 64)
    small = shrink(maps, 32)
    assert small.shape == (2, 32, 32)
    assert np.allclose(small.sum((1, 2)), maps.sum((1, 2)), rtol=1e-5)
    assert small[0, 0, 0] == pytest.approx(maps[0, :2, :2].sum())
    assert shrink(maps[:, :16, :16], 32).shape == (2, 16, 16)  # small maps stay as they are
