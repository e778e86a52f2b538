"""Repeat pairs: now and then a rater sees again a pair they answered at least
``MIN_GAP`` answers earlier, sides swapped, unannounced. Agreement with their first
answer is their self-consistency. The study lead sets the share (default 5%)."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from core.store import Store

SHARE_SETTING = "repeat_share"
DEFAULT_SHARE = 0.05
MIN_GAP = 20


@dataclass(frozen=True)
class Repeat:
    left: int
    right: int
    repeat_of: int


def repeat_share(store: Store) -> float:
    return float(store.settings.get(SHARE_SETTING, DEFAULT_SHARE))


def set_repeat_share(store: Store, share: float) -> None:
    if not 0.0 <= share <= 0.5:
        raise ValueError("The share of repeat pairs must lie between 0% and 50%.")
    store.settings.set(SHARE_SETTING, share)


def maybe_repeat(
    store: Store,
    rater_id: int,
    rng: random.Random,
    in_scope: Collection[int] | None = None,
    share: float | None = None,
) -> Repeat | None:
    """With probability ``share``, a pair to show again (both images in ``in_scope``
    when given), the sides the other way round from the first time; else None."""
    share = repeat_share(store) if share is None else share
    return pick_repeat(store, rater_id, in_scope) if wants_repeat(rng, share) else None


def wants_repeat(rng: random.Random, share: float) -> bool:
    """Whether the next pair should be a repeat (a draw, so that it stays unannounced)."""
    return share > 0 and rng.random() < share


def pick_repeat(
    store: Store, rater_id: int, in_scope: Collection[int] | None = None
) -> Repeat | None:
    """A pair this rater may see again, sides swapped, or None when there is none."""
    for row in store.judgments.repeatable(rater_id, MIN_GAP):
        left, right = row["left_image_id"], row["right_image_id"]
        if in_scope is None or (left in in_scope and right in in_scope):
            return Repeat(right, left, row["id"])
    return None
