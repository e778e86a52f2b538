"""Queue training without anyone asking: a first model for each dataset, and a retrain
of a dataset's model after every N new standing judgments about its images: warm (it
continues the dataset's active version for a fixed budget), and from scratch after
``scratch_every`` warm versions in a row. Each trigger has a key, so a trigger can
queue at most one job however many workers look at it.

One model per dataset: trained on the two demo datasets together, one model orders each
worse than a model of its own (docs/benchmarks.md, "The first model"), and their grades
mean different things."""

from __future__ import annotations

from core.learning.recipes import SCRATCH_EVERY, SCRATCH_EVERY_KEY
from core.store import Store

from .status import retrain_blocker
from .train_job import has_abnormal_grades, train_job

RETRAIN_EVERY_KEY = "auto_retrain_every"
DEFAULT_RETRAIN_EVERY = 50


def retrain_every(store: Store) -> int:
    return int(store.settings.get(RETRAIN_EVERY_KEY, DEFAULT_RETRAIN_EVERY) or 0)


# a dataset without grades (cold start) trains its first model once it has this many
# training images marked normal (the anchor) and this many answers about two of its
# training images
COLD_START_NORMALS = 5
COLD_START_ANSWERS = 50


def learnable(store: Store, dataset_id: int) -> bool:
    """Severity can be learned: normal (grade 0) and abnormal (grade > 0) training
    images, and validation images to choose between versions."""
    grades = store.images.grade_counts(dataset_id, split="train")
    return (
        bool(grades.get(0))
        and has_abnormal_grades(store, dataset_id)
        and store.images.count(dataset_id=dataset_id, split="val") > 0
    )


def cold_start_needs(store: Store, dataset_id: int) -> dict[str, int] | None:
    """What a dataset without grades still needs before its first model can train
    (``{"normals": n, "answers": m}``, zeros when ready); None for a graded dataset."""
    if has_abnormal_grades(store, dataset_id):
        return None
    normals = store.images.grade_counts(dataset_id, split="train").get(0, 0)
    # answers the model can learn from: both images in the training split
    answers = store.judgments.count_effective_since(0, dataset_id, both_in_split="train")
    return {
        "normals": max(0, COLD_START_NORMALS - normals),
        "answers": max(0, COLD_START_ANSWERS - answers),
        "validation images": int(store.images.count(dataset_id=dataset_id, split="val") == 0),
    }


def maybe_queue_first_models(store: Store) -> list[int]:
    """A first model for every dataset that can learn severity (from its grades, or,
    without grades, from a few normals and enough answers) and that no version serves
    yet (a version of its own, or one trained on every dataset)."""
    queued = []
    for dataset in store.datasets.list():
        if store.models.newest(dataset["id"]) is not None:
            continue
        needs = cold_start_needs(store, dataset["id"])
        ready = learnable(store, dataset["id"]) if needs is None else not any(needs.values())
        if ready:
            queued.append(_queue_training(store, dataset, "first-model"))
    return queued


def maybe_queue_retrains(store: Store) -> list[int]:
    """A retrain of each dataset's model once ``retrain_every`` standing judgments about
    its images arrived after the newest version serving it was trained."""
    every = retrain_every(store)
    if every <= 0:
        return []
    queued = []
    for dataset in store.datasets.list():
        if store.models.newest(dataset["id"]) is None:
            continue  # its first model comes from maybe_queue_first_models
        if retrain_blocker(store, dataset["id"]):
            continue  # the Training page and `jobs list` show the blocker's reason
        snapshot = store.models.latest_snapshot(dataset["id"])
        if store.judgments.count_effective_since(snapshot, dataset["id"]) < every:
            continue
        trigger = f"auto-retrain:after-judgment-{snapshot}"
        queued.append(_queue_training(store, dataset, trigger, retrain_start(store, dataset["id"])))
    return queued


def _queue_training(store: Store, dataset: dict, trigger: str, start: str = "scratch") -> int:
    """One training job for ``dataset``, at most once per trigger."""
    return store.jobs.submit(
        "train",
        train_job(store, dataset["id"], start).to_params(),
        trigger_key=f"{trigger}:dataset-{dataset['id']}",
    )


def scratch_every(store: Store) -> int:
    return int(store.settings.get(SCRATCH_EVERY_KEY, SCRATCH_EVERY) or 0)


def retrain_start(store: Store, dataset_id: int) -> str:
    """Warm, unless ``scratch_every`` warm retrains (activated or held back) have run
    since the active version's ancestor trained from scratch (0: never)."""
    every, active = scratch_every(store), store.models.active(dataset_id, own_only=True)
    if not every or active is None:
        return "warm"
    due = store.models.warm_retrains_since_scratch(active["id"]) >= every
    return "scratch" if due else "warm"
