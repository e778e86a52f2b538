"""The stored beliefs of a dataset: built from the active version's scores and the
standing answers that version did not learn from, kept up to date by replaying new
answers, rebuilt when another version becomes active.

Each answer counts once. The active version's scores already carry the answers it was
trained on (those up to its ``trained_through_judgment_id`` about two training images);
replaying them onto its scores as well would count them twice and make the beliefs
overconfident about exactly the images raters have looked at. Those answers still count
as views (an image answered before is not served as new).

An undone or corrected answer stays in the beliefs until the next rebuild: they steer
which pair comes next, nothing more, and the model is trained from the judgments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.store import Store

from .base import BeliefLookup
from .beliefs import PRIOR_SD, Belief, apply, prior_from_scores


def _row(
    dataset_id: int, model_id: int | None, image_id: int, belief: Belief, views: int, through: int
) -> dict:
    return {
        "image_id": image_id,
        "dataset_id": dataset_id,
        "model_id": model_id,
        "mu": belief.mu,
        "sigma": belief.sigma,
        "views": views,
        "through_judgment_id": through,
    }


def learned_by(store: Store, model: dict | None, dataset_id: int) -> Callable[[dict], bool]:
    """Whether ``model``'s training used an answer: given by its high-water mark, about
    two of the dataset's training images, and the version trained on answers at all."""
    if model is None or not (model.get("metrics") or {}).get("n_judgments_trained_on"):
        return lambda answer: False
    through = model["trained_through_judgment_id"] or 0
    train = set(store.images.ids(dataset_id=dataset_id, split="train"))
    return lambda answer: (
        answer["id"] <= through
        and answer["left_image_id"] in train
        and answer["right_image_id"] in train
    )


@dataclass
class Rebuilt:
    """A dataset's beliefs rebuilt from the log, before they are stored."""

    beliefs: dict[int, Belief]
    views: dict[int, int]
    through: dict[int, int]  # image -> the last answer about it
    replayed: int  # answers applied to the beliefs
    last: int  # the newest answer read (0 without any)


def rebuilt_beliefs(
    store: Store,
    dataset_id: int,
    model: dict | None,
    upto_id: int | None = None,
    count_learned: bool = False,
) -> Rebuilt:
    """The beliefs ``model``'s scores (if any) and the standing answers up to ``upto_id``
    give: those the version learned from are views only, unless ``count_learned`` (the
    old rule, counting them twice; kept to measure the difference)."""
    ids = store.images.ids(dataset_id=dataset_id)
    scores = store.embeddings.severity_scores(model["id"]) if model else {}
    scored = [i for i in ids if i in scores]
    mu, sigma = prior_from_scores(
        np.array([scores[i][0] for i in scored]) if scored else None,
        np.array([scores[i][1] if scores[i][1] is not None else 0.0 for i in scored])
        if scored
        else None,
        len(scored),
    )
    beliefs = {i: Belief(0.0, PRIOR_SD) for i in ids}  # images the version never scored
    beliefs |= {i: Belief(float(m), float(s)) for i, m, s in zip(scored, mu, sigma, strict=True)}
    views = dict.fromkeys(ids, 0)
    through = dict.fromkeys(ids, 0)
    answers = store.judgments.effective_about(dataset_id)
    if upto_id is not None:
        answers = [a for a in answers if a["id"] <= upto_id]
    learned = learned_by(store, model, dataset_id)
    replayed = 0
    for answer in answers:
        left, right = answer["left_image_id"], answer["right_image_id"]
        if count_learned or not learned(answer):
            beliefs[left], beliefs[right] = apply(beliefs[left], beliefs[right], answer["outcome"])
            replayed += 1
        for image in (left, right):
            views[image] += 1
            through[image] = answer["id"]
    return Rebuilt(beliefs, views, through, replayed, answers[-1]["id"] if answers else 0)


def rebuild(store: Store, dataset_id: int) -> int:
    """Beliefs from the prior of the dataset's active version (if any) and the standing
    answers about its images that the version did not learn from (``learned_by``),
    stored; returns how many answers were replayed."""
    model = store.models.active(dataset_id)
    built = rebuilt_beliefs(store, dataset_id, model)
    model_id = model["id"] if model else None
    store.beliefs.replace_dataset(
        dataset_id,
        model_id,
        built.last,
        [
            _row(dataset_id, model_id, i, b, built.views[i], built.through[i])
            for i, b in built.beliefs.items()
        ],
    )
    return built.replayed


def catch_up(store: Store, dataset_id: int) -> int:
    """Make the dataset's beliefs current: rebuilt when another version became active
    (or none were built), else the answers given since the last look replayed. Safe
    with several raters at once: the replay runs in one write transaction that reads
    where the beliefs stand first. Returns how many answers were applied."""
    active = store.models.active(dataset_id)
    state = store.beliefs.state(dataset_id)
    if state is None or state["model_id"] != (active["id"] if active else None):
        return rebuild(store, dataset_id)
    with store.transaction():
        state = store.beliefs.state(dataset_id)
        if state is None:  # read a moment ago, and nothing removes it
            raise RuntimeError(f"The beliefs of dataset {dataset_id} lost their state.")
        answers = store.judgments.effective_about(dataset_id, state["through"])
        if not answers:
            return 0
        touched = {i for a in answers for i in (a["left_image_id"], a["right_image_id"])}
        rows = store.beliefs.load(touched)
        for answer in answers:
            left, right = rows.get(answer["left_image_id"]), rows.get(answer["right_image_id"])
            if left is None or right is None:  # imported after the build: next rebuild
                continue
            new_left, new_right = apply(
                Belief(left["mu"], left["sigma"]),
                Belief(right["mu"], right["sigma"]),
                answer["outcome"],
            )
            for row, belief in ((left, new_left), (right, new_right)):
                row.update(
                    mu=belief.mu,
                    sigma=belief.sigma,
                    views=row["views"] + 1,
                    through_judgment_id=answer["id"],
                )
        store.beliefs.save(list(rows.values()))
        store.beliefs.mark_through(dataset_id, state["model_id"], answers[-1]["id"])
    return len(answers)


def belief_lookup(store: Store) -> BeliefLookup:
    """Beliefs of any images, read from the store (an image without one, say imported
    since the last build, counts as unknown: mean 0, ``PRIOR_SD``, never answered)."""

    def lookup(image_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = store.beliefs.load(image_ids)
        found = [rows.get(int(i)) for i in image_ids]
        return (
            np.array([r["mu"] if r else 0.0 for r in found]),
            np.array([r["sigma"] if r else PRIOR_SD for r in found]),
            np.array([r["views"] if r else 0 for r in found]),
        )

    return lookup
