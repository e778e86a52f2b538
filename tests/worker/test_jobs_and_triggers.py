import itertools
import threading

from core.learning.recipes import validation_score
from core.store import Answer, Store
from core.worker.activation import should_activate
from core.worker.autoretrain import maybe_queue_first_models, maybe_queue_retrains
from core.worker.handlers import Reporter
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import TINY, add_judgments


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


def test_a_trained_versions_map_goes_before_the_next_training(db_location):
    with Store(db_location) as store:
        first, second = store.jobs.submit("train"), store.jobs.submit("train")
        assert store.jobs.claim("w")["id"] == first
        embed = store.jobs.submit("embed")  # queued by the first training, after the second
        imported = store.jobs.submit("import")
        assert [store.jobs.claim("w")["id"] for _ in range(3)] == [embed, imported, second]


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


def _a_version_of_each_dataset(store):
    """Retraining is for datasets that have a model (the first comes by its own rule)."""
    for dataset in store.datasets.list():
        store.models.create("conpro", {}, dataset_id=dataset["id"])


def test_retrain_trigger_queues_exactly_one_job(cohort_db):
    with Store(cohort_db) as first, Store(cohort_db) as second:
        _a_version_of_each_dataset(first)
        first.settings.set("auto_retrain_every", 5)
        add_judgments(first, 4)
        assert maybe_queue_retrains(first) == []  # 4 < 5
        add_judgments(first, 6, rater="Dr Lind")
        jobs = maybe_queue_retrains(first)
        assert len(jobs) == 1
        assert maybe_queue_retrains(second) == jobs  # another worker, same trigger
        assert maybe_queue_retrains(first) == jobs
        (queued,) = first.jobs.list(statuses=("queued",))
        cohort = first.datasets.by_name("Synthetic cohort")["id"]
        assert queued["params"]["dataset_id"] == cohort  # that dataset's model


def test_skipped_and_undone_answers_do_not_count_towards_a_retrain(cohort_db):
    from core.store import Answer

    with Store(cohort_db) as store:
        _a_version_of_each_dataset(store)
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
        graded = cohort.datasets.by_name("Synthetic cohort")["id"]
        assert cohort.jobs.get(job)["params"]["dataset_id"] == graded
        assert cohort.datasets.by_name("Ungraded clinic")["id"] == ungraded


def test_judgments_about_one_dataset_retrain_only_its_model(cohort_db):
    from core.demo import import_cohort
    from core.synthetic import CohortConfig

    with Store(cohort_db) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=32, seed=9), "Second clinic")
        second = store.datasets.by_name("Second clinic")["id"]
        _a_version_of_each_dataset(store)
        store.settings.set("auto_retrain_every", 5)
        rater = store.raters.ensure("Dr Lind")
        ids = store.images.ids(dataset_id=second)
        for a, b in itertools.pairwise(ids[:7]):
            store.judgments.append(Answer(a, b, "left", rater))
        assert store.judgments.count_effective_since(0, second) == 6
        assert store.judgments.count_effective_since(0, second - 1) == 0
        (job,) = maybe_queue_retrains(store)
        assert store.jobs.get(job)["params"]["dataset_id"] == second


def test_a_dataset_without_grades_trains_once_it_has_normals_and_answers(tmp_path, make_png):
    from core.importers import import_folder
    from core.worker.autoretrain import COLD_START_ANSWERS, cold_start_needs

    folder = tmp_path / "clinic"
    for n in range(40):
        make_png(folder / f"p{n}.png", seed=n)
    with Store(tmp_path / "app.db") as store:
        import_folder(store, folder, "My clinic")
        dataset = store.datasets.by_name("My clinic")["id"]
        train = store.images.ids(dataset_id=dataset, split="train")
        assert cold_start_needs(store, dataset) == {
            "normals": 5,
            "answers": COLD_START_ANSWERS,
            "validation images": 0,
        }
        assert store.images.mark_normal(train[:6]) == 6
        assert store.images.mark_normal(train[:6]) == 0  # a grade once given is kept
        rater = store.raters.ensure("Dr Lind")
        pairs = itertools.combinations(train, 2)
        for a, b in itertools.islice(pairs, COLD_START_ANSWERS - 1):
            store.judgments.append(Answer(a, b, "left", rater))
        assert cold_start_needs(store, dataset)["answers"] == 1
        assert maybe_queue_first_models(store) == []
        a, b = next(pairs)
        store.judgments.append(Answer(a, b, "left", rater))
        store.settings.set("train_defaults", TINY.to_dict())
        (job,) = maybe_queue_first_models(store)
        params = store.jobs.get(job)["params"]
        assert params["dataset_id"] == dataset and params["config"]["method"] == "selfpro"
    run_worker_until_idle(tmp_path / "app.db")  # the whole chain, without a single grade
    with Store(tmp_path / "app.db") as store:
        model = store.models.active(dataset)
        assert model["method"] == "selfpro" and model["chain"] == "ready"
        assert model["metrics"]["n_judgments_trained_on"] > 0
        assert len(store.embeddings.severity_scores(model["id"])) == 40


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


def test_import_jobs_run_off_the_ui_thread_and_report_per_file(
    db_location, tmp_path, make_png, monkeypatch
):
    from tests.helpers import run_worker_until_idle

    monkeypatch.delenv("SEVERITY_IMPORT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)  # a root derived from a PostgreSQL URL would land here
    # the import root beside the media folder: beside the SQLite file, or $SEVERITY_MEDIA
    make_png(tmp_path / "import" / "in" / "a.png", seed=1)
    (tmp_path / "import" / "in" / "broken.png").write_bytes(b"")
    make_png(tmp_path / "elsewhere" / "b.png", seed=2)
    db = db_location
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


def test_a_training_job_is_built_from_the_studys_defaults_and_read_back(cohort_db):
    from core.worker.train_job import TrainJob, train_job

    with Store(cohort_db) as store:
        cohort = store.datasets.by_name("Synthetic cohort")["id"]
        store.settings.set("train_defaults", TINY.to_dict())

        job = train_job(store, cohort, epochs=3.0, **{"comcl.patch_weight": 0.5})

        assert job.config.batch_size == TINY.batch_size  # the study's defaults, not the recipe
        assert job.config.epochs == 3.0 and job.config.comcl.patch_weight == 0.5
        assert TrainJob.from_params(job.to_params(), store) == job
        # a job queued by an earlier version named its dataset and kept flat settings
        old = {
            "config": {"method": "comcl", "comcl_patch_weight": 0.0},
            "dataset": "Synthetic cohort",
        }
        read = TrainJob.from_params(old, store)
        assert read.dataset_id == cohort and read.config.comcl.patch_weight == 0.0
