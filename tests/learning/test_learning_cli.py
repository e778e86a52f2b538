import json

import numpy as np
import pytest

from core.cli import main
from core.demo import import_cohort
from core.store import Store
from core.synthetic import CohortConfig

FAST = ["--image-size", "16", "--batch-size", "4", "--pairs", "8", "--device", "cpu"]


@pytest.fixture
def tiny_npz(tmp_path):
    rng = np.random.default_rng(0)

    def split(n):
        grades = np.arange(n) % 5
        images = rng.integers(0, 60, (n, 16, 16, 3)) + grades[:, None, None, None] * 40
        return images.astype(np.uint8), grades.reshape(-1, 1)

    (train_x, train_y), (val_x, val_y) = split(40), split(15)
    path = tmp_path / "tiny.npz"
    np.savez(path, train_images=train_x, train_labels=train_y, val_images=val_x, val_labels=val_y)
    return path


def test_bench_prints_a_table_and_writes_json(tiny_npz, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(
        [
            "bench",
            "--train",
            str(tiny_npz),
            "--methods",
            "conpro,random",
            "--seeds",
            "2",
            "--out",
            str(out),
            *FAST,
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert "| method | macro-F1 |" in table and "| conpro |" in table and "| random |" in table
    report = json.loads(out.read_text())
    assert [(r["method"], r["seed"]) for r in report["runs"]] == [
        ("conpro", 0),
        ("conpro", 1),
        ("random", 0),
        ("random", 1),
    ]
    mean, std = report["summary"]["conpro"]["macro_f1"]
    values = [r["macro_f1"] for r in report["runs"] if r["method"] == "conpro"]
    assert mean == pytest.approx(np.mean(values)) and std == pytest.approx(np.std(values, ddof=1))
    assert {"maee_bayes", "auc_abnormal", "tau_abnormal"} <= set(report["summary"]["conpro"])
    assert "tau_truth" not in report["summary"]["conpro"]  # RetinaMNIST-like: no truth
    assert report["constant_predictor"]["maee"] >= 1.0 and "Constant predictor" in table
    # 8 images per grade; 20% of 8 rounds to 2 per grade, for 5 grades
    assert report["data"]["n_test"] == 10
    assert all(r["train_seconds"] >= 0 for r in report["runs"])


def test_train_on_an_npz_writes_a_checkpoint(tiny_npz, tmp_path, capsys):
    code = main(
        [
            "train",
            "--method",
            "supcon2",
            "--data",
            str(tiny_npz),
            "--out",
            str(tmp_path / "models"),
            *FAST,
        ]
    )
    assert code == 0
    assert (tmp_path / "models" / "supcon2-seed0.pt").exists()
    assert "macro_f1" in capsys.readouterr().out


def test_train_on_the_store_registers_a_candidate_version(tmp_path):
    db = tmp_path / "app.db"
    with Store(db) as store:
        import_cohort(store, CohortConfig(patients=12, image_size=32))
    code = main(
        ["train", "--method", "conpro", "--db", str(db), "--out", str(tmp_path / "models"), *FAST]
    )
    assert code == 0
    with Store(db) as store:
        (model,) = store.models.list()
        assert model["status"] == "candidate" and model["version"] == 1
        assert model["metrics"]["evaluated_on"] in ("test", "val")
        assert "macro_f1" in model["metrics"]
        assert store.models.active() is None  # activation is the worker's rule, not train's


def test_unknown_method_is_a_clear_error(tiny_npz, capsys):
    assert main(["train", "--method", "nope", "--data", str(tiny_npz), *FAST]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err


def test_trend_bench_compares_the_three_pre_trainings(tmp_path, capsys):
    out = tmp_path / "trend.json"
    code = main(["trend-bench", "--seeds", "1", "--patients", "12", "--out", str(out), *FAST])
    assert code == 0
    assert "| MSE + wCL |" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [r["variant"] for r in report["runs"]] == ["mse", "cl", "wcl"]
    assert sum(report["patients_per_split"].values()) == 12
