"""Crowd-BT reliability and the training weights it gives, on simulated panels."""

import numpy as np
import pytest

from core.learning.pairs import judgment_pairs
from core.raters import judgment_rater_weights, rater_weights, reliability
from core.raters.answers import answers_frame
from core.simulation import SimulatedRater, simulated_panel


def panel(seed):
    return [
        SimulatedRater("careful", noise=0.03, seed=seed),
        SimulatedRater("average", noise=0.1, lapse=0.1, seed=seed + 1),
        SimulatedRater("guesser", lapse=1.0, seed=seed + 2),
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_guessing_rater_is_least_reliable_and_carries_no_weight(seed):
    truth = np.random.default_rng(seed).random(150)
    frame = answers_frame(simulated_panel(panel(seed), truth, 400, seed=seed))
    eta = {rater: measure.value for rater, measure in reliability(frame).items()}
    assert eta["guesser"] < 0.6 < eta["average"] <= eta["careful"]
    weights = rater_weights(frame)
    assert weights["careful"] == 1.0 and weights["guesser"] < 0.2 * weights["average"]


def test_with_nobody_better_than_a_guess_every_rater_counts_the_same():
    truth = np.random.default_rng(0).random(60)
    raters = [SimulatedRater(f"g{k}", lapse=1.0, seed=k) for k in range(2)]
    frame = answers_frame(simulated_panel(raters, truth, 60))
    weights = rater_weights(frame)
    assert set(weights) == {"g0", "g1"} and all(w > 0 for w in weights.values())


def test_a_rater_with_too_few_answers_gets_the_median_weight():
    truth = np.random.default_rng(0).random(80)
    rows = simulated_panel(panel(0)[:2], truth, 200)
    rows += [dict(r, id=10_000 + k, rater="newcomer") for k, r in enumerate(rows[:5])]
    frame = answers_frame(rows)
    assert not reliability(frame)["newcomer"].enough
    weights = rater_weights(frame)
    assert weights["newcomer"] == pytest.approx(np.median([weights["careful"], weights["average"]]))


def test_training_never_draws_an_untrusted_raters_answers():
    judgments = [
        {"left_image_id": 1, "right_image_id": 2, "outcome": "left", "rater_id": 1},
        {"left_image_id": 2, "right_image_id": 3, "outcome": "left", "rater_id": 2},
    ]
    pairs = judgment_pairs(judgments, np.array([1, 2, 3]), {1: 1.0, 2: 0.0})
    drawn = pairs.sample(200, np.random.default_rng(0))
    assert set(zip(drawn.i.tolist(), drawn.j.tolist(), strict=True)) == {(0, 1)}
    unweighted = judgment_pairs(judgments, np.array([1, 2, 3]))
    drawn = unweighted.sample(200, np.random.default_rng(0))
    assert len(set(zip(drawn.i.tolist(), drawn.j.tolist(), strict=True))) == 2


def test_weights_from_the_trainers_rows_are_keyed_by_rater_id():
    truth = np.random.default_rng(1).random(100)
    rows = simulated_panel(panel(1), truth, 300, seed=1)
    ids = {"careful": 11, "average": 12, "guesser": 13}
    judgments = [{**r, "rater_id": ids[r["rater"]]} for r in rows]
    weights = judgment_rater_weights(judgments)
    assert weights[11] == 1.0 and weights[13] < weights[12]
