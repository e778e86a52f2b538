"""The worker end to end on a tiny store: the chain, cancel, and kill -9 recovery."""

import os
import signal
import subprocess
import sys
import threading
import time

from core.store import Store
from core.worker.status import worker_status
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import add_judgments, train_params


def test_train_then_embed_then_project(cohort_db):
    with Store(cohort_db) as store:
        judged = add_judgments(store, 12)
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        jobs = {j["kind"]: j for j in store.jobs.list()}
        assert {k: j["status"] for k, j in jobs.items()} == {
            "train": "done",
            "embed": "done",
            "project": "done",
            "attribute": "done",
        }
        model = store.models.active()
        assert model["version"] == 1 and model["trained_through_judgment_id"] == judged
        assert store.media_path(model["checkpoint_path"]).exists()
        assert not os.path.isabs(model["checkpoint_path"])  # the database holds no machine paths
        ids, vectors, severity = store.embeddings.vectors(model["id"])
        assert len(ids) == store.images.count() and vectors.shape[1] > 0
        assert len(severity) == len(ids) and (severity >= 0).all()
        assert set(store.embeddings.available_projections(model["id"])) == {
            ("pca", 2),
            ("pca", 3),
            ("umap", 2),
            ("tsne", 2),
        }
        assert len(store.embeddings.projection(model["id"], "umap", 2)) == len(ids)
        assert store.embeddings.trends(model["id"])
        assert worker_status(store) is not None  # the heartbeat is fresh


def test_the_worker_trains_and_maps_one_model_per_dataset(cohort_db):
    from core.demo import import_cohort
    from core.synthetic import CohortConfig
    from tests.worker.conftest import TINY

    with Store(cohort_db) as store:
        import_cohort(store, CohortConfig(patients=12, image_size=32, seed=5), "Second clinic")
        store.settings.set("train_defaults", TINY.to_dict())
        datasets = {d["name"]: d["id"] for d in store.datasets.list()}
    run_worker_until_idle(cohort_db, auto_triggers=True)  # first models, by themselves
    with Store(cohort_db) as store:
        assert [j["status"] for j in store.jobs.list() if j["status"] != "done"] == []
        for name, dataset_id in datasets.items():
            model = store.models.active(dataset_id)
            assert model["dataset"] == name and model["chain"] == "ready"
            ids, _, _ = store.embeddings.vectors(model["id"])
            assert ids == sorted(store.images.ids(dataset_id=dataset_id))  # its own images
            mapped = store.embeddings.projection(model["id"], "umap", 2)
            assert {p["dataset_id"] for p in mapped} == {dataset_id}
            assert {t["later_image_id"] for t in store.embeddings.trends(model["id"])} <= set(ids)
            assert any(f"@{name}" in key for key in model["metrics"])
        assert len({m["id"] for m in store.models.list() if m["active"]}) == 2


def test_a_worse_second_model_stays_a_candidate(cohort_db, monkeypatch):
    import core.worker.handlers as handlers
    from core.worker.activation import HELD_BACK, Verdict

    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    held_back = Verdict(False, {HELD_BACK: "worse than the active v1"})
    monkeypatch.setattr(handlers, "judge", lambda store, model: held_back)
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params(seed=3))
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        versions = {m["version"]: (m["status"], m["active"]) for m in store.models.list()}
        assert versions == {1: ("active", 1), 2: ("candidate", 0)}
        assert store.models.list()[0]["metrics"][HELD_BACK] == "worse than the active v1"
        store.models.activate(store.models.list()[0]["id"])  # by hand, from the Training page
        assert store.models.active()["version"] == 2


def test_cancel_stops_a_running_training(cohort_db):
    with Store(cohort_db) as store:
        job_id = store.jobs.submit("train", train_params(pairs_per_phase=4000))
    thread = threading.Thread(target=run_worker_until_idle, args=(cohort_db,))
    thread.start()
    with Store(cohort_db) as store:
        deadline = time.monotonic() + 120
        while store.jobs.get(job_id)["progress"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        store.jobs.request_cancel(job_id)
    thread.join(timeout=120)
    with Store(cohort_db) as store:
        assert store.jobs.get(job_id)["status"] == "cancelled"
        assert [m["status"] for m in store.models.list()] == ["failed"]
        assert store.models.active() is None
        assert not any(j["kind"] == "embed" for j in store.jobs.list())


# ``python -m core`` with the worker's maps PCA only: its processes would each compile
# UMAP's numba code again (half a minute on two cores), which the recovery tests do not
# look at (test_train_then_embed_then_project checks the maps the worker makes)
PCA_MAPS_CORE = (
    "import sys; import core.worker.handlers as handlers; "
    "handlers.PROJECTIONS = (('pca', 2),); "
    "from core.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _worker_process(db, stale_after, pca_maps=False):
    """``python -m core worker`` in a process of its own, with 2 integration points per
    attribution map as in run_worker_until_idle."""
    entry = ["-c", PCA_MAPS_CORE] if pca_maps else ["-m", "core"]
    return subprocess.Popen(
        [
            sys.executable,
            *entry,
            "worker",
            "--db",
            str(db),
            "--device",
            "cpu",
            "--no-auto",
            "--exit-when-idle",
            "--stale-after",
            str(stale_after),
            "--attribution-steps",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_9_during_training_loses_nothing_and_the_job_is_requeued(cohort_db):
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)  # version 1, active
    with Store(cohort_db) as store:
        judged = add_judgments(store, 15)
        job_id = store.jobs.submit("train", train_params(pairs_per_phase=1200, seed=5))
    worker = _worker_process(cohort_db, stale_after=1)
    with Store(cohort_db) as store:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = store.jobs.get(job_id)
            if job["status"] == "running" and job["progress"] > 0:
                break
            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        killed = store.jobs.get(job_id)
        assert killed["status"] == "running" and killed["attempts"] == 1
        assert store.models.active()["version"] == 1
        assert [m["status"] for m in store.models.list()] == ["training", "active"]
    time.sleep(1.5)  # the dead worker's heartbeat goes stale
    with Store(cohort_db) as store:  # faster re-run: the same job, fewer steps
        store.db.execute(
            "UPDATE jobs SET params = ? WHERE id = ?",
            [
                '{"config": ' + __import__("json").dumps(train_params(seed=5)["config"]) + "}",
                job_id,
            ],
        )
    restarted = _worker_process(cohort_db, stale_after=1, pca_maps=True)
    assert restarted.wait(timeout=300) == 0, restarted.stderr.read().decode()
    with Store(cohort_db) as store:
        job = store.jobs.get(job_id)
        assert job["status"] == "done" and job["attempts"] == 2
        statuses = {m["version"]: m["status"] for m in store.models.list()}
        assert statuses[2] == "failed"  # the version the killed worker left half-trained
        assert statuses[3] in ("active", "candidate")
        assert store.one("SELECT COUNT(*) AS n FROM judgments")["n"] == judged
        active = store.models.active()
        assert active is not None and store.media_path(active["checkpoint_path"]).exists()


def test_a_term_signal_stops_training_at_once_and_requeues_the_job(cohort_db):
    with Store(cohort_db) as store:
        job_id = store.jobs.submit("train", train_params(pairs_per_phase=100_000))
    worker = _worker_process(cohort_db, stale_after=30)
    with Store(cohort_db) as store:
        deadline = time.monotonic() + 120
        while store.jobs.get(job_id)["progress"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0  # not after the 100,000 pairs
        job = store.jobs.get(job_id)
        assert job["status"] == "queued" and "runs again at the next start" in job["message"]
        assert [m["status"] for m in store.models.list()] == ["failed"]


def test_the_worker_yields_the_cpu_to_the_app():
    script = (
        "import os, torch; from core.worker.runner import yield_to_the_app; "
        "before = os.nice(0); threads = yield_to_the_app(10, None); "
        "print(before, os.nice(0), torch.get_num_threads(), threads)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    before, after, torch_threads, threads = (int(x) for x in output)
    assert after == min(before + 10, 19)  # niceness stops at 19
    assert torch_threads == threads == max(1, (os.cpu_count() or 2) - 1)
