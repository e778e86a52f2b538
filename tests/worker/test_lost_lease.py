"""The worker end to end when it loses its job mid-training: a real (tiny) training whose
checkpoint is written after another worker took the job over. The late worker logs the
loss and drops its result: no second version, no checkpoint, the job stays done."""

import logging
from datetime import UTC, datetime, timedelta

import core.learning.from_store as from_store
from core.store import Store
from core.store.jobs import Lease
from core.worker.runner import Worker, WorkerConfig
from tests.worker.conftest import add_judgments, train_params


def _worker(db: str) -> Worker:
    return Worker(
        WorkerConfig(
            db_path=db,
            device="cpu",
            auto_triggers=False,
            report_every_seconds=0,
            exit_when_idle=True,
        )
    )


def test_a_worker_whose_job_was_taken_over_drops_its_version(
    cohort_db, monkeypatch, tmp_path, caplog
):
    with Store(cohort_db) as store:
        add_judgments(store, 12)
        job_id = store.jobs.submit("train", train_params())
    written = from_store.save_checkpoint
    taken_over = {}

    def takeover_while_writing(path, result, metrics):
        """While A writes its checkpoint, its connection is gone long enough for B to
        recover the job, train it (here: register a version) and finish it."""
        part = written(path, result, metrics)
        with Store(cohort_db) as b:
            later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="milliseconds")
            assert b.jobs.recover_stale(later) == [job_id]
            lease = Lease.of(b.jobs.claim("worker-B", ("train",)))
            with b.jobs.holding(lease):
                model = b.models.create("conpro", {}, job_id=job_id)
                b.models.finish(model["id"], "models/model-b.pt", {})
                b.jobs.finish(job_id, "done", result={"model_id": model["id"]})
            taken_over["model_id"] = model["id"]
        return part

    monkeypatch.setattr(from_store, "save_checkpoint", takeover_while_writing)
    worker_a = _worker(cohort_db)
    worker_a.models_dir = str(tmp_path / "models")
    with Store(cohort_db) as store, caplog.at_level(logging.WARNING, "core.worker.runner"):
        job = store.jobs.claim(worker_a.worker_id)
        worker_a.execute(store, job)

    assert len(worker_a.lost_leases) == 1 and f"Job {job_id}" in worker_a.lost_leases[0]
    assert "dropped its result" in caplog.text
    with Store(cohort_db) as store:
        job = store.jobs.get(job_id)
        assert (job["status"], job["worker_id"]) == ("done", "worker-B")
        assert job["result"] == {"model_id": taken_over["model_id"]}
        assert [j["kind"] for j in store.jobs.list()] == ["train"]  # A queued no embed job
        usable = [m["id"] for m in store.models.list() if m["status"] != "failed"]
        assert usable == [taken_over["model_id"]]
    assert list((tmp_path / "models").glob("*")) == []  # neither the checkpoint nor a .part


def test_a_long_phase_without_progress_is_not_taken_over(tmp_path, monkeypatch):
    """A job whose handler reports nothing for longer than the stale limit (loading or
    embedding a large study) keeps its lease: the worker's heartbeat thread beats for it,
    so another worker's recovery, run in the middle, finds it alive."""
    import threading
    import time

    import core.worker.runner as runner

    db = str(tmp_path / "app.db")
    with Store(db) as store:
        job_id = store.jobs.submit("import", {"src": "in"})

    def silent_for_a_while(store, job, report, context):
        time.sleep(1.5)  # no report() at all: three stale limits of 0.5 s
        return {"slept": True}

    monkeypatch.setitem(runner.HANDLERS, "import", silent_for_a_while)
    worker = Worker(
        WorkerConfig(db_path=db, device="cpu", auto_triggers=False, stale_after_seconds=0.5)
    )
    recovered = []

    def other_worker_looks():
        time.sleep(1.0)
        with Store(db) as other:
            stale = datetime.now(UTC) - timedelta(seconds=0.5)
            recovered.extend(other.jobs.recover_stale(stale.isoformat(timespec="milliseconds")))

    looking = threading.Thread(target=other_worker_looks)
    with Store(db) as store:
        job = store.jobs.claim(worker.worker_id)
        looking.start()
        worker.execute(store, job)
    looking.join()
    assert recovered == []
    assert worker.lost_leases == []
    with Store(db) as store:
        done = store.jobs.get(job_id)
        assert (
            done["status"] == "done" and done["attempts"] == 1 and done["result"] == {"slept": True}
        )
