"""``python -m core bench``: every method (and any variant of one) through the same
training and evaluation, over several seeds, scored on the same test images.

Fairness, by construction:
- every phase gets the same budget (``train.total_steps``), so ConPro's Con step is
  SupCon-2's and its PrO step comes on top; ConPro is also scored right after its Con
  step (the row ``conpro:con``), so "what PrO adds" is a paired difference in one run;
- images per step are stated per phase (``IMAGES_PER_STEP``);
- a constant predictor (floor) and a supervised ResNet (ceiling) sit beside the methods;
- every figure has a 95% bootstrap interval over test images, and every method a paired
  difference against ``conpro`` (``resampling.py``).
"""

from __future__ import annotations

import copy
import json
import os
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .data import ImageSet, degraded_copy, load_npz_splits
from .evaluate import evaluate_with_outputs
from .methods import METHODS
from .metrics import constant_grade
from .resampling import FIGURES, Answers, drop_difference, summarise_with_intervals
from .scoring import fit_anchor
from .train import TrainingDiverged, TrainResult, total_steps, train

TITLES = {
    "macro_f1": "macro-F1",
    "macro_recall": "macro recall",
    "accuracy": "accuracy",
    "maee": "MAEE",
    "maee_bayes": "MAEE (Bayes)",
    "qwk": "QW kappa",
    "tau": "Kendall tau",
    "tau_abnormal": "tau abnormal",
    "auc_abnormal": "AUC abnormal",
    "tau_truth": "tau truth",
}
HOLDOUT_SEED = 12345  # the held-out test slice never depends on the method's seed
HOLDOUT_FRACTION = 0.2
REFERENCE = "conpro"
CON_STEP = "conpro:con"  # ConPro scored after its Con step: SupCon-2 at the same budget
CONSTANT = "constant"

# images a step sees, per phase, for a batch of B pairs and n anchor normals
IMAGES_PER_STEP = {
    "con": "2B",
    "pro": "2B + n (anchor, eval mode) [+ B normals with normal_pull]",
    "semise": "2B (two views) + 2B (pairs) + n (anchor)",
    "supcon": "2B (two views of B images)",
    "simclr": "2B (two views of B images)",
    "learner": "2B",
    "supervised": "2B",
}


@dataclass(frozen=True)
class Arm:
    """One row of the benchmark: a label and the configuration it trains with."""

    label: str
    overrides: tuple[tuple[str, object], ...] = ()

    def config(self, base: TrainConfig, seed: int) -> TrainConfig:
        values = dict(self.overrides)
        values.setdefault("method", self.label if self.label in METHODS else REFERENCE)
        return replace(base, seed=seed, **values)


def parse_arm(text: str) -> Arm:
    """``conpro`` or ``label:key=value,key=value`` (a variant; the method defaults to
    conpro), e.g. ``scale5:preference_scale=5``."""
    label, _, settings = text.partition(":")
    overrides = []
    for item in filter(None, (s.strip() for s in settings.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"variant setting {item!r} is not key=value")
        overrides.append((key.strip(), _typed(key.strip(), value.strip())))
    return Arm(label.strip(), tuple(overrides))


def _typed(key: str, value: str):
    default = getattr(TrainConfig(), key, None)
    if key not in TrainConfig.__dataclass_fields__:
        raise ValueError(f"unknown training setting {key!r}")
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes")
    if isinstance(default, int) or key in ("pro_pairs", "pairs_per_phase"):
        return int(float(value))
    if isinstance(default, float):
        return float(value)
    return value


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


def load_cohort_data(patients: int, size: int):
    """The synthetic cohort, split by patient: its rendered severity is the truth."""
    from core.synthetic import CohortConfig

    from .trend_bench import cohort_splits

    splits = cohort_splits(CohortConfig(patients=patients), size)
    held_out = len(set(splits["test"].patients))
    return (
        splits["train"],
        splits["val"],
        splits["test"],
        f"synthetic cohort, {patients} patients, {held_out} held-out test patients",
    )


def run_benchmark(
    base: TrainConfig,
    data: tuple[ImageSet, ImageSet, ImageSet, str],
    arms: list[Arm],
    seeds: int,
    resamples: int = 1000,
    log=print,
    first_seed: int = 0,
    degraded: float | None = None,
) -> dict:
    """``degraded``: also score every trained model on the test images at that quality
    (``data.degraded_copy``) and report each method's drop, paired image by image."""
    train_set, val, test, test_source = data
    test_degraded = degraded_copy(test, degraded) if degraded is not None else None
    answers_degraded: dict[str, list[Answers]] = {}
    truth = test.health if test.health_is_truth else None
    runs: list[dict] = []
    answers: dict[str, list[Answers]] = {}
    budget: dict[str, dict] = {}
    for arm in arms:
        for seed in range(first_seed, first_seed + seeds):
            config = arm.config(base, seed)
            budget[arm.label] = _budget(config, len(train_set))
            snapshots: dict[str, TrainResult] = {}
            started = time.perf_counter()
            try:
                result = train(
                    config,
                    train_set,
                    on_phase_end=_keep_con_step(arm.label, config, train_set, snapshots),
                )
            except TrainingDiverged as error:
                # said, counted and left out: its figures do not exist
                runs.append({"arm": arm.label, "seed": seed, "diverged": str(error)})
                log(f"{arm.label} seed {seed}: {error}")
                continue
            train_seconds = time.perf_counter() - started
            scored = [(arm.label, result)] + [
                (f"{arm.label}:{phase}", snap) for phase, snap in snapshots.items()
            ]
            for label, trained in scored:
                metrics, outputs = evaluate_with_outputs(trained, train_set, val, test)
                answers.setdefault(label, []).append(
                    Answers(outputs.predicted, outputs.predicted_bayes, outputs.score)
                )
                if test_degraded is not None:
                    _, worse = evaluate_with_outputs(trained, train_set, val, test_degraded)
                    answers_degraded.setdefault(label, []).append(
                        Answers(worse.predicted, worse.predicted_bayes, worse.score)
                    )
                runs.append(
                    {
                        "arm": label,
                        "method": trained.config.method,
                        "seed": seed,
                        **metrics,
                        "train_seconds": train_seconds,
                        "train_images_per_second": _images_per_second(result.timings),
                        **trained.notes,
                    }
                )
                log(
                    f"{label} seed {seed}: macro-F1 {metrics['macro_f1']:.3f}, "
                    f"tau {metrics['tau']:.3f}, tau abnormal "
                    f"{metrics.get('tau_abnormal', float('nan')):.3f}, {train_seconds:.0f} s"
                )
    answers[CONSTANT] = [constant_answers(train_set.grades, len(test))]
    started = time.perf_counter()
    methods = summarise_with_intervals(
        test.grades, answers, truth, (REFERENCE, CON_STEP), resamples
    )
    log(f"bootstrap ({resamples} resamples): {time.perf_counter() - started:.0f} s")
    for label, summary in methods.items():
        mine = [r for r in runs if r["arm"] == label and "diverged" not in r]
        summary["diverged"] = sum(r["arm"] == label and "diverged" in r for r in runs)
        if mine:
            summary["train_seconds"] = float(np.mean([r["train_seconds"] for r in mine]))
            summary["train_images_per_second"] = float(
                np.mean([r["train_images_per_second"] for r in mine])
            )
        arm, _, phase = label.partition(":")
        spent = budget.get(arm, {})
        summary["budget"] = {phase: spent[phase]} if phase else spent
    robustness = (
        _robustness(test.grades, answers, answers_degraded, truth, resamples)
        if test_degraded is not None
        else None
    )
    return {
        "degraded": None if robustness is None else {"strength": degraded, "methods": robustness},
        "config": base.to_dict(),
        "arms": {a.label: dict(a.overrides) for a in arms},
        "seeds": list(range(first_seed, first_seed + seeds)),
        "resamples": resamples,
        "data": {
            "n_train": len(train_set),
            "n_val": len(val),
            "n_test": len(test),
            "test": test_source,
            "test_grades": np.bincount(test.grades).tolist(),
        },
        "images_per_step": IMAGES_PER_STEP,
        "machine": machine(base),
        "runs": runs,
        "methods": methods,
    }


def _robustness(
    grades: np.ndarray,
    clean: dict[str, list[Answers]],
    degraded: dict[str, list[Answers]],
    truth: np.ndarray | None,
    resamples: int,
) -> dict:
    """Per method: its figures on degraded test images and the drop from clean to
    degraded (clean minus degraded, run k against run k on the same resample of images:
    a positive drop is a loss)."""
    result = {}
    for label, runs in degraded.items():
        worse = f"{label}@degraded"
        summary = summarise_with_intervals(
            grades, {label: clean[label], worse: runs}, truth, (label,), resamples
        )
        result[label] = {
            "degraded": summary[worse]["metrics"],
            "drop": dict(summary[worse]["paired"][label]),
        }
        # against ConPro and SupCon-2: how much less this method loses (first runs)
        for reference in ("conpro", "supcon2"):
            if reference == label or reference not in degraded:
                continue
            result[label][f"smaller_drop_than_{reference}"] = drop_difference(
                grades,
                (clean[label][0], runs[0]),
                (clean[reference][0], degraded[reference][0]),
                ("macro_f1", "tau_abnormal"),
                truth,
                resamples,
            )
    return result


def robustness_table(report: dict, figures: tuple[str, ...] = ("macro_f1", "tau_abnormal")) -> str:
    """Clean and degraded figures and the paired drop, as markdown."""
    degraded = report.get("degraded")
    if not degraded:
        return ""
    header = " | ".join(f"{f} clean | {f} degraded | {f} drop" for f in figures)
    lines = [f"| method | {header} |", "| --- |" + " --- |" * (3 * len(figures))]
    for label, entry in degraded["methods"].items():
        clean = report["methods"][label]["metrics"]
        cells = []
        for f in figures:
            if f not in entry["drop"]:
                cells += ["-", "-", "-"]
                continue
            cells += [_cell(clean[f]), _cell(entry["degraded"][f]), _cell(entry["drop"][f])]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, entry in degraded["methods"].items():
        for key, differences in entry.items():
            if key.startswith("smaller_drop_than_"):
                shown = ", ".join(f"{f} {_cell(v)}" for f, v in differences.items())
                lines.append(f"- {label} loses less than {key[18:]} by: {shown}")
    return "\n".join(lines)


def _keep_con_step(label: str, config: TrainConfig, train_set: ImageSet, snapshots: dict):
    """For the ``conpro`` row: a copy of its network after the Con step, scored as SupCon-2
    is. (A variant that changes only PrO shares this Con step, seed for seed.)"""
    if label != REFERENCE:
        return None
    con_config = replace(config, method="supcon2")
    space = METHODS["supcon2"].score_space

    def keep(phase: str, net) -> None:
        if phase == "con":
            snapshot = copy.deepcopy(net)
            device = next(snapshot.parameters()).device
            anchor = fit_anchor(snapshot, train_set, space, config.anchor_n, device)
            snapshots[phase] = TrainResult(snapshot, anchor, METHODS["supcon2"], con_config)

    return keep


def constant_answers(train_grades: np.ndarray, n_test: int) -> Answers:
    """The floor: always the grade of least expected MAEE under the training grades'
    frequencies, and a score that orders nothing."""
    constant = np.full(n_test, constant_grade(train_grades))
    return Answers(constant, constant, np.zeros(n_test))


def _budget(config: TrainConfig, n_train: int) -> dict:
    phases = METHODS[config.method].phases
    return {
        phase: {
            "steps": total_steps(config, n_train, phase),
            "pairs_per_step": config.batch_size,
            "images_per_step": IMAGES_PER_STEP.get(phase, "2B"),
        }
        for phase, _ in phases
    }


def _images_per_second(timings: dict[str, float]) -> float:
    rates = [v for k, v in timings.items() if k.endswith("_images_per_second")]
    return float(np.mean(rates)) if rates else float("nan")


def machine(config: TrainConfig) -> dict:
    cuda = config.device != "cpu" and torch.cuda.is_available()
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "platform": platform.platform(),
    }


def markdown_table(report: dict, figures: tuple[str, ...] = FIGURES) -> str:
    """Mean ± sd over seeds [95% bootstrap interval], then paired differences."""
    methods = report["methods"]
    shown = [f for f in figures if all(f in m["metrics"] for m in methods.values())]
    lines = [
        "| method | " + " | ".join(TITLES[f] for f in shown) + " | train s |",
        "|" + " --- |" * (len(shown) + 2),
    ]
    for label, summary in methods.items():
        cells = [_cell(summary["metrics"][f]) for f in shown]
        seconds = summary.get("train_seconds")
        cells.append(f"{seconds:.0f}" if seconds is not None else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for reference in (REFERENCE, CON_STEP):
        paired = {
            k: v["paired"][reference]
            for k, v in methods.items()
            if reference in v.get("paired", {})
        }
        if not paired:
            continue
        lines += [
            "",
            f"Paired differences, {reference} minus the row (mean [95% interval]):",
            "",
            "| row | " + " | ".join(TITLES[f] for f in shown) + " |",
            "|" + " --- |" * (len(shown) + 1),
        ]
        for label, figures_of in paired.items():
            cells = [
                f"{figures_of[f]['mean']:+.3f} [{figures_of[f]['ci95'][0]:+.3f}, "
                f"{figures_of[f]['ci95'][1]:+.3f}]"
                for f in shown
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(figure: dict) -> str:
    """mean ± SD over seeds [95% interval]; a paired difference has no SD column."""
    low, high = figure["ci95"]
    spread = f" ± {figure['std']:.3f}" if "std" in figure else ""
    return f"{figure['mean']:.3f}{spread} [{low:.3f}, {high:.3f}]"


def write_report(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2))
