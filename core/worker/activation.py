"""When does a newly trained version replace the active one?

Once its map exists, the new version is compared with its dataset's active version on
the same images of the fixed validation split (frozen when images were imported, never
reshuffled): both versions' severity scores, against the grades and the held-out answers,
with a 95% interval over patients (``core.learning.comparison``). A version whose whole
interval is below zero is worse beyond the luck of the validation images: it stays a
candidate, and the reason is kept in its metrics for the Training page. Where no figure
can be compared (no grades and no held-out answers), the recipe's validation score
decides (``should_activate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.learning.comparison import Answers, Comparison, compare_versions
from core.learning.recipes import validation_score
from core.store import Store

TOLERANCE = 0.0  # "not worse": equal or better
HELD_BACK = "held_back"  # the metrics key of why a version was not activated


def should_activate(candidate: dict, active: dict | None) -> bool:
    """The fallback rule: the recipe's validation score, not worse than the active's."""
    if active is None:
        return True
    new, old = validation_score(candidate), validation_score(active)
    if new is None:
        return False
    return old is None or new >= old - TOLERANCE


@dataclass(frozen=True)
class Verdict:
    activate: bool
    record: dict[str, Any] = field(default_factory=dict)  # joins the new version's metrics


def judge(store: Store, model: dict) -> Verdict:
    """Compare ``model`` with its dataset's active version and say whether it replaces it."""
    active = store.models.active(model["dataset_id"], own_only=True)
    if active is None:
        return Verdict(True)
    comparison = compare_with(store, model, active)
    if comparison is None:
        if should_activate(model["metrics"], active["metrics"]):
            return Verdict(True)
        why = (
            f"its validation score is below the active v{active['version']}'s "
            "(no grades or held-out answers to compare them image by image)"
        )
        return Verdict(False, {HELD_BACK: why})
    record: dict[str, Any] = {
        "vs_active_version": active["version"],
        "vs_active": comparison.difference,
        "vs_active_low": comparison.low,
        "vs_active_high": comparison.high,
        "vs_active_patients": comparison.patients,
        "vs_active_answers": comparison.answers,
        **{f"vs_active_{k}": v for k, v in comparison.figures.items()},
    }
    if comparison.worse:
        record[HELD_BACK] = (
            f"worse than the active v{active['version']} on the same validation images: "
            f"score {comparison.describe()} (new minus active, 95% interval over "
            f"{comparison.patients} patients)"
        )
    return Verdict(not comparison.worse, record)


def compare_with(store: Store, model: dict, active: dict) -> Comparison | None:
    """Both versions' scores on the validation images both have scored."""
    new = store.embeddings.severity_scores(model["id"])
    old = store.embeddings.severity_scores(active["id"])
    rows = [
        r
        for r in store.images.query(dataset_id=model["dataset_id"], split="val")
        if r["id"] in new and r["id"] in old
    ]
    if not rows:
        return None
    position = {r["id"]: k for k, r in enumerate(rows)}
    dataset_id = model["dataset_id"]
    standing = (
        store.judgments.effective_about(dataset_id)
        if dataset_id is not None
        else store.judgments.effective()
    )
    held_out = [
        j
        for j in standing
        if j["outcome"] in ("left", "right")
        and j["left_image_id"] in position
        and j["right_image_id"] in position
    ]
    answers = Answers(
        left=np.array([position[j["left_image_id"]] for j in held_out], dtype=int),
        right=np.array([position[j["right_image_id"]] for j in held_out], dtype=int),
        left_more_severe=np.array([j["outcome"] == "left" for j in held_out], dtype=bool),
    )
    return compare_versions(
        new=np.array([new[r["id"]][0] for r in rows]),
        active=np.array([old[r["id"]][0] for r in rows]),
        grades=np.array([-1 if r["grade"] is None else r["grade"] for r in rows]),
        # a patient is the unit; an image without one is its own (negative: no clash)
        units=np.array([r["patient_id"] or -r["id"] for r in rows]),
        answers=answers,
    )
