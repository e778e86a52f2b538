"""One simulated study of the benchmark (``sim_bench``): its data in a store, the
simulated raters who answer through the app's pair server, the retrains from what the
store holds, and the two rankings scored against the truth (the model's on held-out
images, Bradley-Terry's on the judged ones)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import choix
import numpy as np

from core.learning.config import TrainConfig
from core.learning.data import image_set_from_rows
from core.learning.from_store import embed_into_store, train_version
from core.learning.train import TrainResult
from core.selection.serve import Serving, next_pair
from core.simulation import SimulatedRater
from core.store import AlreadyJudged, Answer, Store

from .arms import pair_strategy
from .sim_config import SimBenchConfig


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
    return retrain_with_result(store, train, out, dataset_id, activate, parent)[0]


def retrain_with_result(
    store: Store,
    train: TrainConfig,
    out: Path,
    dataset_id: int,
    activate: bool = True,
    parent: dict | None = None,
) -> tuple[dict, TrainResult]:
    """``retrain``, with the training's result (its steps, the answers it used)."""
    model, result = train_version(store, train, out, dataset_id, parent=parent)
    rows = store.images.query(dataset_id=model["dataset_id"])
    images = image_set_from_rows(store, rows, train.image_size)
    embed_into_store(store, model, result.net, result.method.score_space, result.anchor, images)
    if activate:
        store.models.chain_ready(model["id"])
        store.models.activate(model["id"])
    return model, result


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
    """``count`` answers to pairs the app's pair server chooses with an answering arm's
    strategy (``serving`` says what it leaves out), each by a rater of the ``panel``
    (rater, rater id, share of the answers); returns how many were given and the server
    time of each choice (belief catch-up included)."""
    strategy = pair_strategy(strategy_name)
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


def rater_panel(config: SimBenchConfig, seed: int) -> list[tuple[SimulatedRater, float]]:
    """The simulated rater (or, with ``config.panel``, a rater of each noise in equal
    shares), and the guessing rater beside them when asked for."""
    noises = config.panel or (config.rater_noise,)
    raters = [
        SimulatedRater(
            "Simulated rater" if not config.panel else f"Panel rater {k + 1} (noise {noise})",
            noise=noise,
            left_bias=0.5 + config.position_bias,
            lapse=config.lapse,
            seed=seed + 100 * k,
        )
        for k, noise in enumerate(noises)
    ]
    share = (1 - config.guessing_share) / len(raters)
    panel = [(rater, share) for rater in raters]
    if config.guessing_share <= 0:
        return panel
    guesser = SimulatedRater("Guessing rater", lapse=1.0, seed=seed + 1000)
    return [*panel, (guesser, config.guessing_share)]


def scored(
    store: Store,
    model_id: int,
    images: list[int],
    truth: dict,
    patient: dict[int, int | None] | None = None,
) -> dict:
    """A version's severity scores of ``images`` with their truth (and their patients)."""
    scores = store.embeddings.severity_scores(model_id)
    kept = [i for i in images if i in scores]
    record = {"score": [scores[i][0] for i in kept], "truth": [truth[i] for i in kept]}
    if patient is not None:
        record["patient"] = [patient.get(i) for i in kept]
    return record
