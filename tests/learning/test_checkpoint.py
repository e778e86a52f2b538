"""Checkpoints hold tensors and plain values only, so the safe loader always reads them;
one written before that rule is repaired by ``check_checkpoint``."""

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau
from sklearn.metrics import cohen_kappa_score

from core.learning.checkpoint import (
    CheckpointUnreadable,
    check_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from core.learning.config import TrainConfig
from core.learning.metrics import judgment_agreement
from core.learning.train import train
from tests.learning.test_train import TINY, toy_set


@pytest.fixture(scope="module")
def trained():
    return train(TrainConfig(method="conpro", **TINY), toy_set())


def numpy_and_scipy_metrics() -> dict:
    """Figures as the libraries hand them back, unconverted."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20), rng.normal(size=20)
    return {
        "val_judgment_agreement": np.mean(a > b),  # numpy.float64
        "tau": kendalltau(a, b).statistic,
        "qwk": cohen_kappa_score(
            rng.integers(0, 5, 20), rng.integers(0, 5, 20), weights="quadratic"
        ),
        "n_judgments_trained_on": np.int64(12),
        "selected": np.bool_(True),
        "per_grade": np.array([0.5, 0.25]),
        "unmeasured": float("nan"),
    }


def test_metrics_from_numpy_and_scipy_load_with_weights_only(tmp_path, trained):
    metrics = numpy_and_scipy_metrics()
    assert any(type(v).__module__ == "numpy" for v in metrics.values())  # the hazard is real
    path = save_checkpoint(tmp_path / "model.pt", trained, metrics)
    payload = torch.load(path, weights_only=True)  # what the embed job does
    stored = payload["metrics"]
    assert stored["n_judgments_trained_on"] == 12 and type(stored["n_judgments_trained_on"]) is int
    assert type(stored["val_judgment_agreement"]) is float
    assert stored["selected"] is True and stored["per_grade"] == [0.5, 0.25]
    assert "unmeasured" not in stored
    assert load_checkpoint(path)[4] == stored


def test_agreement_is_a_plain_float():
    value = judgment_agreement(np.array([2.0, 1.0]), np.array([1.0, 2.0]), ["left", "left"])
    assert type(value) is float and value == 0.5


def _legacy_checkpoint(path, trained):
    """A checkpoint as the first release wrote it: a numpy scalar among the metrics."""
    torch.save(
        {
            "state_dict": trained.net.state_dict(),
            "anchor": trained.anchor,
            "score_space": trained.method.score_space,
            "config": trained.config.to_dict(),
            "metrics": {"val_judgment_agreement": np.float64(0.75)},
        },
        path,
    )
    return path


def test_a_legacy_checkpoint_is_refused_safely_then_repaired(tmp_path, trained):
    path = _legacy_checkpoint(tmp_path / "old.pt", trained)
    with pytest.raises(CheckpointUnreadable, match="cannot be loaded safely"):
        load_checkpoint(path)
    assert check_checkpoint(path).state == "unreadable"  # report only: file untouched
    with pytest.raises(CheckpointUnreadable):
        load_checkpoint(path)
    assert check_checkpoint(path, repair=True).state == "repaired"
    metrics = load_checkpoint(path)[4]
    assert metrics == {"val_judgment_agreement": 0.75}
    assert check_checkpoint(path).state == "ok"


def test_missing_and_garbage_checkpoints_are_reported(tmp_path):
    assert check_checkpoint(tmp_path / "gone.pt").state == "missing"
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    result = check_checkpoint(garbage, repair=True)
    assert result.state == "unreadable" and "repair failed" in result.detail
