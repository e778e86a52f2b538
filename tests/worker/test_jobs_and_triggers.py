import itertools
import threading

from core.store import Answer, Store
from core.worker.activation import should_activate, validation_score
from core.worker.autoretrain import maybe_queue_first_models, maybe_queue_retrains
from core.worker.handlers import Reporter
from tests.worker.conftest import add_judgments


def test_two_workers_never_claim_the_same_job(tmp_path):
    path = tmp_path / "app.db"
    with Store(path) as store:
        for n in range(40):
            store.jobs.submit("embed", {"n": n})
    claimed = {0: [], 1: []}

    def claim_all(worker):
        with Store(path) as own:
            while (job := own.jobs.claim(f"worker-{worker}")) is not None:
                claimed[worker].append(job["id"])

    threads = [threading.Thread(target=claim_all, args=(w,)) for w in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed[0] + claimed[1]) == list(range(1, 41))
    assert not set(claimed[0]) & set(claimed[1])
    with Store(path) as store:
        assert {j["status"] for j in store.jobs.list(limit=100)} == {"running"}


def test_reporter_writes_heartbeat_progress_and_eta(store):
    job_id = store.jobs.submit("train")
    store.jobs.claim("w")
    report = Reporter(store, job_id, every_seconds=0)
    assert report(0.25, "training: con", "step 5/20") is False
    job = store.jobs.get(job_id)
    assert job["progress"] == 0.25 and job["phase"] == "training: con"
    assert job["message"].startswith("step 5/20 · about") and job["heartbeat_at"]


def test_cancel_is_immediate_when_queued_and_signalled_when_running(store):
    queued = store.jobs.submit("project")
    store.jobs.request_cancel(queued)
    assert store.jobs.get(queued)["status"] == "cancelled"
    running = store.jobs.submit("project")
    store.jobs.claim("w")
    store.jobs.request_cancel(running)
    assert store.jobs.get(running)["status"] == "running"
    assert Reporter(store, running, every_seconds=0)(0.5, "projecting") is True


def test_retrain_trigger_queues_exactly_one_job(cohort_db):
    with Store(cohort_db) as first, Store(cohort_db) as second:
        first.settings.set("auto_retrain_every", 5)
        add_judgments(first, 4)
        assert maybe_queue_retrains(first) == []  # 4 < 5
        add_judgments(first, 6, rater="Dr Lind")
        jobs = maybe_queue_retrains(first)
        assert len(jobs) == 1
        assert maybe_queue_retrains(second) == jobs  # another worker, same trigger
        assert maybe_queue_retrains(first) == jobs
        (queued,) = first.jobs.list(statuses=("queued",))
        assert queued["params"]["dataset"] == "Synthetic cohort"  # that dataset's model


def test_skipped_and_undone_answers_do_not_count_towards_a_retrain(cohort_db):
    from core.store import Answer

    with Store(cohort_db) as store:
        store.settings.set("auto_retrain_every", 2)
        rater = store.raters.ensure("Dr Skip")
        a, b, c = store.images.ids()[:3]
        store.judgments.append(Answer(a, b, "skip", rater))
        store.judgments.append(Answer(a, c, "left", rater))
        store.judgments.undo_last(rater)
        assert maybe_queue_retrains(store) == []


def test_a_first_model_is_queued_once_for_each_dataset(cohort_db, store):
    assert maybe_queue_first_models(store) == []  # empty store: nothing to learn from
    with Store(cohort_db) as cohort:
        (job,) = maybe_queue_first_models(cohort)
        assert maybe_queue_first_models(cohort) == [job]  # the same trigger: no second job
        ungraded = cohort.datasets.ensure("Ungraded clinic")
        assert maybe_queue_first_models(cohort) == [job]  # no images: nothing to learn
        assert cohort.jobs.get(job)["params"]["dataset"] == "Synthetic cohort"
        assert cohort.datasets.by_name("Ungraded clinic")["id"] == ungraded


def test_judgments_about_one_dataset_retrain_only_its_model(cohort_db):
    from core.demo import import_cohort
    from core.synthetic import CohortConfig

    with Store(cohort_db) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=32, seed=9), "Second clinic")
        second = store.datasets.by_name("Second clinic")["id"]
        store.settings.set("auto_retrain_every", 5)
        rater = store.raters.ensure("Dr Lind")
        ids = store.images.ids(dataset_id=second)
        for a, b in itertools.pairwise(ids[:7]):
            store.judgments.append(Answer(a, b, "left", rater))
        assert store.judgments.count_effective_since(0, second) == 6
        assert store.judgments.count_effective_since(0, second - 1) == 0
        (job,) = maybe_queue_retrains(store)
        assert store.jobs.get(job)["params"]["dataset"] == "Second clinic"


def test_activation_rule_uses_the_validation_figures():
    active = {"val_macro_f1": 0.40, "val_tau": 0.30, "macro_f1": 0.9}
    assert validation_score(active) == 0.35  # test-split figures are not used
    assert should_activate({"val_macro_f1": 0.41, "val_tau": 0.30}, active)
    assert should_activate({"val_macro_f1": 0.40, "val_tau": 0.30}, active)  # not worse
    assert not should_activate({"val_macro_f1": 0.50, "val_tau": 0.10}, active)
    assert not should_activate(
        {"val_macro_f1": 0.5, "val_tau": 0.5, "val_judgment_agreement": 0.0}, active
    )
    assert should_activate({"val_macro_f1": 0.1}, None)  # nothing active yet


def test_import_jobs_run_off_the_ui_thread_and_report_per_file(tmp_path, make_png):
    from tests.helpers import run_worker_until_idle

    make_png(tmp_path / "import" / "in" / "a.png", seed=1)  # the import root beside the db
    (tmp_path / "import" / "in" / "broken.png").write_bytes(b"")
    make_png(tmp_path / "elsewhere" / "b.png", seed=2)
    db = tmp_path / "app.db"
    with Store(db) as store:
        job = store.jobs.submit("import", {"src": "in", "dataset": "clinic"})
        outside = store.jobs.submit("import", {"src": str(tmp_path / "elsewhere")})
    run_worker_until_idle(db)
    with Store(db) as store:
        done = store.jobs.get(job)
        assert done["status"] == "done"
        assert done["result"]["counts"] == {"imported": 1, "duplicate": 0, "rejected": 1}
        assert done["result"]["rejected"][0]["file"] == "broken.png"
        assert store.images.count() == 1
        refused = store.jobs.get(outside)
        assert refused["status"] == "failed" and "inside the import folder" in refused["error"]
