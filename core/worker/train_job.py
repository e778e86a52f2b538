"""A training job's parameters: one dataclass, built in one place (``train_job``) for the
worker's own triggers, the Training page and ``python -m core jobs submit train``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.learning.config import TrainConfig
from core.learning.recipes import COLD_START_METHOD, FIRST_MODEL
from core.store import Store

TRAIN_DEFAULTS_KEY = "train_defaults"


@dataclass(frozen=True)
class TrainJob:
    config: TrainConfig
    dataset_id: int | None = None  # None: one model for every dataset

    def to_params(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "dataset_id": self.dataset_id}

    @classmethod
    def from_params(cls, params: dict[str, Any], store: Store) -> TrainJob:
        """The job as queued; jobs queued by earlier versions named their dataset."""
        dataset_id = params.get("dataset_id")
        if dataset_id is None and params.get("dataset"):
            dataset_id = store.datasets.by_name(params["dataset"])["id"]
        return cls(TrainConfig.from_dict(params.get("config", {})), dataset_id)


def train_defaults(store: Store) -> TrainConfig:
    """The study's training defaults (saved by a study lead), else the first-run recipe."""
    return TrainConfig.from_dict(store.settings.get(TRAIN_DEFAULTS_KEY, FIRST_MODEL.to_dict()))


def train_job(store: Store, dataset_id: int | None = None, **settings: Any) -> TrainJob:
    """A training job for ``dataset_id`` (None: every dataset): the study's training
    defaults; for a dataset without abnormal grades, the cold-start method (ConPro's
    Con step needs them); then ``settings``, named as ``TrainConfig.with_settings``
    accepts."""
    config = train_defaults(store)
    if dataset_id is not None and not has_abnormal_grades(store, dataset_id):
        config = config.with_settings(method=COLD_START_METHOD)
    return TrainJob(config.with_settings(**settings), dataset_id)


def has_abnormal_grades(store: Store, dataset_id: int) -> bool:
    grades = store.images.grade_counts(dataset_id, split="train")
    return any(n for g, n in grades.items() if g and g > 0)
