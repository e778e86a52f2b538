"""The stages of ``benchmarks.large_study`` that run in a process of their own, so that
each one's peak memory is its own: generating the cohort, importing it, and the
worker's training, embedding and projection jobs. ``python -m benchmarks.large_study``
starts them; each writes its figures as JSON for the parent to collect.

    python -m benchmarks.large_study_stages STAGE SETTINGS.json RESULT.json
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

DATASET = "Large study"
MANIFEST_COLUMNS = ("file", "patient_id", "visit_date", "visit_index", "laterality", "grade")


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and of its children that ended (the
    import's decoding processes, the cohort's renderers): what the stage cost the
    machine, whatever else ran beside it."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_mb() -> float:
    """This process's own peak resident memory since it started (``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -- generate ---------------------------------------------------------------------------


def _render(job: tuple[list, int, int, str]) -> int:
    """Render and write the PNGs of some visits that are not written yet."""
    from PIL import Image

    from core.synthetic import render_fundus

    visits, size, seed, folder = job
    written = 0
    for visit in visits:
        path = Path(folder) / cohort_file(visit)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        Image.fromarray(render_fundus(visit, size, seed)).save(part, format="PNG")
        os.replace(part, path)  # a killed run leaves no half-written PNG behind
        written += 1
    return written


def cohort_file(visit) -> str:
    """Where a visit's PNG lies below the cohort folder: a folder per 1,000 patients."""
    number = int(visit.patient_code[4:])
    return f"{number // 1000:03d}/{visit.patient_code}/visit_{visit.visit_index}.png"


def generate(settings: dict) -> dict:
    """The cohort as PNGs with a manifest (and, if asked, one MedMNIST-style .npz);
    PNGs already written by an earlier run are kept."""
    from core.synthetic import CohortConfig, plan_cohort

    folder = Path(settings["cohort"])
    visits_each = settings["visits"]
    config = CohortConfig(
        patients=settings["images"] // visits_each,
        min_visits=visits_each,
        max_visits=visits_each,
        image_size=settings["image_size"],
        seed=settings["seed"],
    )
    started = time.perf_counter()
    visits = plan_cohort(config)
    chunks = [visits[k : k + 200] for k in range(0, len(visits), 200)]
    jobs = [(chunk, config.image_size, config.seed, str(folder)) for chunk in chunks]
    workers = max(1, settings["generate_workers"])
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        written = 0
        for done, count in enumerate(pool.imap(_render, jobs), start=1):
            written += count
            if done % max(1, len(jobs) // 20) == 0:
                print(f"  generate: {done * 200:,} of {len(visits):,} images", flush=True)
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*MANIFEST_COLUMNS, "score"])
        for visit in visits:
            writer.writerow(
                [
                    cohort_file(visit),
                    visit.patient_code,
                    visit.visit_date.isoformat(),
                    visit.visit_index,
                    visit.laterality,
                    visit.grade,
                    round(visit.severity, 4),
                ]
            )
    figures = {
        "images": len(visits),
        "patients": config.patients,
        "written_now": written,
        "seconds": time.perf_counter() - started,
    }
    if settings.get("npz"):
        figures["npz"] = write_npz(folder, visits, settings["npz"])
    return figures


def write_npz(folder: Path, visits: list, target: str) -> dict:
    """A MedMNIST-style archive (``train_images`` N x H x W x 3, ``train_labels`` the
    grades) of the PNGs, built on disk (a memory-mapped array), stored uncompressed."""
    from PIL import Image

    started = time.perf_counter()
    first = np.asarray(Image.open(folder / cohort_file(visits[0])).convert("RGB"))
    parts = Path(target).with_suffix(".parts")
    parts.mkdir(parents=True, exist_ok=True)
    images = np.lib.format.open_memmap(
        parts / "train_images.npy", mode="w+", dtype=np.uint8, shape=(len(visits), *first.shape)
    )
    for k, visit in enumerate(visits):
        images[k] = np.asarray(Image.open(folder / cohort_file(visit)).convert("RGB"))
    images.flush()
    del images
    np.save(parts / "train_labels.npy", np.array([[v.grade] for v in visits], dtype=np.int64))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in ("train_images.npy", "train_labels.npy"):
            archive.write(parts / name, name)
            (parts / name).unlink()
    parts.rmdir()
    return {
        "path": target,
        "mb": Path(target).stat().st_size / 2**20,
        "seconds": time.perf_counter() - started,
    }


# -- import -----------------------------------------------------------------------------


def import_cohort(settings: dict) -> dict:
    """The cohort's folder and manifest through the app's folder importer."""
    from core.importers import import_folder
    from core.store import Store

    folder = Path(settings["cohort"])
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 10 or done == total:
            last[0] = time.monotonic()
            print(f"  import: {done:,} of {total:,} files", flush=True)

    with Store(settings["location"], settings["media"]) as store:
        started = time.perf_counter()
        report = import_folder(
            store,
            folder,
            DATASET,
            folder / "manifest.csv",
            progress,
            workers=settings.get("import_workers"),
        )
        seconds = time.perf_counter() - started
        dataset_id = store.datasets.by_name(DATASET)["id"]
        stored = store.images.count(dataset_id=dataset_id)
    counts = report.counts()
    problems = sorted({o.reason for o in report.outcomes if o.status == "rejected"})[:5]
    return {
        "files": len(report.outcomes),
        **counts,
        "rejected_reasons": problems,
        "stored": stored,
        "seconds": seconds,
        "images_per_s": len(report.outcomes) / seconds,
    }


# -- the worker's jobs ------------------------------------------------------------------


def run_jobs(settings: dict, kind: str) -> dict:
    """The worker's queued jobs of ``kind`` (a training job is queued first, as the
    worker's first-model trigger would), run by the worker's own loop; for the
    projection job, each map's time."""
    from core.store import Store
    from core.worker import maps
    from core.worker.runner import Worker, WorkerConfig, yield_to_the_app
    from core.worker.train_job import train_job

    threads = yield_to_the_app(0, settings.get("threads"))
    location = settings["location"]
    with Store(location, settings["media"]) as store:
        dataset_id = store.datasets.by_name(DATASET)["id"]
        if kind == "train":
            extra = {"device": "cpu"}
            if settings.get("train_pairs"):
                extra["pairs_per_phase"] = settings["train_pairs"]
            store.jobs.submit("train", train_job(store, dataset_id, **extra).to_params())
    timings: list[dict] = []
    if kind == "project":
        project = maps.project

        def timed(vectors, method, dims=2, *args, **kwargs):
            started = time.perf_counter()
            coords = project(vectors, method, dims, *args, **kwargs)
            seconds = time.perf_counter() - started
            timings.append({"map": f"{method}-{dims}d", "points": len(vectors), "seconds": seconds})
            print(f"  project: {method} {dims}-D of {len(vectors):,} points in {seconds:.0f} s")
            return coords

        maps.project = timed  # type: ignore[assignment]
    config = WorkerConfig(
        db_path=location,
        device="cpu",
        kinds=(kind,),
        exit_when_idle=True,
        auto_triggers=False,
        stale_after_seconds=600,
    )
    started = time.perf_counter()
    Worker(config).run()
    seconds = time.perf_counter() - started
    with Store(location, settings["media"]) as store:
        jobs = [j for j in store.jobs.list(limit=50) if j["kind"] == kind]
        newest = store.models.newest(store.datasets.by_name(DATASET)["id"])
        images = store.images.count()
    job = jobs[0] if jobs else {}
    figures = {
        "seconds": seconds,
        "threads": threads,
        "job": {k: job.get(k) for k in ("id", "status", "error")},
        "version": newest and newest["version"],
        "images": images,
        "images_per_s": images / seconds,
    }
    if timings:
        figures["maps"] = timings
    if kind == "train" and newest:
        metrics = newest.get("metrics") or {}
        figures["metrics"] = {
            k: metrics[k] for k in ("val_tau", "val_macro_f1", "steps_trained") if k in metrics
        }
    return figures


STAGES = {
    "generate": generate,
    "import": import_cohort,
    "train": lambda settings: run_jobs(settings, "train"),
    "embed": lambda settings: run_jobs(settings, "embed"),
    "project": lambda settings: run_jobs(settings, "project"),
}


def main() -> None:
    stage, settings_path, result_path = sys.argv[1:4]
    settings = json.loads(Path(settings_path).read_text())
    figures = STAGES[stage](settings)
    figures["peak_mb"] = peak_mb()
    figures["cpu_s"] = cpu_seconds()
    Path(result_path).write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
