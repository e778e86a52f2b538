"""PostgreSQL restarts under an open Store: it connects again by itself; a read is
repeated once, a write that met the drop raises ``DatabaseUnavailable`` and is resent
by its caller with the same request token, and is then stored once.

These run on their own throwaway server, so that restarting it cuts no other test's
connections."""

import pytest

from core.store import Answer, DatabaseUnavailable, NewImage, Store
from core.store.errors import NOT_SAVED
from devtools.postgres import PostgresMissing, throwaway_cluster


@pytest.fixture(scope="module")
def cluster():
    try:
        with throwaway_cluster() as server:
            yield server
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def pg(cluster, tmp_path):
    with Store(cluster.create_database(), media_root=tmp_path / "media") as store:
        yield store


def _answer(store: Store, token: str) -> Answer:
    dataset = store.datasets.ensure("d")
    left, right = (
        store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0] for i in range(2)
    )
    return Answer(left, right, "left", store.raters.ensure("Dr A"), request_token=token)


def _stored(store: Store, token: str) -> int:
    row = store.one_row("SELECT COUNT(*) AS n FROM judgments WHERE request_token = ?", [token])
    return int(row["n"])


def test_a_store_opened_before_a_restart_reads_and_writes_after_it(pg, cluster):
    rater = pg.raters.ensure("Dr Before")
    cluster.restart()
    assert [r["id"] for r in pg.raters.list()] == [rater]  # a read: repeated on a new one
    cluster.restart()
    pg.raters.ensure("Dr After")  # a write after the drop: its BEGIN found the dead link
    assert {r["name"] for r in pg.raters.list()} == {"Dr Before", "Dr After"}


def test_an_answer_cut_off_mid_write_is_not_retried_inside_and_is_stored_once_on_resend(
    pg, cluster, monkeypatch
):
    answer = _answer(pg, "tok-1")
    insert = pg.judgments._insert

    def restart_mid_write(*args, **kwargs):  # the server goes away inside the transaction
        cluster.restart()
        return insert(*args, **kwargs)

    monkeypatch.setattr(pg.judgments, "_insert", restart_mid_write)
    with pytest.raises(DatabaseUnavailable, match="not saved"):
        pg.judgments.append(answer)
    assert NOT_SAVED.startswith("The study database is not reachable")
    monkeypatch.setattr(pg.judgments, "_insert", insert)
    assert _stored(pg, "tok-1") == 0  # the transaction died with the connection
    first = pg.judgments.append(answer)  # the caller's resend, same token
    again = pg.judgments.append(answer)  # and a second resend changes nothing
    assert first == again and _stored(pg, "tok-1") == 1


def test_a_commit_that_landed_before_the_drop_is_not_stored_twice(pg, cluster, monkeypatch):
    answer = _answer(pg, "tok-2")
    real_commit = type(pg.db).commit

    def commit_then_drop(db):  # the COMMIT lands, and the link drops before its reply
        def commit_and_lose_the_reply():
            db._conn.exec_driver_sql("COMMIT")
            cluster.restart()
            db._conn.exec_driver_sql("SELECT 1")

        try:
            db._reconnecting(commit_and_lose_the_reply, repeatable=False)
        finally:
            db.in_transaction = False

    monkeypatch.setattr(type(pg.db), "commit", commit_then_drop)
    with pytest.raises(DatabaseUnavailable):
        pg.judgments.append(answer)
    monkeypatch.setattr(type(pg.db), "commit", real_commit)
    pg.judgments.append(answer)  # the resend finds its token: one row
    assert _stored(pg, "tok-2") == 1


def test_a_server_still_down_gives_the_named_error_and_the_store_recovers_later(pg, cluster):
    pg.raters.ensure("Dr Early")
    cluster._pg("pg_ctl", "-D", str(cluster.folder / "data"), "-m", "fast", "-w", "stop")
    try:
        with pytest.raises(DatabaseUnavailable, match="not reachable"):
            pg.raters.list()
        with pytest.raises(DatabaseUnavailable, match="not reachable"):
            pg.raters.ensure("Dr Late")
    finally:
        cluster._pg(
            "pg_ctl", "-D", str(cluster.folder / "data"), "-o",
            f"-h 127.0.0.1 -p {cluster.port} -k {cluster.folder}",
            "-l", str(cluster.folder / "log"), "-w", "start",
        )  # fmt: skip
    pg.raters.ensure("Dr Late")
    assert {r["name"] for r in pg.raters.list()} == {"Dr Early", "Dr Late"}
