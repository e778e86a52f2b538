"""What every pair strategy shares: its interface, and uniformly random pairs."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence, Set
from typing import Protocol

import numpy as np

AlreadyJudged = Callable[[int, int], bool]
# image ids -> (mean, SD, number of answers) of each image's severity belief
BeliefLookup = Callable[[Sequence[int]], tuple[np.ndarray, np.ndarray, np.ndarray]]
Taken = Set[tuple[int, int]]  # unordered pairs (low id, high id)


class PairStrategy(Protocol):
    name: str

    needs_beliefs: bool

    def next_pair(
        self,
        candidates: Sequence[int],
        already_judged: AlreadyJudged,
        rng: random.Random,
        taken: Taken = frozenset(),
        beliefs: BeliefLookup | None = None,
    ) -> tuple[int, int] | None: ...


def unavailable(already_judged: AlreadyJudged, taken: Taken) -> AlreadyJudged:
    """A pair this rater answered, or one another rater has on screen."""
    if not taken:
        return already_judged
    return lambda a, b: (min(a, b), max(a, b)) in taken or already_judged(a, b)


class RandomStrategy:
    """Uniformly random pairs, skipping those this rater already answered."""

    name = "random"
    needs_beliefs = False
    draws = 64  # random tries before falling back to an exhaustive search

    def next_pair(
        self,
        candidates: Sequence[int],
        already_judged: AlreadyJudged,
        rng: random.Random,
        taken: Taken = frozenset(),
        beliefs: BeliefLookup | None = None,
    ) -> tuple[int, int] | None:
        if len(candidates) < 2:
            return None
        blocked = unavailable(already_judged, taken)
        for _ in range(self.draws):
            a, b = rng.sample(candidates, 2)
            if not blocked(a, b):
                return a, b
        if len(candidates) > 2000:  # a huge scope this full is practically exhausted
            return None
        pairs = [(a, b) for i, a in enumerate(candidates) for b in candidates[i + 1 :]]
        rng.shuffle(pairs)
        return next(((a, b) for a, b in pairs if not blocked(a, b)), None)
