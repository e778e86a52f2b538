"""Many raters answering at once while the worker trains: how long does one answer
wait for the database, is any answer lost or stored twice, and does the worker's
heartbeat keep its rhythm?

Each rater is its own process with its own connection (as Streamlit sessions are
threads with their own connections, and several app servers may share a file). The
worker is the real ``python -m core worker`` training its first model. Run once with
SQLite's own busy handler (``--lock-wait sqlite``) and once with the store's polling
(``--lock-wait poll``, the default in the app), on fresh databases, side by side:

    .venv/bin/python -m benchmarks.concurrent_raters [--raters 8] [--interval 0.5] \
        [--seconds 30] [--modes sqlite,poll] [--out docs/bench/concurrent_raters.json]

``--interval 0`` answers at full speed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from core.demo import import_cohort
from core.store import Answer, Store
from core.synthetic import CohortConfig

from .common import write_json


def rater(
    db: str, number: int, interval: float, seconds: float, lock_wait: str, out: mp.Queue
) -> None:
    import core.store.store as store_module

    store_module.LOCK_POLL_SECONDS = None if lock_wait == "sqlite" else 0.002
    rng = np.random.default_rng(number)
    latencies, errors, tokens = [], [], []
    with Store(db) as store:
        me = store.raters.ensure(f"Bench rater {number}")
        ids = store.images.ids()
        pairs = [(a, b) for a in ids for b in ids if a < b]
        order = rng.permutation(len(pairs))
        deadline = time.monotonic() + seconds
        for k in order:
            if time.monotonic() >= deadline:
                break
            a, b = pairs[k]
            token = uuid.uuid4().hex
            started = time.perf_counter()
            try:
                store.judgments.append(
                    Answer(a, b, "left", me, strategy="bench", request_token=token)
                )
            except Exception as exc:  # counted as lost, with its type
                errors.append(type(exc).__name__)
            else:
                tokens.append(token)
            latencies.append(time.perf_counter() - started)
            if interval:
                time.sleep(rng.uniform(0.5, 1.5) * interval)
    out.put({"latencies": latencies, "errors": errors, "tokens": tokens})


def heartbeats(db: str, seconds: float) -> list[float]:
    """Times at which the worker's heartbeat (idle or job) was seen to change."""
    seen, changes = None, []
    deadline = time.monotonic() + seconds
    with Store(db) as store:
        while time.monotonic() < deadline:
            running = store.jobs.list(statuses=("running",), limit=1)
            beat = running[0]["heartbeat_at"] if running else store.settings.get("worker_heartbeat")
            if beat != seen:
                seen = beat
                changes.append(time.monotonic())
            time.sleep(0.05)
    return changes


def one_mode(lock_wait: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "app.db")
        with Store(db) as store:
            import_cohort(store, CohortConfig(patients=40, image_size=32))
        worker = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--db", db, "--device", "cpu"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)  # the worker queues and starts its first training
            queue: mp.Queue = mp.Queue()
            raters = [
                mp.Process(
                    target=rater,
                    args=(db, n, args.interval, args.seconds, lock_wait, queue),
                )
                for n in range(args.raters)
            ]
            for process in raters:
                process.start()
            beats = heartbeats(db, args.seconds)
            results = [queue.get(timeout=args.seconds + 120) for _ in raters]
            for process in raters:
                process.join()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        with Store(db) as store:
            rows = store.all("SELECT request_token FROM judgments WHERE strategy = 'bench'")
    latencies = np.array([x for r in results for x in r["latencies"]]) * 1000
    stored = [r["request_token"] for r in rows]
    succeeded = {t for r in results for t in r["tokens"]}
    gaps = np.diff(beats)
    return {
        "lock_wait": lock_wait,
        "answers": len(latencies),
        "answers_per_second": round(len(latencies) / args.seconds, 1),
        "append_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 2),
            "p95": round(float(np.percentile(latencies, 95)), 2),
            "p99": round(float(np.percentile(latencies, 99)), 2),
            "max": round(float(latencies.max()), 2),
        },
        "refused": sum(len(r["errors"]) for r in results),  # the rater saw an error
        "refusal_kinds": sorted({e for r in results for e in r["errors"]}),
        "lost": len(succeeded - set(stored)),  # confirmed to the rater, yet not stored
        "duplicated": len(stored) - len(set(stored)),
        "heartbeats_seen": len(beats),
        "heartbeat_gap_s": {
            "median": round(float(np.median(gaps)), 2) if len(gaps) else None,
            "max": round(float(np.max(gaps)), 2) if len(gaps) else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--modes", default="sqlite,poll")
    parser.add_argument("--out", default="docs/bench/concurrent_raters.json")
    args = parser.parse_args()
    results = [one_mode(mode, args) for mode in args.modes.split(",")]
    report = {"settings": vars(args), "results": results}
    print(json.dumps(report, indent=2))
    write_json(report, args.out)


if __name__ == "__main__":
    main()
