"""Model versions and the dataset each serves: one active version per dataset, and a
version trained on every dataset serving those without one of their own."""

import json

import pytest

from core.store import Store
from core.store.migrations import MIGRATIONS


def _ready(store: Store, dataset_id: int | None, method: str = "conpro") -> dict:
    """A finished version whose map is made, as the worker leaves it."""
    model = store.models.create(method, {}, dataset_id=dataset_id)
    store.models.finish(model["id"], f"model-v{model['version']}.pt", {"val_tau": 0.5})
    store.models.chain_ready(model["id"])
    return store.models.get(model["id"])


def test_each_dataset_has_its_own_active_version(store):
    retina, cohort = store.datasets.ensure("RetinaMNIST"), store.datasets.ensure("Cohort")
    everything = _ready(store, None)
    store.models.activate(everything["id"])
    # a dataset without a version of its own is served by the one trained on all
    assert store.models.active(retina)["version"] == everything["version"]
    assert store.models.active(retina, own_only=True) is None

    own_retina, own_cohort = _ready(store, retina), _ready(store, cohort)
    store.models.activate(own_retina["id"])
    store.models.activate(own_cohort["id"])
    assert store.models.active(retina)["id"] == own_retina["id"]
    assert store.models.active(retina)["dataset"] == "RetinaMNIST"
    assert store.models.active(cohort)["id"] == own_cohort["id"]
    assert store.models.get(everything["id"])["active"] == 1  # another scope: untouched
    assert store.models.active()["id"] == everything["id"]

    # rolling one dataset forward retires only that dataset's previous version
    newer_retina = _ready(store, retina)
    store.models.activate(newer_retina["id"])
    assert store.models.get(own_retina["id"])["status"] == "retired"
    assert store.models.active(cohort)["id"] == own_cohort["id"]
    assert {m["id"] for m in store.models.list() if m["active"]} == {
        everything["id"],
        newer_retina["id"],
        own_cohort["id"],
    }


def test_newest_and_snapshot_follow_the_versions_serving_a_dataset(store):
    retina, cohort = store.datasets.ensure("RetinaMNIST"), store.datasets.ensure("Cohort")
    store.models.create("conpro", {}, trained_through=7, dataset_id=retina)
    store.models.create("conpro", {}, trained_through=3, dataset_id=cohort)
    assert store.models.newest(retina)["trained_through_judgment_id"] == 7
    assert store.models.latest_snapshot(cohort) == 3
    assert store.models.latest_snapshot() == 7
    assert store.models.newest()["dataset"] == "Cohort"


def test_migration_7_gives_old_versions_the_dataset_they_were_trained_on(tmp_path, monkeypatch):
    import core.store.database as database

    path = tmp_path / "old.db"
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:6])
    with Store(path) as old:
        old.datasets.ensure("RetinaMNIST")
        for version, dataset in ((1, None), (2, "RetinaMNIST")):
            old.db.insert(
                "models",
                {
                    "version": version,
                    "method": "conpro",
                    "config": json.dumps({"dataset": dataset}),
                    "status": "active" if version == 1 else "candidate",
                    "active": int(version == 1),
                    "created_at": "2026-01-01",
                },
            )
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    with Store(path) as new:
        first, second = sorted(new.models.list(), key=lambda m: m["version"])
        assert first["dataset_id"] is None and first["active"] == 1
        assert second["dataset"] == "RetinaMNIST"
        with pytest.raises(ValueError, match="no finished checkpoint"):
            new.models.activate(second["id"])
