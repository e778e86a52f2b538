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
            "conpro,supcon2,random",
            "--variant",
            "scale5:preference_scale=5",
            "--seeds",
            "2",
            "--resamples",
            "50",
            "--out",
            str(out),
            *FAST,
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert "| method | macro-F1 |" in table and "| conpro |" in table and "| random |" in table
    report = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in report["runs"]] == [
        ("conpro", 0),
        ("conpro:con", 0),
        ("conpro", 1),
        ("conpro:con", 1),
        ("supcon2", 0),
        ("supcon2", 1),
        ("random", 0),
        ("random", 1),
        ("scale5", 0),
        ("scale5", 1),
    ]
    assert report["arms"]["scale5"] == {"preference_scale": 5.0}
    methods = report["methods"]
    assert set(methods) == {"conpro", "conpro:con", "supcon2", "random", "scale5", "constant"}
    conpro = methods["conpro"]["metrics"]
    values = [r["macro_f1"] for r in report["runs"] if r["arm"] == "conpro"]
    assert conpro["macro_f1"]["mean"] == pytest.approx(np.mean(values))
    assert conpro["macro_f1"]["std"] == pytest.approx(np.std(values, ddof=1))
    expected = {"macro_f1", "maee", "maee_bayes", "qwk", "tau", "tau_abnormal", "auc_abnormal"}
    assert expected <= set(conpro)
    assert "tau_truth" not in conpro  # RetinaMNIST-like: no truth
    assert all(len(f["ci95"]) == 2 for f in conpro.values())
    # the Con step of ConPro is SupCon-2's, step for step: the same network, paired zero
    same = methods["supcon2"]["paired"]["conpro:con"]
    assert all(f["per_run"] == [0.0, 0.0] for f in same.values())
    assert methods["conpro:con"]["budget"] == methods["supcon2"]["budget"]
    budget = methods["conpro"]["budget"]
    assert budget["con"]["steps"] == budget["pro"]["steps"] == 2  # 8 pairs, 4 a step
    assert set(methods["random"]["paired"]) == {"conpro", "conpro:con"}
    assert methods["constant"]["metrics"]["tau"]["mean"] == 0.0
    # 8 images per grade; 20% of 8 rounds to 2 per grade, for 5 grades
    assert report["data"]["n_test"] == 10
    assert all(r["train_seconds"] >= 0 for r in report["runs"])


def test_bench_on_the_synthetic_cohort_reports_tau_against_the_truth(tmp_path, capsys):
    out = tmp_path / "cohort.json"
    args = ["bench", "--cohort", "24", "--methods", "supcon2", "--seeds", "1"]
    assert main([*args, "--resamples", "20", "--out", str(out), *FAST]) == 0
    report = json.loads(out.read_text())
    assert "tau_truth" in report["methods"]["supcon2"]["metrics"]
    assert "held-out test patients" in report["data"]["test"]
    assert "tau truth" in capsys.readouterr().out


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


def test_trend_bench_compares_pre_trainings_and_both_ways_of_calling(tmp_path, capsys):
    out = tmp_path / "trend.json"
    args = ["trend-bench", "--seeds", "2", "--patients", "16", "--arms", "wcl,conpro"]
    assert main([*args, "--out", str(out), *FAST]) == 0
    assert "| LEARNER, MSE + wCL |" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in report["runs"]] == [
        ("wcl", 0),
        ("wcl", 1),
        ("conpro", 0),
        ("conpro", 1),
    ]
    for run in report["runs"]:
        for figure in ("trend_macro_f1", "trend_score_change_macro_f1"):
            assert 0.0 <= run[figure] <= 1.0
        assert 0.0 < run["trend_majority_accuracy"] <= 1.0
        assert -1.0 <= run["tau_truth"] <= 1.0
    values = [r["trend_accuracy"] for r in report["runs"] if r["arm"] == "conpro"]
    assert report["summary"]["conpro"]["trend_accuracy"][1] == pytest.approx(np.std(values, ddof=1))
    assert sum(report["patients_per_split"].values()) == 16


def test_bench_scores_an_official_test_split_when_one_is_given(tiny_npz, tmp_path):
    rng = np.random.default_rng(1)
    grades = np.arange(12) % 5
    images = (rng.integers(0, 60, (12, 16, 16, 3)) + grades[:, None, None, None] * 40).astype(
        np.uint8
    )
    official = tmp_path / "test.npz"
    np.savez(official, test_images=images, test_labels=grades.reshape(-1, 1))
    out = tmp_path / "official.json"
    args = ["bench", "--train", str(tiny_npz), "--test", str(official), "--methods", "random"]
    assert main([*args, "--seeds", "1", "--resamples", "10", "--out", str(out), *FAST]) == 0
    report = json.loads(out.read_text())
    assert report["data"]["n_test"] == 12 and report["data"]["test"] == "test.npz:test"
    assert report["data"]["n_train"] == 40  # nothing held out of train when a test is given


def test_bench_degraded_scores_each_method_on_worse_images_and_reports_its_drop(
    tiny_npz, tmp_path, capsys
):
    out = tmp_path / "robust.json"
    args = ["bench", "--train", str(tiny_npz), "--methods", "comcl,supcon2", "--seeds", "1"]
    assert main([*args, "--degraded", "--resamples", "30", "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "Degraded test images (strength 0.6)" in printed and "| comcl |" in printed
    report = json.loads(out.read_text())
    assert report["degraded"]["strength"] == 0.6
    for method in ("comcl", "supcon2"):
        entry = report["degraded"]["methods"][method]
        clean = report["methods"][method]["metrics"]["macro_f1"]["mean"]
        worse = entry["degraded"]["macro_f1"]["mean"]
        drop = entry["drop"]["macro_f1"]
        assert drop["mean"] == pytest.approx(clean - worse)  # clean minus degraded
        low, high = drop["ci95"]
        assert low <= high
    versus = report["degraded"]["methods"]["comcl"]["smaller_drop_than_supcon2"]["macro_f1"]
    supcon_drop = report["degraded"]["methods"]["supcon2"]["drop"]["macro_f1"]["mean"]
    comcl_drop = report["degraded"]["methods"]["comcl"]["drop"]["macro_f1"]["mean"]
    assert versus["mean"] == pytest.approx(supcon_drop - comcl_drop)
    assert "comcl loses less than supcon2 by" in printed


def test_a_degraded_copy_keeps_labels_and_order_and_changes_the_pixels():
    import torch

    from core.learning.data import ImageSet, degraded_copy, to_tensor

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (5, 16, 16, 3)).astype(np.uint8)
    clean = ImageSet(to_tensor(pixels, 16), np.arange(5) % 3, np.zeros(5), np.arange(5))
    worse = degraded_copy(clean, 0.8)
    assert worse.images.shape == clean.images.shape
    assert np.array_equal(worse.grades, clean.grades) and np.array_equal(
        worse.image_ids, clean.image_ids
    )
    assert not torch.allclose(worse.images, clean.images)
    assert torch.equal(degraded_copy(clean, 0.8).images, worse.images)  # seeded: reproducible
