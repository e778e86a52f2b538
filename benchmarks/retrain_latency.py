"""Two figures from one run on the demo data, with a real worker process beside it:

1. first run: from seeding the demo data to a populated latent map (the first
   model trained, embedded and projected by the worker on its own);
2. retrain: from the N-th new judgment (auto-retrain after N) to the new version's
   projection being visible.

    .venv/bin/python benchmarks/retrain_latency.py [--every 50] [--device cpu]
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

from core.demo import seed_demo
from core.store import AlreadyJudged, Answer, Store


def projected_versions(store: Store) -> list[int]:
    return [
        m["version"] for m in store.models.list() if store.models.available_projections(m["id"])
    ]


def wait_for(store: Store, condition, timeout: float, poll: float = 1.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition(store):
            return time.monotonic()
        time.sleep(poll)
    raise TimeoutError("the worker did not finish in time")


def judge(store: Store, count: int) -> None:
    """A rater answering from the grades (more severe grade wins, ties are 'equal')."""
    rater = store.raters.ensure("Benchmark rater")
    rows = store.images.query()
    grade = {r["id"]: r["grade"] for r in rows}
    draw = random.Random(0)
    made = 0
    while made < count:
        a, b = draw.sample(list(grade), 2)
        outcome = "equal" if grade[a] == grade[b] else ("left" if grade[a] > grade[b] else "right")
        try:
            store.judgments.append(Answer(a, b, outcome, rater, response_ms=2000))
        except AlreadyJudged:
            continue
        made += 1


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
        seeded = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--db", str(db), "--device", args.device],
            stdout=subprocess.DEVNULL,
        )
        try:
            with Store(db) as store:
                first_map = wait_for(store, lambda s: projected_versions(s) == [1], args.timeout)
                judge(store, args.every - 1)
                judge(store, 1)
                nth_judgment = time.monotonic()
                second_map = wait_for(store, lambda s: 2 in projected_versions(s), args.timeout)
                versions = {m["version"]: m["status"] for m in store.models.list()}
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    result = {
        "demo_seed_seconds": round(seeded - started, 1),
        "first_map_seconds_after_seeding": round(first_map - seeded, 1),
        "first_map_seconds_total": round(first_map - started, 1),
        "retrain_every": args.every,
        "nth_judgment_to_new_projection_seconds": round(second_map - nth_judgment, 1),
        "versions": versions,
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
