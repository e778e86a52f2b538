"""Exporting a 100,000-image study: a version's scores and 512-dimensional embeddings
as CSV and Parquet, timed, with the memory each export takes.

The study is written straight through the store API (datasets, patients, images
without pixels, one version with its embeddings and severity scores; no network is
trained). Each export then runs in a fresh Python process, as ``python -m core export``
would, which reports its resident memory after the imports (``VmRSS``), its peak
(``VmHWM``, its own since exec) and the wall time of the export alone. Target
(issue 26): each export under a minute and under 1 GB on 2 cores.

    .venv/bin/python -m benchmarks.export_scale [--images 100000] [--dims 512] \
        [--batch-rows 10000] [--postgres MAINTENANCE_URL] [--out docs/bench/export_scale.json]

``--images 2000 --out /tmp/export_scale.json`` is a quick check that it runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.store import NewImage, Store

from .common import fresh_database, write_json

VISITS = 4  # images per patient
EXPORTS = [(what, fmt) for what in ("scores", "embeddings") for fmt in ("csv", "parquet")]
TARGET_SECONDS, TARGET_MB = 60.0, 1024.0

PROBE = """
import sys, time

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

from core.exports import export_version_table
from core.store import Store

location, version, what, fmt, out, batch_rows = sys.argv[1:]
before = rss_mb()
started = time.perf_counter()
with Store(location) as store:
    report = export_version_table(store, int(version), what, fmt, out, int(batch_rows))
seconds = time.perf_counter() - started
# VmHWM: this process's own peak since exec (ru_maxrss would carry the parent's over
# the fork, so every export would report the benchmark's own size)
peak = next(
    int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")
)
print(before, peak, seconds, report.rows, sep="\\t")
"""


def build_study(location: str, images: int, dims: int, seed: int = 0) -> int:
    """``images`` images of ``images // VISITS`` patients, one version that scored them
    all; returns the version's number."""
    rng = np.random.default_rng(seed)
    with Store(location) as store:
        dataset = store.datasets.ensure("Export scale", source="benchmarks.export_scale")
        with store.transaction():
            patient = None
            for k in range(images):
                if k % VISITS == 0:
                    patient = store.patients.ensure(f"patient-{k // VISITS}")
                store.images.add(
                    NewImage(
                        dataset,
                        f"export-scale-{k}",
                        f"images/{k}.png",
                        32,
                        32,
                        ("train", "val", "test")[(k // VISITS) % 3],
                        patient_id=patient,
                        visit_date=f"2024-{k % VISITS + 1:02d}-01",
                        visit_index=k % VISITS,
                        grade=int(rng.integers(0, 5)) if k % 2 else None,
                    )
                )
        config = {"method": "conpro", "image_size": 32, "dataset": "Export scale"}
        model = store.models.create("conpro", config, dataset_id=dataset)
        store.models.finish(model["id"], "models/none.pt", {})
        ids = store.images.ids(dataset_id=dataset)
        store.embeddings.save(
            model["id"],
            ids,
            rng.normal(size=(len(ids), dims)).astype(np.float32),
            rng.normal(size=len(ids)),
            np.abs(rng.normal(size=len(ids))),
        )
        return model["version"]


def measure(location: str, version: int, what: str, fmt: str, out: Path, batch_rows: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, location, str(version), what, fmt, str(out), str(batch_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    before, peak, seconds, rows = done.stdout.strip().splitlines()[-1].split("\t")
    figures = {
        "rows": int(rows),
        "seconds": round(float(seconds), 2),
        "peak_rss_mb": round(float(peak), 1),
        "rss_after_imports_mb": round(float(before), 1),
        "export_mb": round(float(peak) - float(before), 1),
        "file_mb": round(out.stat().st_size / 2**20, 1),
    }
    figures["meets_target"] = (
        figures["seconds"] < TARGET_SECONDS and figures["peak_rss_mb"] < TARGET_MB
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=512)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server's maintenance URL (else SQLite)"
    )
    parser.add_argument("--out", default="docs/bench/export_scale.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        location = fresh_database(args.postgres) if args.postgres else f"{folder}/study.db"
        started = time.perf_counter()
        version = build_study(location, args.images, args.dims)
        build_seconds = time.perf_counter() - started
        print(f"study of {args.images} images built in {build_seconds:.0f} s", flush=True)
        results = {}
        for what, fmt in EXPORTS:
            out = Path(folder) / f"{what}.{fmt}"
            results[f"{what}.{fmt}"] = measure(location, version, what, fmt, out, args.batch_rows)
            out.unlink()
            print(f"{what:>10} {fmt:<7} {results[f'{what}.{fmt}']}", flush=True)
    report = {
        "images": args.images,
        "dims": args.dims,
        "batch_rows": args.batch_rows,
        "backend": "postgresql" if args.postgres else "sqlite",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "target": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_MB},
        "build_seconds": round(build_seconds, 1),
        "exports": results,
    }
    write_json(report, args.out)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
