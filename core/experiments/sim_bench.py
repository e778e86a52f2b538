"""The learning curve: do a clinician's judgments teach the model, and does choosing the
pairs help? A simulated rater (``core.simulation``) answers pairs of training images
chosen by each strategy, through the store, as the Compare page would; at every
checkpoint the model is retrained from the judgments so far by the worker's own trainer
(``train_from_store``), its scores become the active version (so the active strategy's
beliefs restart from them, as in the app), and two rankings are scored against the
truth:

- ``model``: the retrained model's severity score on held-out images (the test split,
  else validation), which nobody judged;
- ``bradley_terry``: a Bradley-Terry fit of the judgments alone (``choix``), on the
  images that were judged.

``--labels grades``: the model also learns from every training image's grade, as the
app's first model does, and each strategy starts from the same first model (trained
from the grades before any answer). ``--labels normals``: the clinician's own case, no
grades at all, ``--normals K`` training images marked normal, and the judgments; there
is no model before the first checkpoint, and the app's cold-start method
(``selfpro``) trains at each. Each strategy runs in its own copy of the database.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import choix
import numpy as np

from core.learning.config import TrainConfig
from core.learning.data import image_set_from_rows
from core.learning.from_store import embed_into_store, train_version
from core.selection.serve import Serving, next_pair
from core.selection.strategies import STRATEGIES
from core.simulation import SimulatedRater, truth_of
from core.store import AlreadyJudged, Answer, Store

from .resampling import _tau

LABELS = ("grades", "normals")  # "none": without a single normal there is no anchor


@dataclass(frozen=True)
class SimBenchConfig:
    data: str = "synthetic"  # or a MedMNIST-layout .npz
    patients: int = 120
    labels: str = "grades"
    normals: int = 20  # with labels "normals": training images marked normal
    strategies: tuple[str, ...] = ("random", "active")
    judgments: int = 2000
    checkpoints: tuple[int, ...] = (250, 500, 1000, 2000)
    rater_noise: float = 0.1  # on the 0-1 truth (grades are divided by 4)
    position_bias: float = 0.1  # extra probability of answering "left" when unsure
    lapse: float = 0.05
    seeds: int = 2
    resamples: int = 1000
    # a guessing rater (random answers) gives this share of the answers beside the rater
    guessing_share: float = 0.0
    # training variants at each checkpoint, on the same answers: "none" (every answer
    # counts the same) and/or "reliability" (answers weighted by their rater's trust)
    weightings: tuple[str, ...] = ("none",)
    # the app's pair server also serves repeats (a share of pairs answered before, sides
    # swapped); off unless asked, as in the curves measured so far. Simulated raters
    # answer at once, so no pair is ever on another rater's screen.
    repeats: bool = False

    @property
    def serving(self) -> Serving:
        return Serving(repeats=self.repeats, screens=False)

    def __post_init__(self) -> None:
        if self.labels not in LABELS:
            raise ValueError(
                f"--labels {self.labels} is not available yet; the benchmark trains with "
                f"{', '.join(LABELS)}"
            )
        if sorted(self.checkpoints) != list(self.checkpoints) or not self.checkpoints:
            raise ValueError("checkpoints must be given in increasing order")
        if self.checkpoints[-1] > self.judgments:
            raise ValueError("the last checkpoint cannot exceed the number of judgments")
        if not 0.0 <= self.guessing_share < 1.0:
            raise ValueError("--guessing-share is a share of the answers, in [0, 1)")
        from core.learning.config import RATER_WEIGHTINGS

        if self.weightings[:1] != ("none",) or not set(self.weightings) <= set(RATER_WEIGHTINGS):
            raise ValueError(
                "--weightings starts with none (the curve the others are paired with) "
                f"and lists some of {', '.join(RATER_WEIGHTINGS)}"
            )
        if self.labels == "normals" and self.data != "synthetic":
            raise ValueError("--labels normals needs --data synthetic (its grades are known)")


def import_data(store: Store, config: SimBenchConfig, seed: int) -> str:
    from core.demo import COHORT_DATASET, import_cohort
    from core.importers import import_npz
    from core.synthetic import CohortConfig

    if config.data == "synthetic":
        cohort = CohortConfig(patients=config.patients, seed=seed)
        import_cohort(store, cohort, with_grades=config.labels == "grades")
        if config.labels == "normals":
            _mark_normals(store, config.normals, seed)
        return COHORT_DATASET
    import_npz(store, Path(config.data), "benchmark")
    return "benchmark"


def _mark_normals(store: Store, count: int, seed: int) -> None:
    """Mark ``count`` training images that are truly normal (grade 0 by their known
    severity), as a clinician would mark a few images they are sure of."""
    from core.synthetic import severity_to_grade

    normal = [
        r["id"]
        for r in store.images.query(split="train")
        if severity_to_grade(r["known_severity"]) == 0
    ]
    chosen = np.random.default_rng(seed).choice(normal, min(count, len(normal)), replace=False)
    store.images.mark_normal(chosen.tolist())


def retrain(
    store: Store,
    train: TrainConfig,
    out: Path,
    dataset_id: int,
    activate: bool = True,
    parent: dict | None = None,
) -> dict:
    """Train from what the store holds (continuing ``parent`` when given, as a warm
    retrain does), embed the dataset's images and (unless it is a variant beside the
    main curve) make the version active, skipping the map's projections, which
    selection does not use."""
    model, result = train_version(store, train, out, dataset_id, parent=parent)
    rows = store.images.query(dataset_id=model["dataset_id"])
    images = image_set_from_rows(store, rows, train.image_size)
    embed_into_store(store, model, result.net, result.method.score_space, result.anchor, images)
    if activate:
        store.models.chain_ready(model["id"])
        store.models.activate(model["id"])
    return model


def held_out_ids(store: Store, dataset_id: int) -> list[int]:
    test = store.images.ids(dataset_id=dataset_id, split="test")
    return test or store.images.ids(dataset_id=dataset_id, split="val")


def bradley_terry(judgments: list[dict]) -> dict[int, float]:
    """Strength of every judged image from the decided answers alone (``choix``, with a
    little regularisation so that an image that never lost stays finite)."""
    decided = [j for j in judgments if j["outcome"] in ("left", "right")]
    images = sorted({i for j in decided for i in (j["left_image_id"], j["right_image_id"])})
    if len(images) < 2:
        return {}
    index = {image: k for k, image in enumerate(images)}
    data = [
        (index[j["left_image_id"]], index[j["right_image_id"]])
        if j["outcome"] == "left"
        else (index[j["right_image_id"]], index[j["left_image_id"]])
        for j in decided
    ]
    strengths = choix.opt_pairwise(len(images), data, alpha=0.01)
    return dict(zip(images, strengths.tolist(), strict=True))


def judge_pairs(
    store: Store,
    strategy_name: str,
    panel: list[tuple[SimulatedRater, int, float]],
    pool: list[int],
    truth: dict[int, float],
    count: int,
    rng: random.Random,
    dataset_id: int,
    serving: Serving,
) -> tuple[int, list[float]]:
    """``count`` answers to pairs the app's pair server chooses (``serving`` says what
    it leaves out), each by a rater of the ``panel`` (rater, rater id, share of the
    answers); returns how many were given and the server time of each choice (belief
    catch-up included)."""
    strategy = STRATEGIES[strategy_name]
    given, seconds = 0, []
    while given < count:
        rater, rater_id, _ = rng.choices(panel, weights=[share for *_, share in panel])[0]
        started = time.perf_counter()
        pair = next_pair(store, rater_id, strategy, pool, rng, dataset_id, serving=serving)
        seconds.append(time.perf_counter() - started)
        if pair is None:
            break
        outcome = rater.answer(truth[pair.left], truth[pair.right])
        label = "repeat" if pair.repeat_of else strategy_name
        answer = Answer(
            pair.left, pair.right, outcome, rater_id, strategy=label, repeat_of=pair.repeat_of
        )
        try:
            store.judgments.append(answer)
        except AlreadyJudged:
            continue
        given += 1
    return given, seconds


def run_seed(config: SimBenchConfig, base: TrainConfig, seed: int, folder: Path) -> dict:
    """One seed: the first model, then each strategy's curve in its own database copy."""
    train = replace(base, seed=seed)
    if config.labels == "normals":
        from core.learning.recipes import COLD_START_METHOD

        train = replace(train, method=COLD_START_METHOD)
    first_db = folder / "first.db"
    with Store(first_db) as store:
        dataset = import_data(store, config, seed)
        dataset_id = store.datasets.by_name(dataset)["id"]
        truth = truth_of(store)
        if config.data != "synthetic":  # grades 0-4 on the rater's 0-1 scale
            truth = {k: v / 4.0 for k, v in truth.items()}
        held_out = held_out_ids(store, dataset_id)
        pool = store.images.ids(dataset_id=dataset_id, split="train")
        start = None  # without grades there is nothing to train before the first answers
        if config.labels == "grades":
            first = retrain(store, train, folder / "models", dataset_id)
            start = scored(store, first["id"], held_out, truth)
    curves = {}
    for name in config.strategies:
        db = folder / f"{name}.db"
        shutil.copy(first_db, db)
        rng = random.Random(seed)
        points: dict[str, list] = {_variant(name, w): [] for w in config.weightings}
        choice_seconds, given = [], 0
        with Store(db) as store:
            panel = [
                (rater, store.raters.ensure(rater.name), share)
                for rater, share in rater_panel(config, seed)
            ]
            for checkpoint in config.checkpoints:
                added, seconds = judge_pairs(
                    store,
                    name,
                    panel,
                    pool,
                    truth,
                    checkpoint - given,
                    rng,
                    dataset_id,
                    config.serving,
                )
                given += added
                choice_seconds += seconds
                judged = store.judgments.effective()
                strengths = bradley_terry(judged)
                for weighting in config.weightings:
                    variant = _variant(name, weighting)
                    model = retrain(
                        store,
                        replace(train, rater_weighting=weighting),
                        folder / f"models-{variant}",
                        dataset_id,
                        activate=weighting == "none",
                    )
                    points[variant].append(
                        {
                            "judgments": given,
                            "model": scored(store, model["id"], held_out, truth),
                            "bradley_terry": {
                                "score": list(strengths.values()),
                                "truth": [truth[i] for i in strengths],
                            },
                            "judged_images": len(strengths),
                        }
                    )
                    latest = points[variant][-1]
                    model_tau, bt_tau = (
                        _tau(np.array(p["score"]), np.array(p["truth"]))
                        for p in (latest["model"], latest["bradley_terry"])
                    )
                    print(
                        f"seed {seed} {variant} {given}: model tau_truth {model_tau:.3f}, "
                        f"Bradley-Terry {bt_tau:.3f}",
                        flush=True,
                    )
        for variant, variant_points in points.items():
            curves[variant] = {
                "points": variant_points,
                "choice_ms_median": 1000 * float(np.median(choice_seconds)),
            }
    return {"seed": seed, "start": start, "curves": curves}


def _variant(strategy: str, weighting: str) -> str:
    """A curve's name: the strategy, and the rater weighting when there is one."""
    return strategy if weighting == "none" else f"{strategy}+{weighting}"


def rater_panel(config: SimBenchConfig, seed: int) -> list[tuple[SimulatedRater, float]]:
    """The simulated rater, and the guessing rater beside it when asked for."""
    rater = SimulatedRater(
        "Simulated rater",
        noise=config.rater_noise,
        left_bias=0.5 + config.position_bias,
        lapse=config.lapse,
        seed=seed,
    )
    if config.guessing_share <= 0:
        return [(rater, 1.0)]
    guesser = SimulatedRater("Guessing rater", lapse=1.0, seed=seed + 1000)
    return [(rater, 1 - config.guessing_share), (guesser, config.guessing_share)]


def scored(store: Store, model_id: int, images: list[int], truth: dict) -> dict:
    scores = store.embeddings.severity_scores(model_id)
    kept = [i for i in images if i in scores]
    return {"score": [scores[i][0] for i in kept], "truth": [truth[i] for i in kept]}


def tau_with_interval(samples: list[dict], resamples: int, rng: np.random.Generator) -> dict:
    """Kendall tau with the truth: the mean over seeds, and a 95% interval resampling the
    seeds and, within each, the images."""
    arrays = [(np.asarray(s["score"]), np.asarray(s["truth"])) for s in samples]
    mean = float(np.mean([_tau(score, truth) for score, truth in arrays]))
    draws = []
    for _ in range(resamples):
        picked = rng.integers(0, len(arrays), len(arrays))
        values = []
        for k in picked:
            score, truth = arrays[k]
            index = rng.integers(0, len(score), len(score))
            values.append(_tau(score[index], truth[index]))
        draws.append(np.mean(values))
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"mean": mean, "ci95": [float(low), float(high)]}


def paired_tau_difference(
    first: list[dict],
    second: list[dict],
    resamples: int,
    rng: np.random.Generator,
    unit: str | None = None,
) -> dict:
    """tau(first) - tau(second) on the same held-out images: the mean over seeds, and
    a 95% interval resampling seeds and, within each, the images, or with ``unit`` (a key
    of ``first``'s records, e.g. "patient") the units with all their images; the same
    draw for both, so the image-to-image variation cancels."""
    runs = []
    for a, b in zip(first, second, strict=True):
        truth = np.asarray(a["truth"])
        if unit is None:
            members = [np.array([k]) for k in range(len(truth))]
        else:
            units = np.asarray(a[unit])
            members = [np.flatnonzero(units == u) for u in np.unique(units)]
        runs.append((members, np.asarray(a["score"]), np.asarray(b["score"]), truth))
    mean = float(np.mean([_tau(a, t) - _tau(b, t) for _, a, b, t in runs]))
    draws = []
    for _ in range(resamples):
        values = []
        for k in rng.integers(0, len(runs), len(runs)):
            members, a, b, t = runs[k]
            index = np.concatenate(
                [members[u] for u in rng.integers(0, len(members), len(members))]
            )
            values.append(_tau(a[index], t[index]) - _tau(b[index], t[index]))
        draws.append(np.mean(values))
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"mean": mean, "ci95": [float(low), float(high)]}


def summarise(config: SimBenchConfig, runs: list[dict]) -> dict:
    rng = np.random.default_rng(0)
    starts = [r["start"] for r in runs if r["start"] is not None]
    report: dict = {
        "first_model": tau_with_interval(starts, config.resamples, rng) if starts else None,
        "strategies": {},
    }
    for name in runs[0]["curves"]:
        rows = []
        for k, checkpoint in enumerate(config.checkpoints):
            points = [r["curves"][name]["points"][k] for r in runs]
            row = {
                "checkpoint": checkpoint,
                "judgments": float(np.mean([p["judgments"] for p in points])),
                "model_tau_truth": tau_with_interval(
                    [p["model"] for p in points], config.resamples, rng
                ),
                "bradley_terry_tau_truth": tau_with_interval(
                    [p["bradley_terry"] for p in points], config.resamples, rng
                ),
                "judged_images": float(np.mean([p["judged_images"] for p in points])),
            }
            base = name.split("+")[0]
            if base != name:  # a weighting variant: paired with its strategy's own curve
                row["minus_unweighted"] = paired_tau_difference(
                    [p["model"] for p in points],
                    [r["curves"][base]["points"][k]["model"] for r in runs],
                    config.resamples,
                    rng,
                )
            rows.append(row)
        report["strategies"][name] = {
            "curve": rows,
            "choice_ms_median": float(
                np.median([r["curves"][name]["choice_ms_median"] for r in runs])
            ),
        }
    if "random" in report["strategies"]:
        target = report["strategies"]["random"]["curve"][-1]["model_tau_truth"]["mean"]
        for entry in report["strategies"].values():
            reached = [
                row["checkpoint"]
                for row in entry["curve"]
                if row["model_tau_truth"]["mean"] >= target
            ]
            entry["judgments_to_reach"] = reached[0] if reached else None
        report["random_final_model_tau_truth"] = target
    return report


def run_sim_benchmark(config: SimBenchConfig, base: TrainConfig) -> dict:
    runs = []
    for seed in range(config.seeds):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(run_seed(config, base, seed, Path(folder)))
    return {
        "config": {**config.__dict__, "train": base.to_dict()},
        "serving": config.serving.__dict__,
        **summarise(config, runs),
    }


def sim_table(report: dict) -> str:
    """The curves as a markdown table: tau with the truth, mean [95% interval]."""

    def cell(figure: dict) -> str:
        low, high = figure["ci95"]
        return f"{figure['mean']:.3f} [{low:.2f}, {high:.2f}]"

    lines = [
        "| strategy | judgments | model tau_truth (held out) | Bradley-Terry tau_truth (judged) |",
        "| --- | --- | --- | --- |",
    ]
    if report["first_model"]:
        lines.append(f"| first model | 0 | {cell(report['first_model'])} | - |")
    for name, entry in report["strategies"].items():
        for row in entry["curve"]:
            lines.append(
                f"| {name} | {row['checkpoint']} | {cell(row['model_tau_truth'])} | "
                f"{cell(row['bradley_terry_tau_truth'])} |"
            )
    differences = [
        f"| {name} | {row['checkpoint']} | {cell(row['minus_unweighted'])} |"
        for name, entry in report["strategies"].items()
        for row in entry["curve"]
        if "minus_unweighted" in row
    ]
    if differences:
        lines += [
            "",
            "| variant | judgments | model tau_truth minus unweighted (paired) |",
            "| --- | --- | --- |",
            *differences,
        ]
    return "\n".join(lines)
