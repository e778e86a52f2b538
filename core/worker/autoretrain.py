"""Queue training without anyone asking: a first model for each dataset, and a retrain
of a dataset's model after every N new standing judgments about its images. Each
trigger has a key, so a trigger can queue at most one job however many workers look
at it.

One model per dataset: trained on the two demo datasets together, one model orders each
worse than a model of its own (docs/benchmarks.md, "The first model"), and their grades
mean different things."""

from __future__ import annotations

from core.learning.config import TrainConfig
from core.store import Store

from .status import retrain_blocker

RETRAIN_EVERY_KEY = "auto_retrain_every"
DEFAULT_RETRAIN_EVERY = 50
# CPU-sized ConPro: content on the latent map within minutes on two cores. 2 passes a
# phase is wave 1's training exactly (its 4 passes were split over the two phases), whose
# first map took 182 s (docs/benchmarks.md); the fair benchmark's 8 would take 4 times as long.
FIRST_MODEL = TrainConfig(method="conpro", image_size=32, epochs=2.0)


def retrain_every(store: Store) -> int:
    return int(store.settings.get(RETRAIN_EVERY_KEY, DEFAULT_RETRAIN_EVERY) or 0)


def default_train_params(store: Store, dataset: str | None = None) -> dict:
    config = store.settings.get("train_defaults", FIRST_MODEL.to_dict())
    return {"config": config, "dataset": dataset}


def learnable(store: Store, dataset_id: int) -> bool:
    """Severity can be learned: normal (grade 0) and abnormal (grade > 0) training
    images, and validation images to choose between versions."""
    grades = store.images.grade_counts(dataset_id, split="train")
    return (
        bool(grades.get(0))
        and any(n for g, n in grades.items() if g and g > 0)
        and store.images.count(dataset_id=dataset_id, split="val") > 0
    )


def maybe_queue_first_models(store: Store) -> list[int]:
    """A first model for every dataset that can learn severity and that no version
    serves yet (a version of its own, or one trained on every dataset)."""
    queued = []
    for dataset in store.datasets.list():
        if store.models.newest(dataset["id"]) is None and learnable(store, dataset["id"]):
            queued.append(
                store.jobs.submit(
                    "train",
                    default_train_params(store, dataset["name"]),
                    trigger_key=f"first-model:dataset-{dataset['id']}",
                )
            )
    return queued


def maybe_queue_retrains(store: Store) -> list[int]:
    """A retrain of each dataset's model once ``retrain_every`` standing judgments about
    its images arrived after the newest version serving it was trained."""
    every = retrain_every(store)
    if every <= 0:
        return []
    queued = []
    for dataset in store.datasets.list():
        if retrain_blocker(store, dataset["id"]):
            continue  # the Training page and `jobs list` show the blocker's reason
        snapshot = store.models.latest_snapshot(dataset["id"])
        if store.judgments.count_effective_since(snapshot, dataset["id"]) < every:
            continue
        queued.append(
            store.jobs.submit(
                "train",
                default_train_params(store, dataset["name"]),
                trigger_key=f"auto-retrain:dataset-{dataset['id']}:after-judgment-{snapshot}",
            )
        )
    return queued
