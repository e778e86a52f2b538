"""The learning curve: do a clinician's judgments teach the model, and does choosing the
pairs help? Simulated raters (``core.simulation``) answer pairs of training images
chosen for each arm through the app's pair server, into the store, as the Compare page
would; at every checkpoint the model is retrained from the judgments so far by the
worker's own trainer (``train_from_store``), its scores become the active version (so
the active strategy's beliefs restart from them, as in the app), and two rankings are
scored against the truth:

- ``model``: the retrained model's severity score on held-out images (the test split,
  else validation), which nobody judged;
- ``bradley_terry``: a Bradley-Terry fit of the judgments alone (``choix``), on the
  images that were judged.

Arms (``core.experiments.arms``): the app's strategies (``random``, ``active``), the
coverage control (``coverage``: never-answered images first, as active serves them,
without the information gain) and the training-length control (``no-answers``: as many
training steps as the answer arms at each checkpoint, without answers).

``--labels grades``: the model also learns from every training image's grade, as the
app's first model does, and each arm starts from the same first model (trained from the
grades before any answer). ``--labels normals``: the clinician's own case, no grades at
all, ``--normals K`` training images marked normal, and the judgments; there is no model
before the first checkpoint, and the app's cold-start method (``selfpro``) trains at
each. Each arm runs in its own copy of the database. Each seed's results can be kept in
a file of their own and merged later (``seed_runs``); the statistics are in
``sim_summary``.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core.learning.config import TrainConfig
from core.learning.train import TrainingDiverged
from core.simulation import truth_of
from core.store import Store

from . import seed_runs
from .arms import NO_ANSWERS, phase_steps, same_length
from .arms import training_length_control as control_config
from .belief_check import next_answer_log_loss
from .cluster_bootstrap import paired_tau_difference, tau_with_interval
from .resampling import _tau
from .sim_config import SimBenchConfig, config_from_settings
from .sim_study import (
    bradley_terry,
    held_out_ids,
    import_data,
    judge_pairs,
    rater_panel,
    retrain,
    retrain_with_result,
    scored,
)
from .sim_summary import curve_names, sim_table, summarise

__all__ = [  # the names other benchmarks and tests import from here
    "SimBenchConfig",
    "bradley_terry",
    "held_out_ids",
    "import_data",
    "judge_pairs",
    "paired_tau_difference",
    "rater_panel",
    "retrain",
    "run_seed",
    "run_sim_benchmark",
    "sim_table",
    "summarise",
    "tau_with_interval",
]


@dataclass(frozen=True)
class SeedSetting:
    """What every arm of a seed shares: the database with the first model (if any), the
    images and their truth."""

    first_db: Path
    dataset_id: int
    truth: dict[int, float]
    held_out: list[int]
    patient: dict[int, int | None]  # image -> patient (all of a patient's images together)
    pool: list[int]  # the training images pairs are drawn from
    start: dict | None  # the first model's held-out record
    start_steps: dict[str, int] | None  # and the steps of its phases


def seed_training(config: SimBenchConfig, base: TrainConfig, seed: int) -> TrainConfig:
    train = replace(base, seed=seed)
    if config.labels == "normals":
        from core.learning.recipes import COLD_START_METHOD

        train = replace(train, method=COLD_START_METHOD)
    return train


def prepare_seed(
    config: SimBenchConfig, train: TrainConfig, seed: int, folder: Path
) -> SeedSetting:
    """The seed's data in a database of its own and, with grades, the first model."""
    first_db = folder / "first.db"
    with Store(first_db) as store:
        dataset = import_data(store, config, seed)
        dataset_id = store.datasets.by_name(dataset)["id"]
        truth = truth_of(store)
        if config.data != "synthetic":  # grades 0-4 on the rater's 0-1 scale
            truth = {k: v / 4.0 for k, v in truth.items()}
        rows = store.images.query(dataset_id=dataset_id)
        patient = {r["id"]: r["patient_id"] for r in rows}
        held_out = held_out_ids(store, dataset_id)
        pool = store.images.ids(dataset_id=dataset_id, split="train")
        start = start_steps = None  # without grades nothing trains before the answers
        if config.labels == "grades":
            first, result = retrain_with_result(store, train, folder / "models", dataset_id)
            start = scored(store, first["id"], held_out, truth, patient)
            start_steps = phase_steps(result)
    return SeedSetting(first_db, dataset_id, truth, held_out, patient, pool, start, start_steps)


def run_seed(config: SimBenchConfig, base: TrainConfig, seed: int, folder: Path) -> dict:
    """One seed: the first model, each answering arm's curve in its own database copy,
    then the no-answers control at the answer arms' step counts."""
    started = time.perf_counter()
    train = seed_training(config, base, seed)
    try:
        setting = prepare_seed(config, train, seed, folder)
    except TrainingDiverged as exc:  # no arm has a start: the seed stays, every arm empty
        return _lost_seed(config, seed, str(exc), time.perf_counter() - started)
    first_seconds = time.perf_counter() - started
    curves: dict[str, dict] = {}
    for name in config.answer_arms:
        curves |= answer_arm(config, train, setting, name, folder, seed)
    if NO_ANSWERS in config.strategies:
        curves[NO_ANSWERS] = no_answers_arm(config, train, setting, curves, folder, seed)
    return {
        "seed": seed,
        "start": setting.start,
        "start_steps": setting.start_steps,
        "curves": curves,
        "wall_seconds": {"first_model": first_seconds, "total": time.perf_counter() - started},
        "threads": torch.get_num_threads(),
    }


def _lost_seed(config: SimBenchConfig, seed: int, error: str, seconds: float) -> dict:
    """A seed whose first model diverged: kept, with every curve empty and saying why."""
    lost = {"checkpoint": 0, "diverged": True, "error": f"the first model: {error}"}
    empty: dict[str, dict] = {
        name: {"points": [], "diverged": lost, "choice_ms_median": None, "wall_seconds": 0.0}
        for name in curve_names(config)
    }
    return {
        "seed": seed,
        "start": None,
        "start_steps": None,
        "curves": empty,
        "wall_seconds": {"first_model": seconds, "total": seconds},
        "threads": torch.get_num_threads(),
    }


def answer_arm(
    config: SimBenchConfig,
    train: TrainConfig,
    setting: SeedSetting,
    name: str,
    folder: Path,
    seed: int,
) -> dict[str, dict]:
    """An answering arm's curve (and a curve per rater weighting beside it): answers up to
    each checkpoint, then a retrain. A training that diverges ends the arm's curve at
    that seed, and says where."""
    started = time.perf_counter()
    db = folder / f"{name}.db"
    shutil.copy(setting.first_db, db)
    rng = random.Random(seed)
    variants = [_variant(name, w) for w in config.weightings]
    curves: dict[str, dict] = {v: {"points": [], "diverged": None} for v in variants}
    choice_seconds: list[float] = []
    given = 0
    with Store(db) as store:
        panel = [(r, store.raters.ensure(r.name), share) for r, share in rater_panel(config, seed)]
        for checkpoint in config.checkpoints:
            since = store.judgments.high_water_mark()
            added, seconds = judge_pairs(
                store,
                name,
                panel,
                setting.pool,
                setting.truth,
                checkpoint - given,
                rng,
                setting.dataset_id,
                config.serving,
            )
            given += added
            choice_seconds += seconds
            # before the retrain: the beliefs the server held while these were answered
            judged = _judged(store, setting) | {
                "beliefs": next_answer_log_loss(store, setting.dataset_id, since)
            }
            for weighting, variant in zip(config.weightings, variants, strict=True):
                if curves[variant]["diverged"]:
                    continue
                point = _trained_point(
                    store,
                    replace(train, rater_weighting=weighting),
                    folder / f"models-{variant}",
                    setting,
                    activate=weighting == "none",
                )
                if "diverged" in point:
                    curves[variant]["diverged"] = {"checkpoint": checkpoint, **point}
                    continue
                point |= {"checkpoint": checkpoint, "judgments": given, **judged}
                curves[variant]["points"].append(point)
                _say(seed, variant, point)
            if all(c["diverged"] for c in curves.values()):
                break
    choice_ms = 1000 * float(np.median(choice_seconds)) if choice_seconds else None
    for curve in curves.values():
        curve["choice_ms_median"] = choice_ms
        curve["wall_seconds"] = time.perf_counter() - started
    return curves


def _judged(store: Store, setting: SeedSetting) -> dict:
    """What the answers so far rank on their own: Bradley-Terry's strengths of the judged
    images (with their truth and patients), how many images they rank, and how many
    distinct images any answer was about."""
    judged = store.judgments.effective()
    strengths = bradley_terry(judged)
    return {
        "bradley_terry": {
            "score": list(strengths.values()),
            "truth": [setting.truth[i] for i in strengths],
            "patient": [setting.patient[i] for i in strengths],
        },
        "judged_images": len(strengths),
        "distinct_images": len(
            {i for j in judged for i in (j["left_image_id"], j["right_image_id"])}
        ),
    }


def no_answers_arm(
    config: SimBenchConfig,
    train: TrainConfig,
    setting: SeedSetting,
    curves: dict[str, dict],
    folder: Path,
    seed: int,
) -> dict:
    """The training-length control: at each checkpoint, a retrain without answers of as
    many steps as the answer arms trained there (the most, should they differ; every
    arm's steps are in its points). A control of the very configuration and steps of a
    training already done at this seed (the first model, an earlier checkpoint) is that
    training, and is reused (``same_as``)."""
    started = time.perf_counter()
    db = folder / f"{NO_ANSWERS}.db"
    shutil.copy(setting.first_db, db)
    curve: dict = {"points": [], "diverged": None, "choice_ms_median": None}
    done: dict[tuple, tuple[dict, str]] = {}
    if setting.start is not None and setting.start_steps is not None:
        done[_key(control_config(train, setting.start_steps))] = (setting.start, "first model")
    with Store(db) as store:
        for k, checkpoint in enumerate(config.checkpoints):
            answered = [c["points"][k]["steps"] for c in curves.values() if len(c["points"]) > k]
            if not answered:  # every answer arm diverged: nothing to match
                break
            target = max(answered, key=lambda steps: sum(steps.values()))
            control = control_config(train, target)
            if _key(control) in done:
                record, origin = done[_key(control)]
                point = {"model": record, "steps": target, "judgments_trained_on": 0}
                point |= {"wall_seconds": 0.0, "same_as": origin}
            else:
                point = _trained_point(store, control, folder / "models-control", setting)
                if "diverged" in point:
                    curve["diverged"] = {"checkpoint": checkpoint, **point}
                    break
                if not same_length(target, point["steps"]):
                    raise RuntimeError(f"the control trained {point['steps']}, not {target}")
                done[_key(control)] = (point["model"], f"checkpoint {checkpoint}")
            empty: dict[str, list] = {"score": [], "truth": [], "patient": []}
            point |= {"checkpoint": checkpoint, "judgments": 0, "bradley_terry": empty}
            point |= {"judged_images": 0, "distinct_images": 0, "target_steps": target}
            curve["points"].append(point)
            _say(seed, NO_ANSWERS, point)
    curve["wall_seconds"] = time.perf_counter() - started
    return curve


def _key(config: TrainConfig) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in config.to_dict().items()))


def _trained_point(
    store: Store, train: TrainConfig, out: Path, setting: SeedSetting, activate: bool = True
) -> dict:
    """Retrain and score on the held-out images: the point's model record, the steps of
    each phase, the answers trained on and the time; or what diverged."""
    started = time.perf_counter()
    try:
        model, result = retrain_with_result(store, train, out, setting.dataset_id, activate)
    except TrainingDiverged as exc:
        return {"diverged": True, "error": str(exc)}
    return {
        "model": scored(store, model["id"], setting.held_out, setting.truth, setting.patient),
        "steps": phase_steps(result),
        "judgments_trained_on": result.judgments_used,
        "wall_seconds": time.perf_counter() - started,
    }


def _say(seed: int, variant: str, point: dict) -> None:
    model_tau = _tau(np.array(point["model"]["score"]), np.array(point["model"]["truth"]))
    bt = point["bradley_terry"]
    bt_tau = _tau(np.array(bt["score"]), np.array(bt["truth"])) if bt["score"] else float("nan")
    print(
        f"seed {seed} {variant} {point['checkpoint']} ({point['judgments']} answers, "
        f"{sum(point['steps'].values())} steps): model tau_truth {model_tau:.3f}, "
        f"Bradley-Terry {bt_tau:.3f}",
        flush=True,
    )


def _variant(strategy: str, weighting: str) -> str:
    """A curve's name: the strategy, and the rater weighting when there is one."""
    return strategy if weighting == "none" else f"{strategy}+{weighting}"


def run_sim_benchmark(
    config: SimBenchConfig, base: TrainConfig, out: str | Path | None = None
) -> dict:
    """Run the configuration's seeds and report on them. With ``out``, each seed's result
    is kept in a file of its own beside it (``seed_runs.seed_folder``); seeds already
    there are not run again, and the report covers every seed the folder holds."""
    settings = seed_runs.run_settings(config, base)

    def one(seed: int) -> dict:
        with tempfile.TemporaryDirectory() as folder:
            return run_seed(config, base, seed, Path(folder))

    if out is None:
        runs = [seed_runs.plain(one(seed)) for seed in config.seed_list]
    else:
        folder = seed_runs.seed_folder(out)
        seed_runs.run_missing(folder, settings, config.seed_list, one)
        settings, runs = seed_runs.load_seeds(folder)
    return report_of(config, base, runs)


def merge_seed_results(out: str | Path, resamples: int) -> dict:
    """The report on every seed kept beside ``out`` (``run_sim_benchmark``'s files)."""
    settings, runs = seed_runs.load_seeds(seed_runs.seed_folder(out))
    seeds = tuple(r["seed"] for r in runs)
    config = config_from_settings(settings, seeds, resamples)
    return report_of(config, TrainConfig.from_dict(settings["train"]), runs)


def report_of(config: SimBenchConfig, base: TrainConfig, runs: list[dict]) -> dict:
    seeds = [r["seed"] for r in runs]
    return {
        "config": {**seed_runs.plain(config.__dict__), "seeds": seeds, "train": base.to_dict()},
        "serving": config.serving.__dict__,
        "threads": {str(r["seed"]): r.get("threads") for r in runs},
        **summarise(config, runs),
    }
