"""The fair benchmark's bookkeeping, with training and evaluation stood in for: runs carry
their seeds from training to the report, a diverged run keeps its seed, and the figures
are scored over every grade the probe knows."""

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from core.experiments import fair
from core.learning.config import TrainConfig
from core.learning.data import ImageSet
from core.learning.evaluate import TestOutputs as Outputs

DIVERGED = {("conpro", 0), ("supcon2", 1)}  # conpro ran seeds 1, 2; supcon2 seeds 0, 2


def image_set(grades) -> ImageSet:
    grades = np.asarray(grades)
    n = len(grades)
    images = torch.zeros(n, 3, 16, 16)
    return ImageSet(images, grades, np.full(n, np.nan), np.arange(n), health_is_truth=False)


# the probe learns grades 0-4; the test slice holds grades 0-2 only
TEST = image_set(np.arange(30) % 3)
DATA = (image_set(np.arange(40) % 5), image_set(np.arange(15) % 5), TEST, "stand-in")


@dataclass
class StandIn:
    """A trained model as far as the benchmark looks at it."""

    config: TrainConfig
    notes: dict = field(default_factory=dict)


def outputs_at(seed: int, degraded: bool) -> Outputs:
    """The same answers for every method at a seed: paired by seed, methods differ by
    nothing; a prediction of 3 or 4 is above every test grade."""
    rng = np.random.default_rng(seed + 100 * degraded)
    grades = TEST.grades
    predicted = np.clip(grades + rng.integers(-1, 3, len(grades)), 0, 4)
    return Outputs(predicted, predicted, grades + rng.normal(0, 0.5 + seed, len(grades)))


def stand_in_training(label, config, train_set, log=print):
    if (label, config.seed) in DIVERGED:
        return f"{label} diverged"
    labels = [label, f"{label}:con"] if label == "conpro" else [label]
    return fair.TrainedRun(config.seed, [(x, StandIn(config)) for x in labels], 1.0, 10.0)


def stand_in_evaluation(model, train, val, test):
    outputs = outputs_at(model.config.seed, degraded=test is not TEST)
    metrics = {"macro_f1": 0.5, "tau": 0.5, "tau_abnormal": 0.5}
    return metrics, outputs


@pytest.fixture
def report(monkeypatch):
    monkeypatch.setattr(fair, "train_arm", stand_in_training)
    monkeypatch.setattr(fair, "evaluate_with_outputs", stand_in_evaluation)
    arms = [fair.parse_arm("conpro"), fair.parse_arm("supcon2")]
    config = TrainConfig(image_size=16, device="cpu")
    return fair.run_benchmark(
        config, DATA, arms, seeds=3, resamples=30, log=lambda *_: None, degraded=0.6
    )


def test_a_diverged_seed_is_left_out_of_pairing_and_kept_in_the_report(report):
    methods = report["methods"]
    assert methods["conpro"]["seeds"] == methods["conpro:con"]["seeds"] == [1, 2]
    assert methods["supcon2"]["seeds"] == [0, 2]
    assert methods["constant"]["seeds"] == [None]
    # the arm's divergence loses its Con-step row too, and says at which seed
    assert methods["conpro"]["diverged_seeds"] == methods["conpro:con"]["diverged_seeds"] == [0]
    assert methods["conpro:con"]["diverged"] == 1
    assert methods["supcon2"]["diverged"] == 1 and methods["supcon2"]["diverged_seeds"] == [1]
    assert {"arm": "supcon2", "seed": 1, "diverged": "supcon2 diverged"} in report["runs"]
    # only seed 2 is shared, where the answers are the same: every difference is zero
    for figure in methods["supcon2"]["paired"]["conpro"].values():
        assert figure["seeds"] == [2] and figure["per_run"] == [0.0]
        assert figure["ci95"] == [0.0, 0.0]
    # the constant floor pairs with every seed ConPro ran
    assert methods["constant"]["paired"]["conpro"]["tau"]["seeds"] == [1, 2]
    # the drop of one method against another is taken at a seed both ran
    versus = report["degraded"]["methods"]["supcon2"]["smaller_drop_than_conpro"]
    assert versus["macro_f1"] == {"mean": 0.0, "ci95": [0.0, 0.0]}


def test_figures_count_every_grade_the_probe_knows(report):
    grades = TEST.grades
    runs = [outputs_at(seed, degraded=False).predicted for seed in (1, 2)]
    accuracy = np.mean([np.mean(p == grades) for p in runs])
    qwk = np.mean(
        [cohen_kappa_score(grades, p, weights="quadratic", labels=range(5)) for p in runs]
    )
    assert max(p.max() for p in runs) > grades.max()  # the case in question
    figures = report["methods"]["conpro"]["metrics"]
    assert figures["accuracy"]["mean"] == pytest.approx(accuracy)
    assert figures["qwk"]["mean"] == pytest.approx(qwk)
