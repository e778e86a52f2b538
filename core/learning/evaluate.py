"""The papers' evaluation protocol, the same code for every method.

Frozen encoder in eval mode (BatchNorm statistics frozen too); a 2-layer MLP probe
(hidden 256, ReLU, dropout 0.1) trained with class-weighted cross-entropy, weights from
the *training* split only; the epoch with the best validation macro-F1 is kept; test
metrics are reported for that epoch, plus Kendall tau between s(x) and the grade and
agreement with held-out judgments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data import ImageSet
from .methods import grade_weights
from .metrics import (
    bayes_maee_decision,
    classification_metrics,
    judgment_agreement,
    maee,
    severity_ordering,
)
from .scoring import severity_scores, space_vectors
from .train import TrainResult


def probe_head(in_dim: int, classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(in_dim, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, classes)
    )


@dataclass
class Probe:
    """A fitted MLP probe with the feature normalisation it was trained with."""

    head: nn.Module
    mean: np.ndarray
    std: np.ndarray
    val_macro_f1: float  # the model-selection figure

    def _inputs(self, features: np.ndarray) -> torch.Tensor:
        return torch.tensor((features - self.mean) / self.std, dtype=torch.float32)

    @torch.no_grad()
    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return torch.softmax(self.head(self._inputs(features)), dim=1).numpy()

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.probabilities(features).argmax(1)


def train_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    epochs: int,
    seed: int,
) -> Probe:
    """Fit the MLP probe; keep it at the epoch of best validation macro-F1."""
    torch.manual_seed(seed)
    classes = int(max(train_y.max(), val_y.max())) + 1
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    probe = Probe(probe_head(train_x.shape[1], classes), mean, std, -1.0)
    x, y = probe._inputs(train_x), torch.tensor(train_y, dtype=torch.long)
    # class weights from the training split only, never the test split
    loss_fn = nn.CrossEntropyLoss(weight=grade_weights(train_y, classes))
    optimizer = torch.optim.Adam(probe.head.parameters(), lr=1e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    best_state: dict[str, torch.Tensor] = {}
    for _ in range(epochs):
        probe.head.train()
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            loss_fn(probe.head(x[batch]), y[batch]).backward()
            optimizer.step()
        probe.head.eval()
        f1 = classification_metrics(val_y, probe.predict(val_x))["macro_f1"]
        if f1 > probe.val_macro_f1:
            probe.val_macro_f1 = f1
            best_state = {k: v.clone() for k, v in probe.head.state_dict().items()}
    probe.head.load_state_dict(best_state)
    probe.head.eval()
    return probe


@dataclass
class TestOutputs:
    """What a model answered for each test image: the figures' raw material, kept so
    that a benchmark can resample test images (bootstrap) and pair methods."""

    predicted: np.ndarray  # probe argmax grade
    predicted_bayes: np.ndarray  # the grade of least expected MAEE
    score: np.ndarray  # s(x)


def evaluate(
    result: TrainResult,
    train: ImageSet,
    val: ImageSet,
    test: ImageSet,
    held_out_judgments: list[dict] | None = None,
) -> dict[str, float]:
    """All reported metrics of one trained network on the test split."""
    return evaluate_with_outputs(result, train, val, test, held_out_judgments)[0]


def evaluate_with_outputs(
    result: TrainResult,
    train: ImageSet,
    val: ImageSet,
    test: ImageSet,
    held_out_judgments: list[dict] | None = None,
) -> tuple[dict[str, float], TestOutputs]:
    """The metrics, and the per-image outputs they were computed from."""
    net = result.net
    features = {
        name: space_vectors(net, s.images, "features").numpy()
        for name, s in (("train", train), ("val", val), ("test", test))
    }
    probe = train_probe(
        features["train"],
        train.grades,
        features["val"],
        val.grades,
        result.config.probe_epochs,
        result.config.seed,
    )
    probabilities = probe.probabilities(features["test"])
    score = severity_scores(net, test.images, result.method.score_space, result.anchor)
    outputs = TestOutputs(probabilities.argmax(1), bayes_maee_decision(probabilities), score)
    metrics = classification_metrics(test.grades, outputs.predicted)
    metrics["maee_bayes"] = maee(test.grades, outputs.predicted_bayes)
    metrics["val_macro_f1"] = float(probe.val_macro_f1)
    metrics.update(
        severity_ordering(outputs.score, test.grades, test.health if test.health_is_truth else None)
    )
    if held_out_judgments:
        metrics["judgment_agreement"] = agreement_on(net, result, test, held_out_judgments)
    return metrics, outputs


def agreement_on(net, result: TrainResult, image_set: ImageSet, judgments: list[dict]) -> float:
    position = {int(i): k for k, i in enumerate(image_set.image_ids)}
    usable = [
        j for j in judgments if j["left_image_id"] in position and j["right_image_id"] in position
    ]
    if not usable:
        return float("nan")
    scores = severity_scores(net, image_set.images, result.method.score_space, result.anchor)
    left = np.array([scores[position[j["left_image_id"]]] for j in usable])
    right = np.array([scores[position[j["right_image_id"]]] for j in usable])
    return judgment_agreement(left, right, [j["outcome"] for j in usable])
