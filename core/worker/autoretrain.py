"""Queue training without anyone asking: a first model on a fresh database, and a
retrain after every N new standing judgments. Each trigger has a key, so a trigger can
queue at most one job however many workers look at it."""

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


def default_train_params(store: Store) -> dict:
    return {"config": store.settings.get("train_defaults", FIRST_MODEL.to_dict())}


def maybe_queue_first_model(store: Store) -> int | None:
    if store.models.list() or store.jobs.has_open("train"):
        return None
    grades = store.images.grade_counts()
    if not grades.get(0) or not any(n for g, n in grades.items() if g and g > 0):
        return None  # nothing to learn severity from yet
    return store.jobs.submit("train", default_train_params(store), trigger_key="first-model")


def maybe_queue_retrain(store: Store) -> int | None:
    every = retrain_every(store)
    if every <= 0 or retrain_blocker(store):
        return None  # the Training page and `jobs list` show the blocker's reason
    snapshot = store.models.latest_snapshot()
    if store.judgments.count_effective_since(snapshot) < every:
        return None
    return store.jobs.submit(
        "train", default_train_params(store), trigger_key=f"auto-retrain:after-judgment-{snapshot}"
    )
