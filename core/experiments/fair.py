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
import time
from dataclasses import dataclass, field, replace

import numpy as np

from core.learning.config import TrainConfig
from core.learning.data import ImageSet, degraded_copy
from core.learning.evaluate import evaluate_with_outputs
from core.learning.methods import METHODS
from core.learning.metrics import constant_grade
from core.learning.scoring import fit_anchor
from core.learning.train import TrainingDiverged, TrainResult, total_steps, train

from .datasets import BenchmarkData
from .report import CON_STEP, REFERENCE, machine
from .resampling import (
    Answers,
    drop_difference,
    runs_by_seed,
    shared_seeds,
    summarise_with_intervals,
)

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
        return base.with_settings(seed=seed, **values)


def parse_arm(text: str) -> Arm:
    """``conpro`` or ``label:key=value,key=value`` (a variant; the method defaults to
    conpro), e.g. ``scale5:preference_scale=5`` or ``nopatch:comcl.patch_weight=0``."""
    label, _, settings = text.partition(":")
    overrides = []
    for item in filter(None, (s.strip() for s in settings.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"variant setting {item!r} is not key=value")
        overrides.append((key.strip(), typed_setting(key.strip(), value.strip())))
    return Arm(label.strip(), tuple(overrides))


def typed_setting(key: str, value: str):
    """A ``key=value`` setting's value as the type of ``TrainConfig``'s field."""
    default = TrainConfig.default_of(key)  # raises for an unknown setting
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes")
    if isinstance(default, int) or key in ("pro_pairs", "pairs_per_phase"):
        return int(float(value))
    if isinstance(default, float):
        return float(value)
    return value


@dataclass
class Collected:
    """What the runs leave for the report: one row per scored model and seed (a diverged
    run keeps its row, with its seed and the reason), and each label's answers on the
    test images (clean and degraded), run by run, each carrying its seed."""

    runs: list[dict] = field(default_factory=list)
    answers: dict[str, list[Answers]] = field(default_factory=dict)
    degraded: dict[str, list[Answers]] = field(default_factory=dict)
    budget: dict[str, dict] = field(default_factory=dict)


def run_benchmark(
    base: TrainConfig,
    data: BenchmarkData,
    arms: list[Arm],
    seeds: int,
    resamples: int = 1000,
    log=print,
    first_seed: int = 0,
    degraded: float | None = None,
) -> dict:
    """Train every arm over the seeds, score each model on the test images, then
    summarise. ``degraded``: also score every model on the test images at that quality
    (``data.degraded_copy``) and report each method's drop, paired image by image."""
    train_set, _, test, _ = data
    test_degraded = degraded_copy(test, degraded) if degraded is not None else None
    collected = Collected()
    for arm in arms:
        for seed in range(first_seed, first_seed + seeds):
            config = arm.config(base, seed)
            collected.budget[arm.label] = _budget(config, len(train_set))
            trained = train_arm(arm.label, config, train_set, log)
            if isinstance(trained, str):  # diverged: said, counted and left out
                collected.runs.append({"arm": arm.label, "seed": seed, "diverged": trained})
                continue
            score_run(trained, data, test_degraded, collected, log)
    collected.answers[CONSTANT] = [constant_answers(train_set.grades, len(test))]
    return summarise(base, data, arms, collected, (first_seed, seeds), resamples, degraded, log)


@dataclass(frozen=True)
class TrainedRun:
    """One arm trained with one seed: the models to score (the arm's own, and ConPro's
    after its Con step), how long it trained and how fast."""

    seed: int
    models: list[tuple[str, TrainResult]]
    seconds: float
    images_per_second: float


def train_arm(label: str, config: TrainConfig, train_set: ImageSet, log=print) -> TrainedRun | str:
    """The arm's models, or the reason it diverged."""
    snapshots: dict[str, TrainResult] = {}
    started = time.perf_counter()
    try:
        result = train(
            config, train_set, on_phase_end=_keep_con_step(label, config, train_set, snapshots)
        )
    except TrainingDiverged as error:
        log(f"{label} seed {config.seed}: {error}")
        return str(error)
    models = [(label, result)] + [(f"{label}:{phase}", snap) for phase, snap in snapshots.items()]
    seconds = time.perf_counter() - started
    return TrainedRun(config.seed, models, seconds, _images_per_second(result.timings))


def score_run(
    trained: TrainedRun,
    data: BenchmarkData,
    test_degraded: ImageSet | None,
    collected: Collected,
    log=print,
) -> None:
    """Each of the run's models on the test images (and their degraded copies)."""
    train_set, val, test, _ = data
    for label, model in trained.models:
        metrics, outputs = evaluate_with_outputs(model, train_set, val, test)
        collected.answers.setdefault(label, []).append(_answers(outputs, trained.seed))
        if test_degraded is not None:
            _, worse = evaluate_with_outputs(model, train_set, val, test_degraded)
            collected.degraded.setdefault(label, []).append(_answers(worse, trained.seed))
        collected.runs.append(
            {
                "arm": label,
                "method": model.config.method,
                "seed": trained.seed,
                **metrics,
                "train_seconds": trained.seconds,
                "train_images_per_second": trained.images_per_second,
                **model.notes,
            }
        )
        log(
            f"{label} seed {trained.seed}: macro-F1 {metrics['macro_f1']:.3f}, "
            f"tau {metrics['tau']:.3f}, tau abnormal "
            f"{metrics.get('tau_abnormal', float('nan')):.3f}, {trained.seconds:.0f} s"
        )


def _answers(outputs, seed: int) -> Answers:
    return Answers(outputs.predicted, outputs.predicted_bayes, outputs.score, seed)


def summarise(
    base: TrainConfig,
    data: BenchmarkData,
    arms: list[Arm],
    collected: Collected,
    seeds: tuple[int, int],
    resamples: int,
    degraded: float | None,
    log=print,
) -> dict:
    """The report: every label's figures with bootstrap intervals over test images and
    paired differences, its training time and budget, and the robustness to degraded
    images. ``seeds``: the first seed and how many."""
    train_set, val, test, test_source = data
    truth = test.health if test.health_is_truth else None
    classes = grade_count(data)
    started = time.perf_counter()
    methods = summarise_with_intervals(
        test.grades, collected.answers, truth, (REFERENCE, CON_STEP), resamples, classes=classes
    )
    log(f"bootstrap ({resamples} resamples): {time.perf_counter() - started:.0f} s")
    for label, summary in methods.items():
        summary.update(_run_figures(label, collected))
    robustness = (
        _robustness(test.grades, collected.answers, collected.degraded, truth, resamples, classes)
        if degraded is not None
        else None
    )
    first, count = seeds
    return {
        "degraded": None if robustness is None else {"strength": degraded, "methods": robustness},
        "config": base.to_dict(),
        "arms": {a.label: dict(a.overrides) for a in arms},
        "seeds": list(range(first, first + count)),
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
        "runs": collected.runs,
        "methods": methods,
    }


def grade_count(data: BenchmarkData) -> int:
    """How many grades the models can answer: the probe learns every grade of the
    training and validation splits, and the test split may hold more."""
    train_set, val, test, _ = data
    return int(max(s.grades.max() for s in (train_set, val, test))) + 1


def _run_figures(label: str, collected: Collected) -> dict:
    """A label's diverged runs (counted, and their seeds: a run of ``conpro:con`` is lost
    with its arm's run), mean training time and speed, and its budget."""
    arm, _, phase = label.partition(":")
    mine = [r for r in collected.runs if r["arm"] == label and "diverged" not in r]
    lost = [r["seed"] for r in collected.runs if r["arm"] in (label, arm) and "diverged" in r]
    figures: dict = {"diverged": len(lost), "diverged_seeds": sorted(set(lost))}
    if mine:
        figures["train_seconds"] = float(np.mean([r["train_seconds"] for r in mine]))
        figures["train_images_per_second"] = float(
            np.mean([r["train_images_per_second"] for r in mine])
        )
    spent = collected.budget.get(arm, {})
    figures["budget"] = {phase: spent[phase]} if phase else spent
    return figures


def _robustness(
    grades: np.ndarray,
    clean: dict[str, list[Answers]],
    degraded: dict[str, list[Answers]],
    truth: np.ndarray | None,
    resamples: int,
    classes: int | None = None,
) -> dict:
    """Per method: its figures on degraded test images and the drop from clean to
    degraded (clean minus degraded, a run against itself, seed by seed, on the same
    resample of images: a positive drop is a loss); and how much less it loses than
    ConPro and SupCon-2, at the first seed both ran."""
    result = {}
    for label, runs in degraded.items():
        worse = f"{label}@degraded"
        summary = summarise_with_intervals(
            grades, {label: clean[label], worse: runs}, truth, (label,), resamples, classes=classes
        )
        result[label] = {
            "degraded": summary[worse]["metrics"],
            "drop": dict(summary[worse]["paired"][label]),
        }
        # against ConPro and SupCon-2: how much less this method loses (a seed both ran)
        for reference in ("conpro", "supcon2"):
            if reference == label or reference not in degraded:
                continue
            mine, theirs = (
                (runs_by_seed(m, clean[m]), runs_by_seed(m, degraded[m]))
                for m in (label, reference)
            )
            seeds = shared_seeds(mine[0], theirs[0])
            if not seeds:
                continue
            result[label][f"smaller_drop_than_{reference}"] = drop_difference(
                grades,
                (mine[0][seeds[0]], mine[1][seeds[0]]),
                (theirs[0][seeds[0]], theirs[1][seeds[0]]),
                ("macro_f1", "tau_abnormal"),
                truth,
                resamples,
                classes=classes,
            )
    return result


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
