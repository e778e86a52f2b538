"""What only PostgreSQL needs checking: its write lock, its types, and the URL."""

import numpy as np
import psycopg
import pytest

from core.store import Store, StoreBusy
from core.store.database import safe_location
from core.store.store import WRITE_LOCK


@pytest.fixture
def pg_store(postgres_cluster, tmp_path):
    url = postgres_cluster.create_database()
    with Store(url, media_root=tmp_path / "media") as store:
        yield store, url


def test_a_writer_holding_the_lock_too_long_gives_a_clear_error_and_writes_nothing(
    pg_store, monkeypatch
):
    import core.store.database as database

    store, url = pg_store
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    with psycopg.connect(url) as blocker:  # another server, mid-write
        blocker.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        with pytest.raises(StoreBusy, match="busy.*Nothing was lost"):
            store.raters.ensure("Dr Busy")
    assert store.raters.list() == []
    store.raters.ensure("Dr Busy")  # once the other writer is done, it goes through
    assert [r["name"] for r in store.raters.list()] == ["Dr Busy"]


def test_vectors_and_scores_keep_their_precision(pg_store):
    store, _ = pg_store
    dataset = store.datasets.ensure("d")
    from core.store import NewImage

    ids = [store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "val"))[0] for i in range(3)]
    model = store.models.create("conpro", {})
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    severity = np.array([0.1234567890123, 2.5, -1.0])
    store.embeddings.save(model["id"], ids, vectors, severity)
    got_ids, got_vectors, _ = store.embeddings.vectors(model["id"])
    assert got_ids == ids and np.array_equal(got_vectors, vectors)
    scores = store.embeddings.severity_scores(model["id"])
    assert scores[ids[0]][0] == 0.1234567890123  # double precision, as SQLite's REAL


def test_a_url_password_is_never_shown():
    assert (
        safe_location("postgresql://lee:s3cret@db/severity") == "postgresql://lee:***@db/severity"
    )


FORKED_RATERS = """
import multiprocessing as mp, sys
from core.store import Store

def ensure(name):
    with Store(sys.argv[1]) as child:
        return child.raters.ensure(name)

if __name__ == "__main__":
    with Store(sys.argv[1]) as parent:  # its connection goes back to the pool, idle
        parent.raters.ensure("Dr Parent")
    with mp.get_context("fork").Pool(4) as pool:
        ids = pool.map_async(ensure, [f"Dr Child {n}" for n in range(8)]).get(timeout=60)
    assert len(set(ids)) == 8, ids
"""


def test_a_forked_process_opens_its_own_connections(pg_store, tmp_path):
    """Processes forked after the parent used the database (multiprocessing, a
    benchmark's raters) must not share its sockets. Run in a fresh interpreter: forking
    pytest itself, with its threads, is no test of that."""
    import os
    import subprocess
    import sys

    from core.paths import PROJECT_ROOT

    store, url = pg_store
    script = tmp_path / "forked.py"
    script.write_text(FORKED_RATERS)
    done = subprocess.run(
        [sys.executable, str(script), url],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(store.raters.list()) == 9


def test_a_postgresql_study_backs_up_to_a_sqlite_file(pg_store, tmp_path):
    from core.store import Answer, NewImage

    store, _ = pg_store
    dataset = store.datasets.ensure("d")
    a, b = (store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "val"))[0] for i in "ab")
    rater = store.raters.ensure("Dr Lee")
    store.judgments.append(Answer(a, b, "left", rater))

    store.backup_to(tmp_path / "backup.db")

    with Store(tmp_path / "backup.db") as copy:
        assert copy.integrity_problems() == []
        assert [j["outcome"] for j in copy.judgments.effective()] == ["left"]
        assert copy.raters.name(rater) == "Dr Lee"
