"""Training on tiny inputs (16 px, a few steps): every method runs, CPU runs repeat
exactly, cancel stops, checkpoints round-trip."""

import numpy as np
import pytest
import torch

from core.learning.checkpoint import load_checkpoint, save_checkpoint
from core.learning.config import TrainConfig
from core.learning.data import ImageSet
from core.learning.evaluate import evaluate
from core.learning.methods import METHODS
from core.learning.scoring import severity_scores
from core.learning.train import TrainingCancelled, train

TINY = dict(
    image_size=16, batch_size=4, pairs_per_phase=8, anchor_n=2, probe_epochs=2, device="cpu"
)


def toy_set(n=24, seed=0):
    """Images whose brightness grows with the grade."""
    rng = np.random.default_rng(seed)
    grades = np.arange(n) % 5
    images = torch.tensor(rng.normal(0, 0.3, (n, 3, 16, 16)), dtype=torch.float32)
    images += torch.tensor(grades, dtype=torch.float32).view(-1, 1, 1, 1) * 0.5
    return ImageSet(images, grades, grades / 4.0, np.arange(100, 100 + n))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_scores_and_evaluates(method):
    data = toy_set()
    result = train(TrainConfig(method=method, **TINY), data)
    scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    assert scores.shape == (len(data),) and np.isfinite(scores).all()
    expected_records = 0 if method == "random" else len(METHODS[method].phases)
    assert len({r["phase"] for r in result.history}) == expected_records
    metrics = evaluate(result, data, data, data)
    assert {"macro_f1", "maee", "qwk", "tau", "accuracy", "macro_recall"} <= set(metrics)


def test_cpu_training_is_reproducible_for_a_seed():
    data = toy_set()
    first = train(TrainConfig(method="conpro", **TINY), data)
    second = train(TrainConfig(method="conpro", **TINY), data)
    third = train(TrainConfig(method="conpro", seed=1, **TINY), data)
    assert [r["loss"] for r in first.history] == [r["loss"] for r in second.history]
    assert [r["loss"] for r in first.history] != [r["loss"] for r in third.history]


def test_expert_judgments_feed_the_preference_step():
    data = toy_set()
    judgments = [{"left_image_id": 104, "right_image_id": 101, "outcome": "left"}]
    only_experts = TrainConfig(method="conpro", use_grade_pairs=False, **TINY)
    result = train(only_experts, data, judgments=judgments)
    assert result.history[-1]["phase"] == "pro"
    with pytest.raises(ValueError, match="no preference pairs"):
        train(only_experts, data, judgments=[])


def test_progress_callback_can_cancel():
    seen = []

    def progress(record):
        seen.append(record)
        return record["step"] == 2

    with pytest.raises(TrainingCancelled, match="step 2"):
        train(TrainConfig(method="supcon2", **TINY), toy_set(), progress=progress)
    assert [r["step"] for r in seen] == [1, 2]


def test_checkpoint_round_trip_gives_the_same_scores(tmp_path):
    data = toy_set()
    result = train(TrainConfig(method="conpro", **TINY), data)
    path = save_checkpoint(tmp_path / "m" / "model.pt", result, {"macro_f1": 0.5})
    net, anchor, space, config, metrics = load_checkpoint(path)
    before = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    after = severity_scores(net, data.images, space, anchor)
    assert np.allclose(before, after, atol=1e-6)
    assert config == result.config and metrics == {"macro_f1": 0.5}
    assert not list(tmp_path.rglob("*.part"))


def test_the_preference_step_learns_to_order_severity():
    """On images whose brightness encodes the grade, ConPro's score must order the
    grades far better than an untrained network's."""
    from core.learning.metrics import severity_tau

    data = toy_set(n=60)
    settings = {**TINY, "pairs_per_phase": 400, "batch_size": 8, "anchor_n": 6}
    tau = {}
    for method in ("conpro", "random"):
        result = train(TrainConfig(method=method, **settings), data)
        scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
        tau[method] = severity_tau(scores, data.grades)
    assert tau["conpro"] > 0.6
    assert tau["conpro"] > tau["random"] + 0.2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_scaled_preference_step_orders_the_toy_on_every_seed(seed):
    """The paper's PrO loss (scale 1) orders this toy on some seeds and not on others
    (docs/benchmarks.md); with its logits scaled by 5 it reaches the toy's ceiling (tau
    0.9: grades tie) on every seed, far above what an untrained network gets."""
    from core.learning.metrics import severity_tau

    data = toy_set(n=60, seed=seed)
    settings = {**TINY, "pairs_per_phase": 400, "batch_size": 8, "anchor_n": 6, "seed": seed}
    result = train(TrainConfig(method="conpro", preference_scale=5.0, **settings), data)
    scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    assert severity_tau(scores, data.grades) > 0.8
