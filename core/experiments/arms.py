"""The arms of the simulated-rater benchmark (``sim_bench``) beside the app's own pair
strategies, and the two controls that separate what an answer teaches from what comes
with it:

- ``coverage``: pairs served exactly as the active strategy serves them (its share of
  random pairs, its sample of images, never-answered images first), but blind to what
  the beliefs say about severity. Active's early lead could come from seeing more images;
  this arm sees as many, without the information gain.
- ``no-answers``: at each checkpoint a retrain of as many steps as the answer arms
  trained there, fed grade pairs only (without grades, the cold start's self-supervised
  objective): whatever the answers add beyond a longer training.

Every answering arm chooses its pairs through the one pair server
(``core.selection.serve.next_pair``), as the Compare page does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.learning.config import TrainConfig
from core.learning.method_info import PREFERENCE_PHASES
from core.learning.recipes import COLD_START_METHOD
from core.learning.train import TrainResult
from core.selection.active import ActiveStrategy
from core.selection.base import AlreadyJudged, BeliefLookup, PairStrategy, Taken
from core.selection.beliefs import PRIOR_SD
from core.selection.strategies import STRATEGIES

COVERAGE = "coverage"
NO_ANSWERS = "no-answers"
# the method a cold-start control trains: the self-supervised half of the cold start
# (``selfpro`` is SimCLR, then NT-Xent + preference, which needs answers)
COLD_START_CONTROL = "simclr"


def _app_active() -> ActiveStrategy:
    strategy = STRATEGIES["active"]
    if not isinstance(strategy, ActiveStrategy):
        raise TypeError("the app's active strategy is no longer an ActiveStrategy")
    return strategy


@dataclass
class CoverageStrategy:
    """The coverage control. ``active`` (the app's active strategy unless given) chooses
    the pair from beliefs that know nothing of severity, only how often each image was
    answered (``blind_beliefs``). So it serves pairs as active does (its exploration
    share, its random sample of images, images answered fewer than ``active.min_views``
    times first, and of two such images rather than one where its sample allows), but
    which images those are is left to the sample's random order."""

    active: ActiveStrategy = field(default_factory=_app_active)
    name: str = COVERAGE
    needs_beliefs: bool = True

    def next_pair(
        self,
        candidates: Sequence[int],
        already_judged: AlreadyJudged,
        rng: random.Random,
        taken: Taken = frozenset(),
        beliefs: BeliefLookup | None = None,
    ) -> tuple[int, int] | None:
        blind = None if beliefs is None else blind_beliefs(beliefs)
        return self.active.next_pair(candidates, already_judged, rng, taken, blind)


def blind_beliefs(beliefs: BeliefLookup) -> BeliefLookup:
    """``beliefs`` stripped of what they say about severity: every mean the same (so
    neighbours by mean are neighbours in the sample's random order) and each spread
    ``PRIOR_SD`` shrunk by the image's answers alone (variance ``PRIOR_SD**2 / (1 +
    answers)``: the information gain of a pair then grows with how little its images
    were answered); the number of answers of each image is the real one."""

    def lookup(image_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, _, views = beliefs(image_ids)
        spread = PRIOR_SD / np.sqrt(1.0 + np.asarray(views, float))
        return np.zeros(len(image_ids)), spread, views

    return lookup


ARM_STRATEGIES: dict[str, PairStrategy] = {**STRATEGIES, COVERAGE: CoverageStrategy()}
ARMS = (*ARM_STRATEGIES, NO_ANSWERS)


def pair_strategy(arm: str) -> PairStrategy:
    """The pair strategy of an answering arm."""
    if arm not in ARM_STRATEGIES:
        raise ValueError(f"{arm} is not an arm that answers; arms: {', '.join(ARMS)}")
    return ARM_STRATEGIES[arm]


def phase_steps(result: TrainResult) -> dict[str, int]:
    """The optimiser steps each phase of a training ran, read from its history (every
    phase records its first step, with the phase's length)."""
    steps: dict[str, int] = {}
    for record in result.history:
        steps.setdefault(record["phase"], int(record["steps"]))
    if sum(steps.values()) != result.steps:
        raise ValueError(f"the history's phases ({steps}) do not add up to {result.steps} steps")
    return steps


def training_length_control(train: TrainConfig, steps: dict[str, int]) -> TrainConfig:
    """The no-answers control of a training that ran ``steps`` (phase -> steps): the
    same configuration without answers, its preference phase held at the same length;
    for the cold start (no grade pairs to prefer), ``COLD_START_CONTROL`` for all the
    steps in one phase."""
    preference = [p for p in steps if p in PREFERENCE_PHASES]
    if len(preference) != 1:
        raise ValueError(f"a training without one preference phase has no control: {steps}")
    if train.method != COLD_START_METHOD:
        pairs = steps[preference[0]] * train.batch_size
        return replace(train, use_judgments=False, pro_pairs=pairs)
    total = sum(steps.values()) * train.batch_size
    return replace(
        train, method=COLD_START_CONTROL, use_judgments=False, pairs_per_phase=total, pro_pairs=None
    )


def same_length(answer_steps: dict[str, int], control_steps: dict[str, int]) -> bool:
    """Whether a control trained as long as the answer arm: phase by phase where it
    runs the same phases, else in all."""
    if set(answer_steps) == set(control_steps):
        return answer_steps == control_steps
    return sum(answer_steps.values()) == sum(control_steps.values())
