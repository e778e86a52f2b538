"""The one pair server: which two images a rater sees next.

The Compare page, the simulated-rater benchmark (``core.experiments.sim_bench``) and the
latency benchmark (``benchmarks/compare_latency.py``) all call ``next_pair``, so that a
benchmark measures what raters get. In order:

1. now and then, unannounced, a pair this rater answered a while ago with its sides
   swapped (a *repeat*, for self-consistency: ``core.raters.repeats``), at the study's
   repeat share;
2. otherwise the strategy's choice among the scope's images (the active strategy's
   beliefs first catch up with every answer given since, by anyone), skipping pairs
   this rater already answered, the pair on screen and pairs other raters have on
   screen, with the sides drawn at random (the order is stored with the answer).

A caller that leaves a feature out says so by parameter (``Serving``), so its figures
say what they describe.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from core.raters.repeats import maybe_repeat
from core.store import Store

from .base import PairStrategy
from .state import belief_lookup, catch_up
from .strategies import present


@dataclass(frozen=True)
class Serving:
    """What the server does beyond the strategy's choice (all on in the app)."""

    repeats: bool = True  # serve repeats at the study's repeat share
    screens: bool = True  # never serve a pair another rater has on screen


AS_THE_APP = Serving()


@dataclass(frozen=True)
class ServedPair:
    left: int
    right: int
    repeat_of: int | None = None  # the answer a repeat repeats


def next_pair(
    store: Store,
    rater_id: int,
    strategy: PairStrategy,
    candidates: Sequence[int],
    rng: random.Random,
    dataset_id: int | None,
    exclude: tuple[int, int] | None = None,
    serving: Serving = AS_THE_APP,
) -> ServedPair | None:
    """The pair to show ``rater_id`` after ``exclude`` (the pair on screen, if any), or
    None when the scope has no pair left for them."""
    on_screen = frozenset(exclude or ())
    repeat = maybe_repeat(store, rater_id, rng, set(candidates)) if serving.repeats else None
    if repeat is not None and {repeat.left, repeat.right} != on_screen:
        return ServedPair(repeat.left, repeat.right, repeat.repeat_of)
    beliefs = None
    if strategy.needs_beliefs and dataset_id is not None:
        catch_up(store, dataset_id)  # the answers given since, by anyone
        beliefs = belief_lookup(store)
    pair = strategy.next_pair(
        candidates,
        lambda a, b: {a, b} == on_screen or store.judgments.has_standing(rater_id, a, b),
        rng,
        taken=store.screens.taken(except_rater=rater_id) if serving.screens else frozenset(),
        beliefs=beliefs,
    )
    if pair is None:
        return None
    left, right = present(pair, rng)
    return ServedPair(left, right)
