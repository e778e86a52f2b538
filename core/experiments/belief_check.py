"""How well the pair server's beliefs predicted the answers that came next, with each
answer counted once (the app's rule, ``core.selection.state.learned_by``) and with the
answers the active version learned from replayed onto its scores as well (the old rule).

Beliefs that count an answer twice are overconfident about the images raters have
seen; the mean log loss of the next answers, each predicted before it is applied,
measures by how much. Both rules see the same answers in the same order."""

from __future__ import annotations

import math

from core.selection.beliefs import apply, outcome_probability
from core.selection.state import rebuilt_beliefs
from core.store import Store

RULES = {"once": False, "twice": True}  # name -> count_learned


def next_answer_log_loss(store: Store, dataset_id: int, since_id: int) -> dict:
    """The mean log loss of the standing answers after ``since_id`` under each rule,
    starting from the active version's scores and the answers up to ``since_id``."""
    model = store.models.active(dataset_id)
    new = store.judgments.effective_about(dataset_id, since_id)
    figures: dict = {"answers": len(new)}
    for name, count_learned in RULES.items():
        built = rebuilt_beliefs(store, dataset_id, model, since_id, count_learned)
        beliefs, total = built.beliefs, 0.0
        for answer in new:
            left, right = answer["left_image_id"], answer["right_image_id"]
            p = outcome_probability(beliefs[left], beliefs[right], answer["outcome"])
            total -= math.log(max(p, 1e-12))
            beliefs[left], beliefs[right] = apply(beliefs[left], beliefs[right], answer["outcome"])
        figures[f"log_loss_{name}"] = total / len(new) if new else None
    return figures
