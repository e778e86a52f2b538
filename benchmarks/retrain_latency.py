"""Two figures from one run on the demo data, with a real worker process beside it:

1. first run: from seeding the demo data to a populated latent map (the first
   model, one per dataset, trained, embedded and projected by the worker on its own):
   the first dataset's map, and every dataset's;
2. retrain: from the N-th new judgment about the synthetic cohort (auto-retrain after N,
   per dataset) to the cohort's new version's projection being visible. A simulated
   rater (core.simulation) answers from the known truth; a quarter of its pairs are of
   two validation images, the case that once wrote checkpoints the embed job could not
   load. Failed jobs are counted (target: 0).

    .venv/bin/python -m benchmarks.retrain_latency [--every 50] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.demo import COHORT_DATASET, seed_demo
from core.simulation import SimulatedRater, judge_pairs, truth_of
from core.store import AlreadyJudged, Store
from core.worker.activation import HELD_BACK

from .common import write_json


def projected_versions(store: Store) -> list[int]:
    return [
        m["version"] for m in store.models.list() if store.embeddings.available_projections(m["id"])
    ]


def chain_settled(store: Store, version: int, dataset_id: int) -> bool:
    """A version of the dataset's, this one or later, exists and its chain has ended,
    well or not."""
    newest = store.models.newest(dataset_id)
    return bool(
        newest
        and newest["version"] >= version
        and (newest["chain"] != "pending" or newest["status"] == "failed")
    )


def wait_for(store: Store, condition, timeout: float, poll: float = 1.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition(store):
            return time.monotonic()
        time.sleep(poll)
    raise TimeoutError("the worker did not finish in time")


def judge(
    store: Store, dataset_id: int, count: int, seed: int, validation_share: float = 0.25
) -> int:
    """Simulated answers from the known truth about one dataset's images (as the Compare
    page draws them); returns how many are of validation pairs."""
    draw = random.Random(seed)
    by_split = {
        split: store.images.ids(split=split, dataset_id=dataset_id) for split in ("train", "val")
    }
    rater = SimulatedRater("Benchmark rater", noise=0.05, seed=seed)
    truth = truth_of(store)
    on_val = 0
    while count:
        split = "val" if draw.random() < validation_share else "train"
        pair = tuple(draw.sample(by_split[split], 2))
        try:
            judge_pairs(store, rater, [pair], truth, strategy="benchmark")
        except AlreadyJudged:
            continue
        count -= 1
        on_val += split == "val"
    return on_val


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", default="docs/bench/retrain_latency.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "app.db"
        started = time.monotonic()
        with Store(db) as store:
            seed_demo(store)
            store.settings.set("auto_retrain_every", args.every)
            datasets = len(store.datasets.list())
            cohort = store.datasets.by_name(COHORT_DATASET)["id"]
        seeded = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--db", str(db), "--device", args.device],
            stdout=subprocess.DEVNULL,
        )
        try:
            with Store(db) as store:
                first_map = wait_for(store, lambda s: len(projected_versions(s)) >= 1, args.timeout)
                every_map = wait_for(
                    store, lambda s: len(projected_versions(s)) >= datasets, args.timeout
                )
                on_validation = judge(store, cohort, args.every - 1, seed=0)
                on_validation += judge(store, cohort, 1, seed=1)
                nth_judgment = time.monotonic()
                second_map = wait_for(
                    store, lambda s: chain_settled(s, datasets + 1, cohort), args.timeout
                )
                versions = {
                    m["version"]: {
                        "dataset": m["dataset"],
                        "status": m["status"],
                        "map": m["chain"],
                        "error": m["error"],
                        "held_back": (m["metrics"] or {}).get(HELD_BACK),
                    }
                    for m in store.models.list()
                }
                failed = [
                    {"id": j["id"], "kind": j["kind"], "error": j["error"]}
                    for j in store.jobs.list(statuses=("failed",))
                ]
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    result = {
        "demo_seed_seconds": round(seeded - started, 1),
        "first_map_seconds_after_seeding": round(first_map - seeded, 1),
        "first_map_seconds_total": round(first_map - started, 1),
        "every_dataset_mapped_seconds_after_seeding": round(every_map - seeded, 1),
        "retrain_every": args.every,
        "judgments_on_validation_pairs": on_validation,
        "nth_judgment_to_new_projection_seconds": round(second_map - nth_judgment, 1),
        "failed_jobs": failed,
        "versions": versions,
    }
    print(json.dumps(result, indent=2))
    write_json(result, args.out)


if __name__ == "__main__":
    main()
