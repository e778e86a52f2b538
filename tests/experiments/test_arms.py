"""The benchmark's control arms: coverage serves new images as active does, blind to
severity; the no-answers control trains exactly as long without answers."""

import random

import numpy as np
import pytest

from core.demo import import_cohort
from core.experiments.arms import (
    COLD_START_CONTROL,
    CoverageStrategy,
    pair_strategy,
    phase_steps,
    same_length,
    training_length_control,
)
from core.learning.config import TrainConfig
from core.learning.train import TrainResult, total_steps
from core.selection.active import ActiveStrategy
from core.selection.base import RandomStrategy
from core.selection.serve import Serving, next_pair
from core.store import Answer, Store
from core.synthetic import CohortConfig

IMAGES = list(range(40))
NEW = set(range(30, 40))  # never answered; the others once


def lookup(mu, sigma):
    """Beliefs of IMAGES: the given means and spreads, images 0-29 answered once."""

    def beliefs(ids):
        ids = list(ids)
        views = np.array([0 if i in NEW else 1 for i in ids])
        return np.asarray(mu)[ids], np.asarray(sigma)[ids], views

    return beliefs


def test_coverage_serves_a_never_answered_image_and_ignores_what_beliefs_say_of_severity():
    """Two sets of beliefs that disagree on every mean and spread but count the same
    answers: coverage serves the same pair from both, always with a new image in it;
    active (which it wraps) serves different pairs from them, and random pairs often
    hold no new image."""
    rising = lookup(np.linspace(-2, 2, 40), np.full(40, 0.3))
    other = lookup(np.random.default_rng(0).normal(size=40), np.linspace(0.1, 1.0, 40))
    coverage = CoverageStrategy(ActiveStrategy(explore=0.0))
    never_judged = lambda a, b: False  # noqa: E731
    active_differs, random_misses = 0, 0
    for seed in range(20):
        pair = coverage.next_pair(IMAGES, never_judged, random.Random(seed), beliefs=rising)
        again = coverage.next_pair(IMAGES, never_judged, random.Random(seed), beliefs=other)
        assert pair == again and set(pair) & NEW
        by_active = [
            ActiveStrategy(explore=0.0).next_pair(
                IMAGES, never_judged, random.Random(seed), beliefs=b
            )
            for b in (rising, other)
        ]
        active_differs += by_active[0] != by_active[1]
        plain = RandomStrategy().next_pair(IMAGES, never_judged, random.Random(seed))
        random_misses += not set(plain) & NEW
    assert active_differs > 0 and random_misses > 0  # the checks above could fail


def distinct_after(strategy, answers: int, path, dataset_id: int) -> int:
    """Distinct images answered after ``answers`` pairs served by the pair server."""
    with Store(path) as store:
        pool = store.images.ids(dataset_id=dataset_id, split="train")
        rater = store.raters.ensure("Simulated rater")
        rng = random.Random(1)
        serving = Serving(repeats=False, screens=False)
        for _ in range(answers):
            pair = next_pair(store, rater, strategy, pool, rng, dataset_id, serving=serving)
            store.judgments.append(Answer(pair.left, pair.right, "left", rater))
        return len(
            {
                i
                for j in store.judgments.effective()
                for i in (j["left_image_id"], j["right_image_id"])
            }
        )


def test_through_the_pair_server_coverage_judges_as_many_images_as_active(tmp_path):
    """Without a model every belief starts alike, and with exploration off active serves
    two new images a pair while many are left: so does coverage; random pairs repeat
    images."""
    first = tmp_path / "first.db"
    with Store(first) as store:
        import_cohort(store, CohortConfig(patients=12, image_size=16))
        dataset_id = store.datasets.by_name("Synthetic cohort")["id"]
        pool = len(store.images.ids(dataset_id=dataset_id, split="train"))
    answers = pool // 4
    counts = {}
    for name, strategy in {
        "active": ActiveStrategy(explore=0.0),
        "coverage": CoverageStrategy(ActiveStrategy(explore=0.0)),
        "random": RandomStrategy(),
    }.items():
        copy = tmp_path / f"{name}.db"
        copy.write_bytes(first.read_bytes())
        counts[name] = distinct_after(strategy, answers, copy, dataset_id)
    assert counts["coverage"] == counts["active"] == 2 * answers
    assert counts["random"] < counts["coverage"]


def test_the_arms_that_answer_have_a_pair_strategy_and_the_control_has_none():
    assert pair_strategy("coverage").needs_beliefs
    assert pair_strategy("random").name == "random"
    with pytest.raises(ValueError, match="not an arm that answers"):
        pair_strategy("no-answers")


def test_the_control_holds_the_preference_phase_at_the_answer_arms_length():
    """ConPro: the same configuration without answers, its preference phase exactly as
    long as the answer arm's (which the answers lengthened), its Con step untouched."""
    train = TrainConfig(pairs_per_phase=9600, batch_size=32)
    control = training_length_control(train, {"con": 300, "pro": 500})
    assert not control.use_judgments and control.method == "conpro"
    assert total_steps(control, 1000, "pro") == 500
    assert total_steps(control, 1000, "con") == total_steps(train, 1000, "con") == 300
    # the cold start (no grade pairs to prefer): SimCLR for all the steps in one phase
    cold = training_length_control(
        TrainConfig(method="selfpro", pairs_per_phase=64, batch_size=8),
        {"simclr": 8, "semise": 40},
    )
    assert cold.method == COLD_START_CONTROL and not cold.use_judgments
    assert total_steps(cold, 1000, "simclr") == 48
    assert same_length({"simclr": 8, "semise": 40}, {"simclr": 48})
    assert not same_length({"con": 4, "pro": 40}, {"con": 40, "pro": 4})
    with pytest.raises(ValueError, match="without one preference phase"):
        training_length_control(train, {"con": 300})


def test_phase_steps_are_read_from_the_history_and_must_add_up():
    history = [
        {"phase": "con", "step": 1, "steps": 4},
        {"phase": "pro", "step": 1, "steps": 15},
        {"phase": "pro", "step": 11, "steps": 15},
    ]
    result = TrainResult(net=None, anchor=None, method=None, config=TrainConfig(), history=history)
    result.steps = 19
    assert phase_steps(result) == {"con": 4, "pro": 15}
    result.steps = 20
    with pytest.raises(ValueError, match="do not add up"):
        phase_steps(result)
