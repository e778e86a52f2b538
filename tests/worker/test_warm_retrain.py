"""The worker retrains warm: it continues the dataset's active version, records its
parent, and trains from scratch on schedule, on request, or when it cannot continue."""

from core.store import Store
from core.worker.autoretrain import maybe_queue_retrains
from core.worker.train_job import train_job
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import TINY, add_judgments


def _cohort_id(store: Store) -> int:
    return store.datasets.by_name("Synthetic cohort")["id"]


def _first_version(cohort_db) -> dict:
    """The cohort's first version, trained from scratch by the worker and active."""
    with Store(cohort_db) as store:
        store.settings.set("train_defaults", TINY.to_dict())
        store.jobs.submit("train", train_job(store, _cohort_id(store)).to_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        return store.models.active(_cohort_id(store))


def test_a_warm_job_continues_the_active_version_and_names_it_as_parent(cohort_db):
    first = _first_version(cohort_db)
    with Store(cohort_db) as store:
        judged = add_judgments(store, 12)
        warm = store.jobs.submit("train", train_job(store, _cohort_id(store), "warm").to_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        second = store.models.of_job(warm)
        assert (first["kind"], first["parent_id"]) == ("scratch", None)
        assert (second["kind"], second["parent_id"]) == ("warm", first["id"])
        assert second["trained_through_judgment_id"] == judged
        assert second["chain"] == "ready"
        assert store.jobs.get(warm)["result"]["start"] == f"continues version {first['version']}"


def test_a_warm_job_without_a_version_to_continue_trains_from_scratch_and_says_why(cohort_db):
    with Store(cohort_db) as store:
        store.settings.set("train_defaults", TINY.to_dict())
        job = store.jobs.submit("train", train_job(store, _cohort_id(store), "warm").to_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        model = store.models.of_job(job)
        assert (model["kind"], model["parent_id"]) == ("scratch", None)
        assert "no active version" in store.jobs.get(job)["result"]["start"]


def test_retrains_are_warm_until_the_active_version_is_scratch_every_retrains_away(cohort_db):
    with Store(cohort_db) as store:
        dataset = _cohort_id(store)
        store.settings.set("auto_retrain_every", 5)
        store.settings.set("scratch_every", 2)
        parent = _active_version(store, dataset, None)
        starts = []
        for round_ in range(4):
            add_judgments(store, 6 * (round_ + 1), rater=f"Dr {round_}")
            (job,) = maybe_queue_retrains(store)
            start = store.jobs.get(job)["params"]["start"]
            starts.append(start)
            store.jobs.request_cancel(job)
            # the version that job would have made, activated as the worker would
            parent = _active_version(store, dataset, parent["id"] if start == "warm" else None)
        assert starts == ["warm", "warm", "scratch", "warm"]
        # a version from scratch that was not activated does not reset the count
        store.models.create("conpro", {}, dataset_id=dataset)
        assert store.models.warm_retrains_since_scratch(parent["id"]) == 1


def test_held_back_warm_retrains_count_towards_the_retrain_from_scratch(cohort_db):
    """Warm retrains that keep being held back leave the active version where it is; the
    scheduled retrain from scratch must come all the same (else early mistakes stay)."""
    with Store(cohort_db) as store:
        dataset = _cohort_id(store)
        store.settings.set("auto_retrain_every", 5)
        store.settings.set("scratch_every", 2)
        active = _active_version(store, dataset, None)
        starts = []
        for round_ in range(3):
            add_judgments(store, 6 * (round_ + 1), rater=f"Dr {round_}")
            (job,) = maybe_queue_retrains(store)
            starts.append(store.jobs.get(job)["params"]["start"])
            store.jobs.request_cancel(job)
            _held_back_version(store, dataset, active["id"])
        assert starts == ["warm", "warm", "scratch"]
        assert store.models.active(dataset, own_only=True)["id"] == active["id"]


def _held_back_version(store: Store, dataset: int, parent_id: int) -> dict:
    """A warm version that finished and was not activated (held back)."""
    through = store.judgments.high_water_mark()
    model = store.models.create(
        "conpro", {}, trained_through=through, dataset_id=dataset, parent_id=parent_id
    )
    store.models.finish(model["id"], "models/none.pt", {})
    store.models.chain_ready(model["id"])
    return model


def _active_version(store: Store, dataset: int, parent_id: int | None) -> dict:
    through = store.judgments.high_water_mark()
    model = store.models.create(
        "conpro", {}, trained_through=through, dataset_id=dataset, parent_id=parent_id
    )
    store.models.finish(model["id"], "models/none.pt", {})
    store.models.chain_ready(model["id"])
    store.models.activate(model["id"])
    return model


def test_a_warm_job_whose_parent_checkpoint_is_gone_trains_from_scratch_and_says_why(cohort_db):
    first = _first_version(cohort_db)
    with Store(cohort_db) as store:
        store.media_path(first["checkpoint_path"]).unlink()
        job = store.jobs.submit("train", train_job(store, _cohort_id(store), "warm").to_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        model = store.models.of_job(job)
        assert (model["kind"], model["parent_id"]) == ("scratch", None)
        said = store.jobs.get(job)["result"]["start"]
        assert said.startswith(f"version {first['version']} cannot be continued")
