"""The active strategy: of pairs close in the current beliefs, the one whose answer is
expected to tell the most (``gain.information_gain``), with a share of random pairs for
exploration and images below a minimum number of answers served first."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import AlreadyJudged, BeliefLookup, RandomStrategy, Taken, unavailable
from .gain import information_gain


@dataclass
class ActiveStrategy:
    name: str = "active"
    needs_beliefs: bool = True
    explore: float = 0.1  # share of uniformly random pairs
    sample: int = 256  # images drawn at random each time; never a scan of all pairs
    neighbours: int = 4  # each sampled image is paired with its k nearest by belief mean
    min_views: int = 1  # pairs with an image answered fewer times than this come first

    def next_pair(
        self,
        candidates: Sequence[int],
        already_judged: AlreadyJudged,
        rng: random.Random,
        taken: Taken = frozenset(),
        beliefs: BeliefLookup | None = None,
    ) -> tuple[int, int] | None:
        fallback = RandomStrategy()
        if len(candidates) < 2 or beliefs is None or rng.random() < self.explore:
            return fallback.next_pair(candidates, already_judged, rng, taken)
        drawn = rng.sample(candidates, min(self.sample, len(candidates)))  # no copy of 100k ids
        blocked = unavailable(already_judged, taken)
        for a, b in self.ranked(drawn, beliefs):
            if not blocked(a, b):
                return a, b
        return fallback.next_pair(candidates, already_judged, rng, taken)

    def ranked(self, images: Sequence[int], beliefs: BeliefLookup) -> list[tuple[int, int]]:
        """Pairs of neighbours by belief mean among ``images``, most informative first
        (under-viewed images before all others)."""
        ids = np.asarray(images)
        mu, sigma, views = beliefs(images)
        order = np.argsort(mu, kind="stable")
        first, second = [], []
        for offset in range(1, min(self.neighbours, len(ids) - 1) + 1):
            first.append(order[:-offset])
            second.append(order[offset:])
        a, b = np.concatenate(first), np.concatenate(second)
        gain = information_gain(mu[a] - mu[b], sigma[a] ** 2 + sigma[b] ** 2)
        fresh = (views[a] < self.min_views) | (views[b] < self.min_views)
        best = np.lexsort((-gain, ~fresh))  # fresh first, then by gain
        return [(int(ids[a[k]]), int(ids[b[k]])) for k in best]
