"""``python -m core bench``: every method through the same training and evaluation,
over several seeds, as a markdown table in the manner of ConPro's Table 1, plus JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .data import ImageSet, load_npz_splits
from .evaluate import evaluate
from .metrics import constant_maee
from .train import train

COLUMNS = [
    ("macro_f1", "macro-F1"),
    ("macro_recall", "macro recall"),
    ("accuracy", "accuracy"),
    ("maee", "MAEE"),
    ("maee_bayes", "MAEE (Bayes)"),
    ("qwk", "QW kappa"),
    ("tau", "Kendall tau"),
    ("auc_abnormal", "AUC abnormal"),
    ("tau_abnormal", "tau abnormal"),
    ("tau_truth", "tau truth"),
]
HOLDOUT_SEED = 12345  # the held-out test slice never depends on the method's seed
HOLDOUT_FRACTION = 0.2


def holdout_split(train_set: ImageSet) -> tuple[ImageSet, ImageSet]:
    """A stratified slice of the training split, held out as the test set."""
    rng = np.random.default_rng(HOLDOUT_SEED)
    test_index = []
    for grade in np.unique(train_set.grades):
        members = rng.permutation(np.flatnonzero(train_set.grades == grade))
        test_index += members[: round(len(members) * HOLDOUT_FRACTION)].tolist()
    test_mask = np.zeros(len(train_set), dtype=bool)
    test_mask[test_index] = True
    return train_set.subset(np.flatnonzero(~test_mask)), train_set.subset(np.flatnonzero(test_mask))


def load_benchmark_data(train_npz: str, test_npz: str | None, size: int):
    splits = load_npz_splits(train_npz, size)
    if "val" not in splits:
        raise ValueError(f"{train_npz} has no val split, needed for model selection")
    if test_npz:
        test = load_npz_splits(test_npz, size).get("test")
        if test is None:
            raise ValueError(f"{test_npz} has no test_images / test_labels")
        return splits["train"], splits["val"], test, f"{Path(test_npz).name}:test"
    train_set, test = holdout_split(splits["train"])
    return train_set, splits["val"], test, f"stratified {HOLDOUT_FRACTION:.0%} of train held out"


def run_benchmark(
    base: TrainConfig,
    train_npz: str,
    test_npz: str | None,
    methods: list[str],
    seeds: int,
    log=print,
) -> dict:
    train_set, val, test, test_source = load_benchmark_data(train_npz, test_npz, base.image_size)
    runs = []
    for method in methods:
        for seed in range(seeds):
            config = replace(base, method=method, seed=seed)
            started = time.perf_counter()
            result = train(config, train_set)
            trained = time.perf_counter()
            metrics = evaluate(result, train_set, val, test)
            finished = time.perf_counter()
            train_seconds = trained - started
            runs.append(
                {
                    "method": method,
                    "seed": seed,
                    **metrics,
                    "train_seconds": train_seconds,
                    "eval_seconds": finished - trained,
                    "total_seconds": finished - started,
                    "train_images_per_second": _images_per_second(result.timings),
                }
            )
            log(
                f"{method} seed {seed}: macro-F1 {metrics['macro_f1']:.3f}, "
                f"MAEE {metrics['maee']:.2f}, tau {metrics['tau']:.3f}, "
                f"{finished - started:.0f} s"
            )
    return {
        "config": base.to_dict(),
        "methods": methods,
        "seeds": seeds,
        "data": {
            "train": train_npz,
            "n_train": len(train_set),
            "n_val": len(val),
            "n_test": len(test),
            "test": test_source,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "device": "cuda" if base.device != "cpu" and torch.cuda.is_available() else "cpu",
            "platform": platform.platform(),
        },
        "runs": runs,
        "summary": summarise(runs, methods),
        "constant_predictor": constant_maee(train_set.grades, test.grades),
    }


def _images_per_second(timings: dict[str, float]) -> float:
    rates = [v for k, v in timings.items() if k.endswith("_images_per_second")]
    return float(np.mean(rates)) if rates else float("nan")


def summarise(runs: list[dict], methods: list[str]) -> dict[str, dict[str, list[float]]]:
    """Mean and sample standard deviation (ddof 1) over seeds, for every figure that
    every run of the method has (tau_truth exists only where a truth does)."""
    keys = [k for k, _ in COLUMNS] + ["train_seconds", "train_images_per_second"]
    summary = {}
    for method in methods:
        mine = [r for r in runs if r["method"] == method]
        summary[method] = {
            k: _mean_std([r[k] for r in mine]) for k in keys if all(k in r for r in mine)
        }
    return summary


def _mean_std(values: list[float]) -> list[float]:
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return [float(np.mean(values)), spread]


def markdown_table(report: dict) -> str:
    shown = [(k, t) for k, t in COLUMNS if all(k in v for v in report["summary"].values())]
    header = "| method | " + " | ".join(title for _, title in shown)
    header += " | train s | train img/s |"
    lines = [header, "|" + " --- |" * (len(shown) + 3)]
    for method, values in report["summary"].items():
        cells = [f"{values[k][0]:.3f} ± {values[k][1]:.3f}" for k, _ in shown]
        cells.append(f"{values['train_seconds'][0]:.0f}")
        cells.append(f"{values['train_images_per_second'][0]:.0f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    constant = report.get("constant_predictor")
    if constant:
        lines.append(
            f"\nConstant predictor (always grade {constant['constant_grade']}): "
            f"MAEE {constant['maee']:.3f}."
        )
    return "\n".join(lines)


def write_report(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2))
