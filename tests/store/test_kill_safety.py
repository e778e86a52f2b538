"""``kill -9`` during a migration and during a backup, on SQLite and on PostgreSQL.

A child process opens (and so migrates) or backs up the database with
``$SEVERITY_FAULT_POINT`` set: it announces each named point inside a migration or a
backup and waits at the one chosen, where the test kills it (SIGKILL). The
database must then hold exactly the schema of some migration number (the one before the
killed migration), never a half, and the next open must finish the job; a backup killed
anywhere leaves no file under the backup's name."""

from pathlib import Path

import pytest

import core.store.database as database
from core.store import Store
from core.store.migrations import MIGRATIONS
from devtools.kill import BACKUP, OPEN, describe_schema, kill_at

LATEST = MIGRATIONS[-1].number


@pytest.fixture
def schema_after(request, tmp_path, monkeypatch):
    """The schema a fresh database has after migrations 1..n, for each n asked for."""
    made: dict[int, list[tuple]] = {}

    def reference(number: int, like: str) -> list[tuple]:
        if number not in made:
            if database.is_postgres_url(like):
                location = request.getfixturevalue("postgres_cluster").create_database()
            else:
                location = str(tmp_path / f"reference-{number}.db")
            with monkeypatch.context() as patch:
                patch.setattr(database, "MIGRATIONS", MIGRATIONS[:number])
                database.connect(location).close()
            database.dispose(location)
            made[number] = describe_schema(location)[1]
        return made[number]

    return reference


def _points(location: str) -> list[str]:
    """Points inside migrations where a kill hurts most: mid-statement in the first
    migration, every step of the jobs table's rebuild (13: the table is dropped and made
    again), and just before the last migration commits."""
    if database.is_postgres_url(location):
        inside = ["migration-1-before-version", "migration-13-statement-1"]
        inside += ["migration-13-before-version", "migration-13-before-commit"]
    else:
        inside = ["migration-1-statement-3", "migration-13-statement-5"]
        inside += ["migration-13-statement-6", "migration-13-before-commit"]
    return [*inside, f"migration-{LATEST}-before-commit"]


def test_a_migration_killed_anywhere_leaves_the_old_schema_and_finishes_next_time(
    db_location, schema_after
):
    for point in _points(db_location):
        killed_in = int(point.split("-")[1])
        kill_at(point, OPEN, db_location)
        database.dispose(db_location)
        version, found = describe_schema(db_location)
        assert version == killed_in - 1, point  # the killed migration left nothing
        assert found == schema_after(version, db_location), point  # ... not even a half
        # the next point is reached by a child that first applies what is missing again
    with Store(db_location) as store:
        assert store.integrity_problems() == []
    assert describe_schema(db_location) == (LATEST, schema_after(LATEST, db_location))


def test_rows_survive_a_kill_inside_the_rebuild_of_their_table(db_location, monkeypatch):
    """Migration 13 rebuilds ``jobs`` (SQLite cannot change a CHECK in place): a kill
    after the old table is dropped must not lose the jobs."""
    with monkeypatch.context() as patch:  # a study made before migration 13
        patch.setattr(database, "MIGRATIONS", MIGRATIONS[:12])
        db = database.connect(db_location)
        db.execute(
            "INSERT INTO jobs (kind, params, status, created_at) "
            "VALUES ('train', '{}', 'done', '2026-01-01')"
        )
        db.close()
    database.dispose(db_location)
    point = (
        "migration-13-before-commit"
        if database.is_postgres_url(db_location)
        else "migration-13-statement-5"  # after DROP TABLE jobs
    )
    kill_at(point, OPEN, db_location)
    database.dispose(db_location)
    assert describe_schema(db_location)[0] == 12
    with Store(db_location) as store:
        assert [(j["id"], j["kind"], j["status"]) for j in store.jobs.list()] == [
            (1, "train", "done")
        ]
        assert store.jobs.submit("attribute", {}) == 2  # the rebuilt table, ids continuing


@pytest.mark.parametrize("point", ["backup-step", "backup-before-verify", "backup-before-rename"])
def test_a_backup_killed_anywhere_leaves_no_backup_file(db_location, tmp_path, point):
    with Store(db_location) as store:
        rater = store.raters.ensure("Dr Okafor")
        store.settings.set("note", {"rater": rater})
    target = tmp_path / "backups" / "study.db"
    if database.is_postgres_url(db_location) and point == "backup-step":
        point = "migration-1-before-version"  # the copy's own schema, being made
    kill_at(point, BACKUP, db_location, str(target))
    assert not target.exists()  # the killed backup is absent under its final name
    with Store(db_location) as store:  # ... and the next one is whole and verified
        store.backup_to(target)
    assert sorted(p.name for p in target.parent.iterdir() if "salt" not in p.name) == ["study.db"]
    with Store(target) as copy:
        assert copy.integrity_problems() == []
        assert [r["name"] for r in copy.raters.list()] == ["Dr Okafor"]


def test_a_backup_that_fails_its_check_is_not_kept(tmp_path, monkeypatch):
    import core.store.backup as backup

    monkeypatch.setattr(backup, "schema_version", lambda db: LATEST + 1)  # a wrong copy
    target = tmp_path / "study-backup.db"
    with Store(tmp_path / "study.db") as store, pytest.raises(backup.BackupFailed):
        store.backup_to(target)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("study-backup")] == []


def test_the_data_page_backup_still_returns_a_whole_database(tmp_path):
    from core.exports import database_backup

    with Store(tmp_path / "study.db") as store:
        store.raters.ensure("Dr Okafor")
        data = database_backup(store)
    copy = tmp_path / "copy.db"
    Path(copy).write_bytes(data)
    with Store(copy) as restored:
        assert [r["name"] for r in restored.raters.list()] == ["Dr Okafor"]
