"""Everything a model card says about a version, read from the database in one snapshot:
its row (configuration and metrics), lineage, data, the answers it could learn from and
its activations. ``card.model_card`` turns these facts into Markdown; nothing is typed in."""

from __future__ import annotations

from dataclasses import dataclass

from core.store import Store
from core.store.rows import utc_now

SPLITS = ("train", "val", "test")
# how the synthetic cohort's dataset is marked (core.demo writes it as datasets.source)
SYNTHETIC_SOURCE = "core.synthetic"
# the metrics key of why a version was held back (core.worker.activation.HELD_BACK; a
# test holds them together)
HELD_BACK = "held_back"


@dataclass(frozen=True)
class Activation:
    at: str
    replaced_by: int | None  # the version that next became active for the same data
    replaced_at: str | None


@dataclass(frozen=True)
class CardFacts:
    model: dict  # the version's row: method, config, metrics, status, kind, ...
    parent_version: int | None
    datasets: list[dict]  # name, source
    images: list[dict]  # split, grade (None: ungraded), n
    images_scored: bool  # images: those the version scored (else its data as it is now)
    answers: list[dict]  # per rater: answers, repeats, ties, both_train
    activations: list[Activation]
    trend_calls: int
    built_at: str


def gather_facts(store: Store, version: int) -> CardFacts:
    """The facts of version ``version`` (``NotFound`` when there is none)."""
    with store.snapshot():
        model = store.models.by_version(version)
        parent = store.models.get(model["parent_id"]) if model["parent_id"] else None
        scored = store.version_rows.by_split_and_grade(model["id"])
        return CardFacts(
            model=model,
            parent_version=parent["version"] if parent else None,
            datasets=store.version_rows.datasets(model["id"]) or _datasets_now(store, model),
            images=scored or _images_now(store, model["dataset_id"]),
            images_scored=bool(scored),
            answers=store.judgments.used_up_to(
                model["trained_through_judgment_id"], model["dataset_id"]
            ),
            activations=_activations(store, model),
            trend_calls=store.version_rows.count("trends", model["id"]),
            built_at=utc_now(),
        )


def is_synthetic(dataset: dict) -> bool:
    return (dataset.get("source") or "").startswith(SYNTHETIC_SOURCE)


def _datasets_now(store: Store, model: dict) -> list[dict]:
    if model["dataset_id"] is not None:
        return [store.datasets.get(model["dataset_id"])]
    return store.datasets.list()


def _images_now(store: Store, dataset_id: int | None) -> list[dict]:
    return [
        {"split": split, "grade": grade, "n": n}
        for split in SPLITS
        for grade, n in store.images.grade_counts(dataset_id, split).items()
    ]


def _activations(store: Store, model: dict) -> list[Activation]:
    """Each time the version became active, and which version replaced it after that
    (the next activation of a version serving the same data)."""
    events = store.models.activations()  # oldest first
    same_scope = [e for e in events if e["dataset_id"] == model["dataset_id"]]
    found = []
    for k, event in enumerate(same_scope):
        if event["model_id"] != model["id"]:
            continue
        following = same_scope[k + 1] if k + 1 < len(same_scope) else None
        later = following if following and following["model_id"] != model["id"] else None
        found.append(
            Activation(
                event["activated_at"],
                later["version"] if later else None,
                later["activated_at"] if later else None,
            )
        )
    return found
