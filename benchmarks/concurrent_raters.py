"""Many raters answering at once while the worker trains: how long does one answer
wait for the database, is any answer lost or stored twice, and does the worker's
heartbeat keep its rhythm?

Each rater is its own process with its own connection (as Streamlit sessions are
threads with their own connections, and several app servers may share a file). The
worker is the real ``python -m core worker`` training its first model. Run once with
SQLite's own busy handler (mode ``sqlite``), once with the store's polling (``poll``,
the default in the app), and on PostgreSQL (``postgresql``: a throwaway server from
Debian's package, or ``--pg-url`` pointing at a server's maintenance database), each
on a fresh database:

    .venv/bin/python -m benchmarks.concurrent_raters [--raters 8] [--interval 0.5] \
        [--seconds 30] [--modes sqlite,poll,postgresql] [--out docs/bench/concurrent_raters.json]

``--interval 0`` answers at full speed. Raters are spread over ``--processes`` processes
(threads within each, as Streamlit sessions are threads of one server process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
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

from .common import fresh_database, write_json


def rater_process(
    db: str, numbers: list[int], interval: float, seconds: float, lock_wait: str, out: mp.Queue
) -> None:
    """Several raters as threads of one process, each with its own connection."""
    import threading

    import core.store.store as store_module

    store_module.LOCK_POLL_SECONDS = None if lock_wait == "sqlite" else 0.002
    threads = [
        threading.Thread(target=rater, args=(db, n, interval, seconds, out)) for n in numbers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def rater(db: str, number: int, interval: float, seconds: float, out: mp.Queue) -> None:
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


def one_mode(mode: str, args: argparse.Namespace, cluster=None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        if mode == "postgresql":
            db = cluster.create_database() if cluster else fresh_database(args.pg_url)
            os.environ["SEVERITY_MEDIA"] = str(Path(folder) / "media")
        else:
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
            groups = np.array_split(np.arange(args.raters), min(args.processes, args.raters))
            processes = [
                mp.Process(
                    target=rater_process,
                    args=(db, group.tolist(), args.interval, args.seconds, mode, queue),
                )
                for group in groups
            ]
            for process in processes:
                process.start()
            beats = heartbeats(db, args.seconds)
            results = [queue.get(timeout=args.seconds + 120) for _ in range(args.raters)]
            for process in processes:
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
        "mode": mode,
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
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--modes", default="sqlite,poll")
    parser.add_argument("--pg-url", help="a PostgreSQL maintenance database (default: throwaway)")
    parser.add_argument("--out", default="docs/bench/concurrent_raters.json")
    args = parser.parse_args()
    modes = args.modes.split(",")
    with contextlib.ExitStack() as stack:
        cluster = None
        if "postgresql" in modes and not args.pg_url:
            from devtools.postgres import throwaway_cluster

            cluster = stack.enter_context(throwaway_cluster())
        results = [one_mode(mode, args, cluster) for mode in modes]
    report = {"settings": vars(args), "results": results}
    print(json.dumps(report, indent=2))
    write_json(report, args.out)


if __name__ == "__main__":
    main()
