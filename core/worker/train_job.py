"""A training job's parameters: one dataclass, built in one place (``train_job``) for the
worker's own triggers, the Training page and ``python -m core jobs submit train``.

A job starts from scratch or warm: a warm job continues the dataset's active version of
its own (``parent_for``), for a fixed budget of preference steps; where there is none,
or it cannot be continued with the job's settings, the job trains from scratch and says
why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.learning.config import TrainConfig
from core.learning.recipes import COLD_START_METHOD, FIRST_MODEL, warm_blocker
from core.store import Store

TRAIN_DEFAULTS_KEY = "train_defaults"
STARTS = ("scratch", "warm")


@dataclass(frozen=True)
class TrainJob:
    config: TrainConfig
    dataset_id: int | None = None  # None: one model for every dataset
    start: str = "scratch"  # or "warm": continue the dataset's active version

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"a training job starts from scratch or warm, not {self.start!r}")

    def to_params(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "dataset_id": self.dataset_id,
            "start": self.start,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any], store: Store) -> TrainJob:
        """The job as queued; jobs queued by earlier versions named their dataset."""
        dataset_id = params.get("dataset_id")
        if dataset_id is None and params.get("dataset"):
            dataset_id = store.datasets.by_name(params["dataset"])["id"]
        config = TrainConfig.from_dict(params.get("config", {}))
        return cls(config, dataset_id, params.get("start", "scratch"))


def train_defaults(store: Store) -> TrainConfig:
    """The study's training defaults (saved by a study lead), else the first-run recipe."""
    return TrainConfig.from_dict(store.settings.get(TRAIN_DEFAULTS_KEY, FIRST_MODEL.to_dict()))


def train_job(
    store: Store, dataset_id: int | None = None, start: str = "scratch", **settings: Any
) -> TrainJob:
    """A training job for ``dataset_id`` (None: every dataset): the study's training
    defaults; for a dataset without abnormal grades, the cold-start method (ConPro's
    Con step needs them); then ``settings``, named as ``TrainConfig.with_settings``
    accepts."""
    config = train_defaults(store)
    if dataset_id is not None and not has_abnormal_grades(store, dataset_id):
        config = config.with_settings(method=COLD_START_METHOD)
    return TrainJob(config.with_settings(**settings), dataset_id, start)


def parent_for(store: Store, job: TrainJob) -> tuple[dict | None, str]:
    """The version a warm job continues, or None and why it trains from scratch."""
    if job.start != "warm":
        return None, "a retrain from scratch was asked for"
    if job.dataset_id is None:
        return None, "one model for every dataset is always trained from scratch"
    parent = store.models.active(job.dataset_id, own_only=True)
    if parent is None or not parent.get("checkpoint_path"):
        return None, "its dataset has no active version of its own to continue"
    from core.learning.checkpoint import check_checkpoint  # torch: only where jobs run

    checked = check_checkpoint(store.media_path(parent["checkpoint_path"]))
    if checked.state != "ok":
        return None, f"version {parent['version']} cannot be continued: {checked.detail}"
    stored = {k: v for k, v in parent["config"].items() if k != "dataset"}
    blocker = warm_blocker(TrainConfig.from_dict(stored), job.config)
    if blocker:
        return None, f"version {parent['version']} cannot be continued: {blocker}"
    return parent, f"continues version {parent['version']}"


def has_abnormal_grades(store: Store, dataset_id: int) -> bool:
    grades = store.images.grade_counts(dataset_id, split="train")
    return any(n for g, n in grades.items() if g and g > 0)
