"""Attribution maps in the store: kept compactly per version and image, read back within
their 8-bit step, and removed with their version, on SQLite and PostgreSQL."""

import numpy as np
import pytest

from core.demo import import_cohort
from core.store import Store
from core.store.database import IntegrityError
from core.store.migrations import MIGRATIONS
from core.synthetic import CohortConfig


def _version(store: Store, ready: bool = True) -> dict:
    model = store.models.create("conpro", {})
    store.models.finish(model["id"], f"models/model-v{model['version']}.pt", {})
    if ready:
        store.models.chain_ready(model["id"])
    return store.models.get(model["id"])


def _maps(count: int, seed: int = 0, side: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.01, size=(count, side, side)).astype(np.float32)


@pytest.fixture
def cohort(store):
    import_cohort(store, CohortConfig(patients=2, image_size=16))
    return store


def test_maps_come_back_within_one_8_bit_step_of_their_peak(cohort):
    ids = cohort.images.ids()
    model = _version(cohort)
    maps = _maps(len(ids))
    cohort.attributions.save(model["id"], ids, maps)

    back = cohort.attributions.maps(model["id"], ids)
    assert sorted(back) == sorted(ids) and cohort.attributions.count(model["id"]) == len(ids)
    for image_id, original in zip(ids, maps, strict=True):
        kept = np.clip(original, 0, None)  # what lowers the score is not kept
        assert back[image_id].shape == (8, 8) and back[image_id].dtype == np.float32
        assert np.abs(back[image_id] - kept).max() <= kept.max() / 255 / 2 + 1e-7
        assert back[image_id].max() == pytest.approx(kept.max(), rel=1e-6)
    assert np.allclose(np.sort(cohort.attributions.peaks(model["id"])), np.sort(maps.max((1, 2))))
    assert cohort.attributions.maps(model["id"], []) == {}


def test_saving_again_replaces_an_images_map_and_an_all_zero_map_is_kept(cohort):
    ids = cohort.images.ids()[:3]
    model = _version(cohort)
    cohort.attributions.save(model["id"], ids, _maps(3, seed=1))
    cohort.attributions.save(model["id"], ids[:1], np.zeros((1, 4, 6)))
    back = cohort.attributions.maps(model["id"], ids)
    assert cohort.attributions.count(model["id"]) == 3
    assert back[ids[0]].shape == (4, 6) and not back[ids[0]].any()
    assert back[ids[1]].shape == (8, 8) and back[ids[1]].any()


def test_maps_of_the_wrong_shape_or_not_finite_are_refused(cohort):
    ids = cohort.images.ids()[:2]
    model = _version(cohort)
    with pytest.raises(ValueError, match="maps"):
        cohort.attributions.save(model["id"], ids, np.zeros((3, 4, 4)))
    bad = np.zeros((2, 4, 4))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        cohort.attributions.save(model["id"], ids, bad)
    assert cohort.attributions.count(model["id"]) == 0


def test_removing_a_version_removes_its_maps_and_keeps_the_others(cohort):
    ids = cohort.images.ids()
    kept, removed = _version(cohort), _version(cohort)
    for model in (kept, removed):
        cohort.attributions.save(model["id"], ids, _maps(len(ids)))
        cohort.embeddings.save(model["id"], ids, np.ones((len(ids), 4)), np.zeros(len(ids)))
    checkpoint = cohort.media_path(removed["checkpoint_path"])
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"weights")
    cohort.models.activate(kept["id"])

    cohort.models.remove(removed["id"])

    assert cohort.attributions.count(removed["id"]) == 0
    assert cohort.attributions.maps(removed["id"], ids) == {}
    assert (
        cohort.one("SELECT COUNT(*) AS n FROM embeddings WHERE model_id = ?", [removed["id"]])["n"]
        == 0
    )
    assert not checkpoint.exists()
    assert [m["id"] for m in cohort.models.list()] == [kept["id"]]
    assert cohort.attributions.count(kept["id"]) == len(ids)


def test_the_active_version_and_a_warm_parent_are_not_removed(cohort):
    ids = cohort.images.ids()
    active = _version(cohort)
    cohort.attributions.save(active["id"], ids, _maps(len(ids)))
    cohort.models.activate(active["id"])
    with pytest.raises(ValueError, match="in use"):
        cohort.models.remove(active["id"])
    child = cohort.models.create("conpro", {}, parent_id=active["id"])
    cohort.models.activate(_version(cohort)["id"])  # the old parent is retired now
    with pytest.raises(ValueError, match="parent"):
        cohort.models.remove(active["id"])
    assert cohort.attributions.count(active["id"]) == len(ids)
    assert cohort.models.get(child["id"])["parent_id"] == active["id"]


def test_whatever_deletes_a_version_row_deletes_its_maps(cohort):
    """The foreign key cascades: a later way of deleting versions cannot leave maps."""
    ids = cohort.images.ids()
    model = _version(cohort)
    cohort.attributions.save(model["id"], ids, _maps(len(ids)))
    with cohort.transaction():
        cohort.db.execute("DELETE FROM models WHERE id = ?", [model["id"]])
    assert cohort.one_row("SELECT COUNT(*) AS n FROM attribution_maps")["n"] == 0


def test_a_map_needs_its_image_and_its_version(cohort):
    model = _version(cohort)
    with pytest.raises(IntegrityError):
        cohort.attributions.save(model["id"], [10_000], np.ones((1, 2, 2)))
    with pytest.raises(IntegrityError):
        cohort.attributions.save(10_000, cohort.images.ids()[:1], np.ones((1, 2, 2)))


def test_the_compare_page_gets_maps_only_once_a_study_lead_turns_them_on(cohort):
    ids = cohort.images.ids()[:2]
    model = _version(cohort)
    cohort.attributions.save(model["id"], ids, _maps(2))
    assert cohort.attributions.shown_on_compare() is False
    assert cohort.attributions.for_compare(model["id"], ids) == {}
    cohort.attributions.show_on_compare(True)
    assert sorted(cohort.attributions.for_compare(model["id"], ids)) == sorted(ids)
    cohort.attributions.show_on_compare(False)
    assert cohort.attributions.for_compare(model["id"], ids) == {}


def test_attribute_is_a_job_kind_of_the_database(store):
    job = store.jobs.submit("attribute", {"model_id": 1})
    assert store.jobs.get(job)["kind"] == "attribute"
    with pytest.raises(IntegrityError):  # the table's own check still refuses others
        store.db.insert("jobs", {"kind": "nonsense", "status": "queued", "created_at": "x"})


def test_migration_13_keeps_every_job_and_what_points_at_it(db_location, monkeypatch):
    """Jobs that versions, loss points and retries name survive the jobs table's rebuild
    (SQLite) or its new check (PostgreSQL) with their ids."""
    import core.store.database as database

    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:12])
    with Store(db_location) as old:
        assert database.schema_version(old.db) == 12
        first = old.jobs.submit("train", {"config": {}}, trigger_key="first")
        old.jobs.add_losses(first, [("con", 1, 0.5)])
        old.jobs.finish(first, "failed", error="boom")
        again = old.jobs.retry(first)
        model = old.models.create("conpro", {}, job_id=again)
        before = old.all("SELECT * FROM jobs ORDER BY id")
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    if db_location.startswith("postgresql"):
        database.dispose(db_location)  # a fresh engine, as a restarted app would open
    with Store(db_location) as new:
        assert database.schema_version(new.db) == MIGRATIONS[-1].number
        assert new.all("SELECT * FROM jobs ORDER BY id") == before
        assert new.models.get(model["id"])["job_id"] == again
        assert new.jobs.get(again)["retry_of"] == first
        assert new.jobs.losses(first) == [{"phase": "con", "step": 1, "loss": 0.5}]
        assert new.integrity_problems() == []
        assert new.jobs.submit("train", {}, trigger_key="first") == first  # still unique
        later = new.jobs.submit("attribute", {"model_id": model["id"]})
        assert later > again
        with pytest.raises(IntegrityError):  # foreign keys still hold on the new table
            new.db.execute("UPDATE models SET job_id = 9999 WHERE id = ?", [model["id"]])


def test_a_version_a_job_works_on_is_kept_and_a_checkpoint_another_names_stays(cohort):
    kept, removed = _version(cohort), _version(cohort)
    cohort.models.activate(kept["id"])
    job = cohort.jobs.submit("attribute", {"model_id": removed["id"]})
    assert f"attribute job {job}" in (cohort.models.removal_blocker(removed["id"]) or "")
    with pytest.raises(ValueError, match="cancel it first"):
        cohort.models.remove(removed["id"])
    cohort.jobs.request_cancel(job)
    assert cohort.models.removal_blocker(removed["id"]) is None
    sharing = cohort.models.create("conpro", {})
    cohort.models.finish(sharing["id"], removed["checkpoint_path"], {})  # the same file
    checkpoint = cohort.media_path(removed["checkpoint_path"])
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"weights")
    cohort.models.remove(removed["id"])
    assert checkpoint.exists()  # still the weights of another version
    cohort.models.remove(sharing["id"])
    assert not checkpoint.exists()
