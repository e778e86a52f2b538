import sqlite3

import pytest

from core.store import NewImage, Store
from core.store.database import IntegrityError, connect, schema_version
from core.store.migrations import MIGRATIONS


def test_migrations_from_empty_reach_latest_version(tmp_path):
    db = connect(tmp_path / "fresh.db")
    assert schema_version(db) == MIGRATIONS[-1].number
    assert {
        "datasets",
        "patients",
        "images",
        "raters",
        "judgments",
        "models",
        "embeddings",
        "projections",
        "jobs",
        "settings",
    } <= set(db.tables())


def test_reopening_applies_nothing_and_keeps_data(tmp_path):
    path = tmp_path / "app.db"
    with Store(path) as s:
        s.datasets.ensure("kept")
    with Store(path) as s:
        assert [d["name"] for d in s.datasets.list()] == ["kept"]


def test_every_connection_enforces_foreign_keys_and_uses_wal(tmp_path):
    with Store(tmp_path / "app.db") as s:
        assert s.one("PRAGMA foreign_keys")["foreign_keys"] == 1
        assert s.one("PRAGMA journal_mode")["journal_mode"] == "wal"
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            s.images.add(_image(dataset_id=999))


def test_split_is_frozen_once_assigned(store):
    image_id, _ = store.images.add(_image(store.datasets.ensure("d")))
    with pytest.raises(IntegrityError, match="frozen"):
        store.db.execute("UPDATE images SET split = 'train' WHERE id = ?", [image_id])


def test_same_content_hash_is_not_inserted_twice(store):
    dataset = store.datasets.ensure("d")
    first = store.images.add(_image(dataset))
    second = store.images.add(_image(dataset))
    assert first == (first[0], True)
    assert second == (first[0], False)
    assert store.images.count() == 1


def test_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.datasets.ensure("half")
        raise RuntimeError("boom")
    assert store.datasets.list() == []


def test_pseudonyms_are_salted_and_stable(tmp_path):
    with Store(tmp_path / "a" / "app.db") as a, Store(tmp_path / "b" / "app.db") as b:
        assert a.patients.pseudonym("12345") == a.patients.pseudonym("12345")
        assert a.patients.pseudonym("12345") != b.patients.pseudonym("12345")
        assert "12345" not in a.patients.pseudonym("12345")


def _image(dataset_id, content_hash="abc"):
    return NewImage(
        dataset_id=dataset_id,
        content_hash=content_hash,
        pixel_path="x.png",
        width=4,
        height=4,
        split="val",
    )


def test_a_version_records_the_job_that_trains_it(store):
    job = store.jobs.submit("train")
    model = store.models.create("conpro", {}, trained_through=3, job_id=job)
    assert model["job_id"] == job and model["trained_through_judgment_id"] == 3
    assert store.models.fail_unfinished_of_job(job, "the worker stopped") == 1
    failed = store.models.get(model["id"])
    assert failed["status"] == "failed" and failed["error"] == "the worker stopped"


def test_migration_3_marks_versions_whose_embed_already_failed(tmp_path, monkeypatch):
    """A database from before chain states: its broken version shows the job's error."""
    import core.store.database as database

    path = tmp_path / "old.db"
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:2])
    with Store(path) as old:
        assert schema_version(old.db) == 2
        for version in (1, 2):
            old.db.insert(
                "models",
                {
                    "version": version,
                    "method": "conpro",
                    "status": "candidate",
                    "created_at": "2026-01-01",
                    "checkpoint_path": f"v{version}.pt",
                },
            )
        old.db.insert(
            "jobs",
            {
                "kind": "embed",
                "params": '{"model_id": 2}',
                "status": "failed",
                "created_at": "2026-01-01",
                "error": "UnpicklingError: Weights only load failed",
            },
        )
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    with Store(path) as new:
        chains = {m["version"]: (m["chain"], m["error"]) for m in new.models.list()}
    assert chains[2] == ("failed", "embed job 1 failed: UnpicklingError: Weights only load failed")
    assert chains[1] == ("pending", None)


def test_a_busy_database_gives_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    import core.store.database as database
    from core.store import StoreBusy

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "app.db"
    with Store(path) as store:
        blocker = sqlite3.connect(path)
        blocker.execute("BEGIN IMMEDIATE")  # the worker, mid-write
        with pytest.raises(StoreBusy, match="busy.*Nothing was lost"):
            store.raters.ensure("Dr Busy")
        blocker.rollback()
        blocker.close()
        assert store.raters.list() == []
        store.raters.ensure("Dr Busy")  # once the worker is done, it goes through
        assert [r["name"] for r in store.raters.list()] == ["Dr Busy"]


def test_migration_6_keeps_known_severity_under_its_new_name(tmp_path, monkeypatch):
    import core.store.database as database

    path = tmp_path / "old.db"
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:5])
    with Store(path) as old:
        dataset = old.datasets.ensure("cohort")
        old.db.insert(
            "images",
            {
                "dataset_id": dataset,
                "content_hash": "h1",
                "pixel_path": "a.png",
                "width": 8,
                "height": 8,
                "split": "train",
                "grade": 3,
                "health_score": 0.71,
                "created_at": "2026-01-01",
            },
        )
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    with Store(path) as new:
        (row,) = new.images.query()
        assert row["known_severity"] == 0.71
        assert "health_score" not in new.db.columns("images")
