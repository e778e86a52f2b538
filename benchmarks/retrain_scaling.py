"""Does a retrain cost the same however many answers the study holds?

The demo cohort (120 patients) and its first model (the first-run recipe, from
scratch). Then, for each study size N in turn: simulated raters (20 of them, answering
from the known truth, through the store) bring the standing answers to N, the last 50
with automatic retraining on (after 50), and the worker retrains warm (continuing the
active version: the previous size's), embeds and projects. Timed: from the 50th new
answer to the new version's map (the worker's queue empty). The answers since the
parent all count as new; a warm retrain's steps are fixed whatever that count. The
control, in the same run: a retrain from scratch of the same answers at the sizes of
``--scratch-sizes``, and the preference steps it would take at every size (its phase
grows with the answers, ``judgment_passes``).

The worker runs in this process as it runs beside the app: one training thread on a
two-core machine (the other core is the app's).

    .venv/bin/python -m benchmarks.retrain_scaling [--sizes 100,1000,5000,20000]
        [--scratch-sizes 100] [--threads 1] [--out docs/bench/retrain_scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from core.demo import COHORT_DATASET, DEMO_COHORT, import_cohort
from core.learning.method_info import PREFERENCE_PHASES
from core.learning.recipes import FIRST_MODEL
from core.learning.train import judgment_steps, total_steps
from core.simulation import SimulatedRater, truth_of
from core.store import AlreadyJudged, Answer, Store
from core.worker.activation import HELD_BACK
from core.worker.runner import Worker, WorkerConfig
from core.worker.train_job import train_job

from .common import write_json

RATERS = 20
NEW = 50  # the retrain trigger


def add_answers(store: Store, count: int, draw: random.Random, panel: list) -> None:
    """``count`` answers about pairs of training images, by raters of ``panel`` in turn."""
    dataset = store.datasets.by_name(COHORT_DATASET)["id"]
    pool = store.images.ids(dataset_id=dataset, split="train")
    truth = truth_of(store)
    with store.transaction():
        made = 0
        while made < count:
            rater, rater_id = panel[made % len(panel)]
            left, right = draw.sample(pool, 2)
            outcome = rater.answer(truth[left], truth[right])
            try:
                store.judgments.append(Answer(left, right, outcome, rater_id, strategy="random"))
            except AlreadyJudged:
                continue
            made += 1


def run_worker(db: Path, auto: bool) -> None:
    """The worker until its queue is empty (with its automatic triggers when ``auto``)."""
    config = WorkerConfig(db_path=str(db), device="cpu", exit_when_idle=True, auto_triggers=auto)
    Worker(config).run()


def retrain(db: Path, start: str) -> dict:
    """One retrain by hand (warm or from scratch) and its chain; the new version."""
    with Store(db) as store:
        dataset = store.datasets.by_name(COHORT_DATASET)["id"]
        job = store.jobs.submit("train", train_job(store, dataset, start).to_params())
    run_worker(db, auto=False)
    with Store(db) as store:
        model = store.models.of_job(job)
        if model is None or model["chain"] != "ready":
            jobs = [(j["id"], j["kind"], j["status"], j["error"]) for j in store.jobs.list()]
            raise RuntimeError(f"the {start} retrain (job {job}) did not produce a map: {jobs}")
        return model


def timed_retrain(db: Path, draw: random.Random, panel: list) -> tuple[float, dict]:
    """Seconds from the 50th new answer to the new version's map, and that version."""
    with Store(db) as store:
        add_answers(store, NEW - 1, draw, panel)
        store.settings.set("auto_retrain_every", NEW)
        add_answers(store, 1, draw, panel)
    started = time.perf_counter()
    run_worker(db, auto=True)
    seconds = time.perf_counter() - started
    with Store(db) as store:
        store.settings.set("auto_retrain_every", 0)
        newest = store.models.newest(store.datasets.by_name(COHORT_DATASET)["id"])
    if newest is None or newest["chain"] != "ready":
        raise RuntimeError(f"the automatic retrain did not produce a map: {newest}")
    return seconds, newest


def scratch_preference_steps(answers: int, images: int) -> int:
    """The preference steps a retrain from scratch would run with ``answers`` standing:
    the recipe's fixed phase, or longer, so that each answer is drawn
    ``judgment_passes`` times (``core.learning.train``'s rule)."""
    fixed = total_steps(FIRST_MODEL, images, next(iter(PREFERENCE_PHASES)))
    return max(fixed, judgment_steps(FIRST_MODEL, answers, FIRST_MODEL.judgment_share))


def summary(model: dict) -> dict:
    metrics = model["metrics"]
    return {
        "version": model["version"],
        "kind": model["kind"],
        "steps": metrics.get("steps_trained"),
        "answers_standing": metrics.get("n_judgments_standing"),
        "tau_truth_held_out": metrics.get(f"tau_truth@{COHORT_DATASET}"),
        "val_tau": metrics.get("val_tau"),
        "val_judgment_agreement": metrics.get("val_judgment_agreement"),
        "activated": bool(model["active"]),
        "held_back": metrics.get(HELD_BACK),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000,20000")
    parser.add_argument("--scratch-sizes", default="100")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--patients", type=int, default=DEMO_COHORT.patients)
    parser.add_argument("--out", default="docs/bench/retrain_scaling.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch_sizes = {int(s) for s in args.scratch_sizes.split(",") if s}
    torch.set_num_threads(args.threads)
    draw = random.Random(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "app.db"
        with Store(db) as store:
            import_cohort(store, replace(DEMO_COHORT, patients=args.patients))
            store.settings.set("auto_retrain_every", 0)
            panel = [
                (SimulatedRater(f"rater {k}", noise=0.1, seed=k), store.raters.ensure(f"rater {k}"))
                for k in range(RATERS)
            ]
            images = store.images.count()
        started = time.perf_counter()
        first = retrain(db, "scratch")
        first_seconds = time.perf_counter() - started
        print(f"first model: v{first['version']} in {first_seconds:.0f} s", flush=True)
        for size in sizes:
            with Store(db) as store:
                standing = store.judgments.count_effective_since(0)
                add_answers(store, max(0, size - NEW - standing), draw, panel)
            seconds, version = timed_retrain(db, draw, panel)
            row = {"answers": size, "warm_seconds": round(seconds, 1), "warm": summary(version)}
            row["scratch_preference_steps"] = scratch_preference_steps(size, images)
            if size in scratch_sizes:
                started = time.perf_counter()
                scratch = retrain(db, "scratch")
                row["scratch_seconds"] = round(time.perf_counter() - started, 1)
                row["scratch"] = summary(scratch)
            rows.append(row)
            print(json.dumps(row), flush=True)
    warm = [r["warm_seconds"] for r in rows]
    result = {
        "cohort_images": images,
        "raters": RATERS,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "recipe": FIRST_MODEL.to_dict(),
        "first_model_seconds": round(first_seconds, 1),
        "sizes": rows,
        "warm_largest_over_smallest": round(warm[-1] / warm[0], 2),
        "warm_median_seconds": statistics.median(warm),
        "warm_max_seconds": max(warm),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "sizes"}, indent=2))
    write_json(result, args.out)


if __name__ == "__main__":
    main()
