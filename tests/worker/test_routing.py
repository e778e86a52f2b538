"""Several workers on one database: job kinds routed to the worker that takes them (a
GPU machine trains, the app's machine embeds and projects), and training on several
processes through torch.distributed.run."""

import socket
import threading

from core.store import Store
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import train_params

LIGHT = ("embed", "project", "import")


def test_a_training_worker_and_a_light_worker_share_the_queue(cohort_db):
    with Store(cohort_db) as store:
        train = store.jobs.submit("train", train_params())

    run_worker_until_idle(cohort_db, kinds=LIGHT)  # the app's worker leaves training alone
    with Store(cohort_db) as store:
        assert store.jobs.get(train)["status"] == "queued"

    run_worker_until_idle(cohort_db, kinds=("train",))  # the GPU machine's worker
    with Store(cohort_db) as store:
        assert store.jobs.get(train)["status"] == "done"
        assert [j["kind"] for j in store.jobs.list(statuses=("queued",))] == ["embed"]
        trainer = store.jobs.get(train)["worker_id"]
        assert trainer.split(":")[0] == socket.gethostname()  # which machine held it

    run_worker_until_idle(cohort_db, kinds=LIGHT)
    with Store(cohort_db) as store:
        assert {j["kind"]: j["status"] for j in store.jobs.list()} == {
            "train": "done",
            "embed": "done",
            "project": "done",
            "attribute": "queued",  # for a worker that takes attribution maps
        }
        assert store.models.newest()["chain"] == "ready"


def test_concurrent_claims_take_each_job_once(cohort_db):
    with Store(cohort_db) as store:
        submitted = {store.jobs.submit("embed", {"model_id": n}) for n in range(40)}
    taken: list[int] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        with Store(cohort_db) as store:
            while (job := store.jobs.claim(worker, ("embed",))) is not None:
                with lock:
                    taken.append(job["id"])

    threads = [threading.Thread(target=claim_all, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(submitted)  # every job once, none twice


def test_a_worker_trains_on_two_processes_and_the_chain_goes_on(tmp_path):
    from core.demo import import_cohort
    from core.synthetic import CohortConfig

    db = tmp_path / "app.db"
    with Store(db) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=16))
        train = store.jobs.submit("train", train_params(method="simclr"))

    run_worker_until_idle(db, nproc=2)  # gloo processes on this CPU

    with Store(db) as store:
        assert store.jobs.get(train)["status"] == "done", store.jobs.get(train)["error"]
        (model,) = store.models.list()
        assert model["job_id"] == train and model["chain"] == "ready"
        assert store.jobs.losses(train)  # rank 0 reported the job's loss curve
        assert [p.name for p in (tmp_path / "media" / "models").iterdir()] == ["model-v1.pt"]


def test_a_stopping_worker_stops_its_training_processes_and_requeues(tmp_path, monkeypatch):
    """The launcher is replaced by a process that would train for a minute."""
    import subprocess
    import sys
    import time

    import pytest

    from core.learning import distributed
    from core.worker.handlers import JobContext, Reporter, WorkerStopping, handle_train

    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(command, *args, **kwargs):
        process = real_popen(command, *args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(
        distributed, "launcher", lambda n: [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    with Store(tmp_path / "app.db") as store:
        job = store.jobs.get(store.jobs.submit("train", train_params()))
        report = Reporter(store, job["id"], stopping=lambda: bool(started))
        context = JobContext("cpu", str(tmp_path), "x", nproc=2)
        begun = time.monotonic()
        with pytest.raises(WorkerStopping):
            handle_train(store, job, report, context)
    assert time.monotonic() - begun < 30
    assert started and started[0].poll() is not None  # the launcher was stopped
