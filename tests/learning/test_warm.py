"""Warm-started retraining: the parent's weights, then a fixed budget of preference steps
in which the new answers make their share of the expert pairs."""

import numpy as np
import pytest
import torch

from core.learning.config import TrainConfig, WarmParams
from core.learning.pairs import judgment_pairs
from core.learning.train import WarmStart, judgment_steps, train
from tests.learning.test_train import TINY, toy_set


def _answers(count: int, ids: np.ndarray, first_id: int = 1) -> list[dict]:
    """``count`` answers about pairs of ``ids`` (the brighter image called more severe)."""
    rng = np.random.default_rng(count)
    made = []
    for k in range(count):
        a, b = rng.choice(ids, 2, replace=False)
        made.append(
            {
                "id": first_id + k,
                "left_image_id": int(a),
                "right_image_id": int(b),
                "outcome": "left" if a > b else "right",
                "rater_id": 1,
            }
        )
    return made


@pytest.fixture(scope="module")
def parent():
    data = toy_set()
    return data, train(TrainConfig(method="conpro", **TINY), data)


@pytest.mark.parametrize("answers", [10, 1000])
def test_a_warm_retrain_runs_its_fixed_budget_whatever_the_number_of_answers(parent, answers):
    data, first = parent
    config = TrainConfig(method="conpro", **TINY).with_settings(warm=WarmParams(steps=7))
    judged = _answers(answers, data.image_ids)
    warm = WarmStart(first.net.state_dict(), new_after=answers // 2)

    result = train(config, data, judged, warm=warm)

    assert {r["phase"] for r in result.history} == {"pro"}  # no Con step: continued
    assert result.history[-1]["steps"] == 7
    assert result.judgments_used == answers
    # from scratch, the preference phase would grow with the answers (judgment_passes)
    assert judgment_steps(config, answers, config.judgment_share) == answers * 2


def test_a_warm_retrain_starts_from_its_parents_weights(parent):
    data, first = parent
    still = TrainConfig(method="conpro", encoder_lr=0.0, head_lr=0.0, weight_decay=0.0, **TINY)
    warm = WarmStart(first.net.state_dict(), new_after=0)

    continued = train(still.with_settings(**{"warm.steps": 3}), data, warm=warm)
    fresh = train(still.with_settings(seed=5), data)

    parents = dict(first.net.named_parameters())
    for name, weight in continued.net.named_parameters():
        assert torch.equal(weight, parents[name]), name
    assert not all(
        torch.equal(w, parents[n]) for n, w in fresh.net.named_parameters()
    )  # the control: another start gives other weights


def test_a_method_without_a_preference_phase_cannot_be_continued(parent):
    data, _ = parent
    with pytest.raises(ValueError, match="no preference phase"):
        train(TrainConfig(method="supcon2", **TINY), data, warm=WarmStart({}, new_after=0))


@pytest.mark.parametrize("share", [0.5, 0.8])
def test_the_new_answers_make_their_share_of_the_draws(share):
    ids = np.arange(100, 130)
    judged = _answers(200, ids)  # ids 1-200: 4 new after 196
    pairs = judgment_pairs(judged, ids, new_after=196, new_share=share)

    drawn = pairs.sample(20_000, np.random.default_rng(0))

    new = {
        (ids.tolist().index(j["left_image_id"]), ids.tolist().index(j["right_image_id"]))
        for j in judged[196:]
    }
    from_new = np.mean([(i, j) in new for i, j in zip(drawn.i, drawn.j, strict=True)])
    assert from_new == pytest.approx(share, abs=0.02)
    # without new_after every answer is as likely as the next: 4 of 200
    uniform = judgment_pairs(judged, ids).sample(20_000, np.random.default_rng(0))
    assert np.mean([(i, j) in new for i, j in zip(uniform.i, uniform.j, strict=True)]) < 0.05


def test_answers_whose_raters_all_weigh_nothing_are_drawn_uniformly_not_as_nan():
    ids = np.arange(100, 130)
    judged = _answers(40, ids)
    pairs = judgment_pairs(judged, ids, rater_weight={1: 0.0}, new_after=30, new_share=0.5)

    drawn = pairs.sample(100, np.random.default_rng(0))

    assert len(drawn) == 100 and pairs.weight is None


def test_a_new_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="new_share"):
        TrainConfig().with_settings(**{"warm.new_share": 1.5})
