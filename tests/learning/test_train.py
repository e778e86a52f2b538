"""Training on tiny inputs (16 px, a few steps): every method runs, CPU runs repeat
exactly, cancel stops, checkpoints round-trip."""

import numpy as np
import pytest
import torch

from core.learning.checkpoint import load_checkpoint, save_checkpoint
from core.learning.config import TrainConfig
from core.learning.data import ImageSet
from core.learning.evaluate import evaluate
from core.learning.from_store import evaluate_on_store
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


@pytest.fixture
def torch_threads():
    """Sets torch's CPU threads for one test and puts them back after it."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_default_recipe_orders_the_toy_on_every_seed(seed, threads, torch_threads):
    """The app's recipe (``FIRST_MODEL``: its method, normalisation, learning rates), at the
    toy's size and budget, on images whose brightness encodes the grade, reaches the toy's
    ceiling (tau 0.90: grades tie) on every seed: 0.89-0.90 on seeds 0-5 at 1 and at 2
    threads (benchmarks/toy_batchnorm.py), and the test runs both counts. Where learning
    fails the toy lands at 0.0-0.5, and an untrained network of the recipe's shape, which
    sees brightness too, at 0.48-0.73 (the benchmark's "untrained" row, seeds 0-5); 0.8
    sits above both.
    With the paper's BatchNorm (train mode during PrO) the same toy lands anywhere from
    0.1 to 0.9 with the seed and the thread count, so no threshold on it could hold on
    every machine."""
    from core.learning.metrics import severity_tau
    from core.learning.recipes import FIRST_MODEL

    torch_threads(threads)
    data = toy_set(n=60, seed=seed)
    settings = {**TINY, "pairs_per_phase": 400, "batch_size": 8, "anchor_n": 6, "seed": seed}
    result = train(FIRST_MODEL.with_settings(**settings), data)
    scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    assert severity_tau(scores, data.grades) > 0.8


def test_every_phase_gets_the_same_budget_and_pro_pairs_sets_its_own():
    from core.learning.train import total_steps

    config = TrainConfig(method="conpro", epochs=2.0, batch_size=8)
    assert total_steps(config, 64, "con") == total_steps(config, 64, "pro") == 8
    longer = TrainConfig(method="conpro", epochs=2.0, batch_size=8, pro_pairs=200)
    assert total_steps(longer, 64, "con") == 8 and total_steps(longer, 64, "pro") == 25
    result = train(TrainConfig(method="conpro", **{**TINY, "pro_pairs": 16}), toy_set())
    steps = {r["phase"]: r["steps"] for r in result.history}
    assert steps == {"con": 2, "pro": 4}


def test_the_preference_step_runs_long_enough_to_see_each_answer_a_few_times():
    data = toy_set()
    judgments = [
        {"left_image_id": 100 + a, "right_image_id": 100 + b, "outcome": "left"}
        for a in range(24)
        for b in range(24)
        if data.grades[a] > data.grades[b]
    ][:40]
    config = TrainConfig(method="conpro", judgment_passes=2.0, **TINY)  # 8 pairs a phase
    result = train(config, data, judgments=judgments)
    steps = {r["phase"]: r["steps"] for r in result.history}
    # 40 answers x 2 passes at half of each batch of 4: 40 steps; the Con step keeps 2
    assert steps == {"con": 2, "pro": 40} and result.judgments_used == 40
    alone = TrainConfig(method="conpro", judgment_passes=2.0, use_grade_pairs=False, **TINY)
    steps = {r["phase"]: r["steps"] for r in train(alone, data, judgments=judgments).history}
    assert steps["pro"] == 20  # the answers are the whole batch
    few = train(config, data, judgments=judgments[:1]).history
    assert {r["phase"]: r["steps"] for r in few}["pro"] == 2  # the budget, when it is enough


def test_frozen_batchnorm_leaves_the_con_step_statistics_alone_during_pro():
    data = toy_set()
    seen = {}

    def running_means(net):
        return [m.running_mean.clone() for m in net.modules() if hasattr(m, "running_mean")]

    def keep(phase, net):
        seen[phase] = running_means(net)

    for mode in ("train", "frozen", "mixed"):
        config = TrainConfig(method="conpro", pro_batchnorm=mode, **TINY)
        result = train(config, data, on_phase_end=keep)
        unchanged = all(torch.equal(a, b) for a, b in zip(seen["con"], seen["pro"], strict=True))
        assert unchanged == (mode == "frozen")
        assert running_means(result.net)[0].shape == seen["pro"][0].shape
    with pytest.raises(ValueError, match="pro_batchnorm"):
        train(TrainConfig(method="conpro", pro_batchnorm="sometimes", **TINY), data)


@pytest.mark.parametrize(
    "variant",
    [
        {"augment_pairs": True},
        {"normal_pull": 1.0},
        {"scoring_anchor": "all"},
        {"preference_scale": 5.0},
    ],
)
def test_conpro_variants_train_and_score(variant):
    data = toy_set()
    result = train(TrainConfig(method="conpro", **TINY, **variant), data)
    scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    assert np.isfinite(scores).all()


def test_the_scoring_anchor_from_all_normals_averages_every_normal():
    from core.learning.scoring import space_vectors

    data = toy_set()
    result = train(TrainConfig(method="conpro", scoring_anchor="all", **TINY), data)
    normals = data.images[torch.as_tensor(np.flatnonzero(data.grades == 0))]
    expected = space_vectors(result.net, normals, "preference").mean(0)
    assert torch.allclose(result.anchor, expected, atol=1e-5)


def test_a_loss_that_stops_being_a_number_stops_training_with_a_clear_error():
    from core.learning.train import TrainingDiverged

    wild = {**TINY, "pairs_per_phase": 64, "encoder_lr": 1e30, "head_lr": 1e30}
    with pytest.raises(TrainingDiverged, match="learner diverged in learner, step"):
        train(TrainConfig(method="learner", **wild), toy_set())


def test_ordering_figures_are_given_for_each_dataset_of_a_shared_model():
    """Each dataset is scored on its own test images, or on its validation images when it
    has no test split (RetinaMNIST as shipped)."""
    from core.learning.from_store import ordering_by_dataset

    data = toy_set(n=40)
    data.datasets = np.repeat([7, 9], 20)
    result = train(TrainConfig(method="conpro", **TINY), data)
    names = {7: "retina", 9: "cohort"}
    figures = ordering_by_dataset(result, {"train": data, "val": data}, names)
    expected = {"tau@retina", "tau_abnormal@cohort", "auc_abnormal@retina", "tau_truth@cohort"}
    assert expected <= set(figures) and figures["evaluated_on@retina"] == "val"
    cohort_test = data.subset(np.arange(20, 40))
    splits = {"train": data, "val": data, "test": cohort_test}
    figures = ordering_by_dataset(result, splits, names)
    assert (figures["evaluated_on@cohort"], figures["evaluated_on@retina"]) == ("test", "val")


def test_ungraded_images_beside_graded_ones_do_not_stop_the_evaluation():
    """A study may hold a clinic's ungraded images beside a graded cohort: the probe and
    its figures use the graded images only (before, ``grade_weights`` failed on -1)."""
    data = toy_set(n=30)
    result = train(TrainConfig(method="conpro", **TINY), data)
    with_ungraded = toy_set(n=30, seed=1)
    with_ungraded.grades[::3] = -1  # a third of every split without a grade
    splits = {"train": with_ungraded, "val": with_ungraded, "test": with_ungraded}

    metrics = evaluate_on_store(result, splits, [])

    assert {"macro_f1", "qwk", "tau"} <= set(metrics)
    graded_only = evaluate_on_store(result, {k: _graded_part(v) for k, v in splits.items()}, [])
    assert metrics["tau"] == pytest.approx(graded_only["tau"])


def _graded_part(images):
    return images.subset(np.flatnonzero(images.grades >= 0))
