"""Pair strategies: which two images to show a rater next.

A strategy sees the candidate image ids of the chosen scope and a way to ask whether
this rater already answered a pair; it returns an unordered pair or None when the
scope is exhausted. Which image goes on the left is decided by ``present`` (random,
and recorded with the answer). Smarter strategies (uncertainty, active learning) plug
in by name through ``STRATEGIES``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.store import Store

AlreadyJudged = Callable[[int, int], bool]


@dataclass(frozen=True)
class Scope:
    """Which images pairs are drawn from."""

    dataset_id: int | None = None
    abnormal_only: bool = False  # grade > 0 only
    patient_id: int | None = None  # one patient's visits


class PairStrategy(Protocol):
    name: str

    def next_pair(
        self, candidates: Sequence[int], already_judged: AlreadyJudged, rng: random.Random
    ) -> tuple[int, int] | None: ...


class RandomStrategy:
    """Uniformly random pairs, skipping those this rater already answered."""

    name = "random"
    draws = 64  # random tries before falling back to an exhaustive search

    def next_pair(
        self, candidates: Sequence[int], already_judged: AlreadyJudged, rng: random.Random
    ) -> tuple[int, int] | None:
        if len(candidates) < 2:
            return None
        for _ in range(self.draws):
            a, b = rng.sample(candidates, 2)
            if not already_judged(a, b):
                return a, b
        if len(candidates) > 2000:  # a huge scope this full is practically exhausted
            return None
        pairs = [(a, b) for i, a in enumerate(candidates) for b in candidates[i + 1 :]]
        rng.shuffle(pairs)
        return next(((a, b) for a, b in pairs if not already_judged(a, b)), None)


STRATEGIES: dict[str, PairStrategy] = {"random": RandomStrategy()}


def candidates_for(store: Store, scope: Scope) -> list[int]:
    return store.images.ids(
        dataset_id=scope.dataset_id, abnormal_only=scope.abnormal_only, patient_id=scope.patient_id
    )


def present(pair: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    """Randomise which image is shown on the left (the order is stored with the answer)."""
    return pair if rng.random() < 0.5 else (pair[1], pair[0])
