"""Lease fencing: a worker whose heartbeat went stale, and whose job another worker took,
cannot register a version, rename a checkpoint, heartbeat or finish that job afterwards.

Each test plays the fault out on SQLite and on PostgreSQL: worker A claims, goes silent
(its heartbeat is older than the stale limit), ``recover_stale`` re-queues the job,
worker B claims and finishes it, then A comes back."""

from datetime import UTC, datetime, timedelta

import pytest

from core.store import LeaseLost, Store
from core.store.jobs import TAKEN_OVER, Lease


def _silence_and_recover(store: Store) -> list[int]:
    """Every running job's heartbeat is now stale: what a worker sees a while after
    another worker lost its connection."""
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="milliseconds")
    return store.jobs.recover_stale(later, max_attempts=3)


def _take_over(store: Store, job_id: int) -> tuple[Lease, dict]:
    """Worker B: recovers the silent job, claims it, trains and finishes it."""
    assert _silence_and_recover(store) == [job_id]
    job = store.jobs.claim("worker-B")
    assert job is not None and job["id"] == job_id and job["attempts"] == 2
    lease = Lease.of(job)
    with store.jobs.holding(lease):
        model = store.models.create("conpro", {}, job_id=job_id)
        store.jobs.report(job_id, progress=0.5, phase="training")
        store.models.finish(model["id"], "models/model-b.pt", {"val_tau": 0.5})
        store.jobs.finish(job_id, "done", result={"model_id": model["id"]})
    return lease, model


def test_a_worker_that_lost_its_lease_registers_nothing(db_location):
    with Store(db_location) as a, Store(db_location) as b:
        job_id = a.jobs.submit("train", {})
        claimed = a.jobs.claim("worker-A")
        lease_a = Lease.of(claimed)
        assert lease_a == Lease(job_id, 1, "worker-A")
        with a.jobs.holding(lease_a):
            started = a.models.create("conpro", {}, job_id=job_id)  # A registers, then goes silent
        _, model_b = _take_over(b, job_id)

        with a.jobs.holding(lease_a):  # A is back, still believing it holds the job
            for late_write in (
                lambda: a.models.create("conpro", {}, job_id=job_id),
                lambda: a.models.finish(started["id"], "models/model-a.pt", {}),
                lambda: a.models.activate(model_b["id"]),
                lambda: a.jobs.report(job_id, progress=0.9, phase="training"),
                lambda: a.jobs.add_losses(job_id, [("pref", 1, 0.1)]),
                lambda: a.jobs.finish(job_id, "done", result={"model_id": started["id"]}),
                lambda: a.jobs.finish(job_id, "failed", error="A's own failure"),
                lambda: a.models.fail_unfinished_of_job(job_id, "A gives up"),
                lambda: a.jobs.submit("embed", {"model_id": started["id"]}),
            ):
                with pytest.raises(LeaseLost, match=f"Job {job_id} is no longer held"):
                    late_write()

        job = b.jobs.get(job_id)
        assert (job["status"], job["worker_id"], job["attempts"]) == ("done", "worker-B", 2)
        assert job["result"] == {"model_id": model_b["id"]} and job["error"] is None
        assert [j["id"] for j in b.jobs.list()] == [job_id]
        usable = [m for m in b.models.list() if m["status"] != "failed"]
        assert [(m["id"], m["status"]) for m in usable] == [(model_b["id"], "candidate")]
        assert b.models.get(started["id"])["status"] == "failed"  # A's, failed by recovery
        assert b.models.get(started["id"])["checkpoint_path"] is None
        assert b.jobs.losses(job_id) == []


def test_the_lease_holder_writes_and_a_store_without_a_lease_is_not_fenced(db_location):
    with Store(db_location) as store:
        job_id = store.jobs.submit("train", {})
        lease = Lease.of(store.jobs.claim("worker-A"))
        with store.jobs.holding(lease):
            model = store.models.create("conpro", {}, job_id=job_id)
            assert store.jobs.report(job_id, progress=0.5) is False
            store.models.finish(model["id"], "models/m.pt", {})
            store.jobs.finish(job_id, "done")
        assert store.jobs.lease is None  # the block ended: nothing is fenced any more
        store.models.create("conpro", {})  # the CLI and the app hold no lease
        assert store.jobs.get(job_id)["status"] == "done"


def test_a_requeued_job_reclaimed_by_the_same_worker_is_a_new_lease(db_location):
    """A worker that reclaims its own job after a takeover holds the new attempt only."""
    with Store(db_location) as store:
        job_id = store.jobs.submit("embed", {})
        first = Lease.of(store.jobs.claim("worker-A"))
        _silence_and_recover(store)
        second = Lease.of(store.jobs.claim("worker-A"))
        assert (first.attempt, second.attempt) == (1, 2)
        with store.jobs.holding(first), pytest.raises(LeaseLost):
            store.jobs.finish(job_id, "done")
        with store.jobs.holding(second):
            store.jobs.finish(job_id, "done")
        assert store.jobs.get(job_id)["status"] == "done"


def test_recovery_names_the_worker_that_went_silent(db_location):
    with Store(db_location) as store:
        job_id = store.jobs.submit("train", {})
        store.jobs.claim("gpu-box:4242:abc")
        _silence_and_recover(store)
        message = store.jobs.get(job_id)["message"]
        assert message.startswith(TAKEN_OVER) and "gpu-box:4242:abc" in message
