"""A study of 100,000 images end to end (issue 28): a synthetic cohort of about 20,000
patients (the project's generator, five visits each, at the size the app stores) written
as a folder of PNGs with a manifest (and, with ``--npz``, one MedMNIST-style ``.npz``);
imported into a fresh study by the app's folder importer; a killed import resumed; the
app's first model trained, every image embedded and the maps projected, each by the
worker's own job; the Latent space and Patients pages opened in Chromium.

Every stage but the pages runs in a process of its own. For each: its wall time, images
a second, its peak memory (``VmHWM`` from ``/proc/<pid>/status``: the process's own,
and the largest sum over it and its children, sampled, for the import's decoding
processes), and after it the database's size and the media folder's size and files.

Stages can run in parts: ``--workdir`` keeps the cohort, the study and each stage's
figures between runs, and ``--stages`` names those to run now (the report includes the
figures of those run before). ``import`` starts a fresh study; ``resume`` imports into
another fresh study, kills the import (SIGKILL, with its decoding processes) part-way,
runs it again and checks that every file is stored once.

    .venv/bin/python -m benchmarks.large_study [--images 100000] [--workdir DIR] \
        [--stages generate,import,resume,train,embed,project,pages] [--pg-url URL] \
        [--out docs/bench/large_study.json]

``--smoke`` is a quick check that every stage runs (200 images, a short training).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.paths import PROJECT_ROOT

from .common import fresh_database, write_json
from .large_study_pages import measure_pages

ALL_STAGES = ("generate", "import", "resume", "train", "embed", "project", "pages")
TARGETS = {  # issue 28, on 2 CPU cores
    "import_images_per_s": 300,
    "import_peak_mb": 2048,
    "embed_seconds": 600,
    "project_seconds": 300,
    "latent_first_paint_s": 3.0,
    "box_to_gallery_s": 1.0,
    "patients_first_paint_s": 2.0,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=5, help="images per patient")
    parser.add_argument("--image-size", type=int, default=96, help="rendered side, pixels")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workdir", default=str(PROJECT_ROOT / "data" / "bench" / "large_study"))
    parser.add_argument("--stages", default=",".join(ALL_STAGES))
    parser.add_argument("--pg-url", help="a PostgreSQL server's maintenance URL (else SQLite)")
    parser.add_argument("--npz", action="store_true", help="also write the cohort as a .npz")
    parser.add_argument("--import-workers", type=int, help="decoding processes (default: auto)")
    parser.add_argument("--threads", type=int, help="torch threads (default: the worker's)")
    parser.add_argument("--train-pairs", type=int, help="pairs a phase (default: the recipe's)")
    parser.add_argument("--kill-at", type=float, default=0.3, help="share imported, then kill")
    parser.add_argument("--repeats", type=int, default=3, help="warm visits per page")
    parser.add_argument("--smoke", action="store_true", help="200 images, a short training")
    parser.add_argument("--out", help="default docs/bench/large_study[_smoke].json")
    args = parser.parse_args()
    if args.smoke:
        args.images, args.train_pairs, args.repeats = 200, args.train_pairs or 320, 1
    args.out = args.out or f"docs/bench/large_study{'_smoke' if args.smoke else ''}.json"
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(sorted(unknown))}; the stages: {ALL_STAGES}")
    args.stages = [s for s in ALL_STAGES if s in stages]
    return args


# -- measuring a stage ------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _alive(pid: int) -> bool:
    """Running or sleeping; not gone, and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


class TreeMemory:
    """The largest sum of resident memory over a process and its descendants, sampled."""

    def __init__(self, pid: int, every: float = 0.25):
        self.pid, self.every, self.peak_kb = pid, every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            pids = [self.pid, *_descendants(self.pid)]
            self.peak_kb = max(self.peak_kb, sum(_status_kb(p, "VmRSS") for p in pids))

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak_kb / 1024


def start_stage(stage: str, workdir: Path, settings: dict) -> tuple[subprocess.Popen, Path]:
    settings_path, result = workdir / "settings.json", workdir / "results" / f"{stage}.json"
    settings_path.write_text(json.dumps(settings, indent=2))
    result.parent.mkdir(parents=True, exist_ok=True)
    result.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.large_study_stages",
            stage,
            str(settings_path),
            str(result),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SEVERITY_MEDIA": settings.get("media", "")},
        start_new_session=True,  # its own process group: a kill takes its children too
    )
    return process, result


def run_stage(stage: str, workdir: Path, settings: dict) -> dict:
    process, result = start_stage(stage, workdir, settings)
    memory = TreeMemory(process.pid)
    started = time.perf_counter()
    code = process.wait()
    wall = time.perf_counter() - started
    tree_peak = memory.stop()
    if code != 0 or not result.exists():
        raise RuntimeError(f"the {stage} stage failed (exit {code})")
    figures = json.loads(result.read_text())
    figures |= {"process_wall_s": wall, "tree_peak_mb": tree_peak}
    return figures


# -- sizes ------------------------------------------------------------------------------


def folder_size(folder: Path) -> dict:
    files, size = 0, 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                size += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except OSError:
                continue
    return {"files": files, "mb": size / 2**20}


def database_mb(location: str) -> float:
    if location.startswith("postgresql"):
        from core.store import Store

        with Store(location) as store:  # the server's own count of the database's files
            row = store.one_row("SELECT pg_database_size(current_database()) AS n")
        return row["n"] / 2**20
    files = [Path(location + suffix) for suffix in ("", "-wal", "-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def sizes(settings: dict) -> dict:
    media = Path(settings["media"])
    figures = {"database_mb": database_mb(settings["location"])}
    if media.exists():
        pixels = folder_size(media)
        models = folder_size(media / "models")
        figures["media"] = {
            "files": pixels["files"] - models["files"],
            "mb": pixels["mb"] - models["mb"],
            "shards": sum(1 for p in media.iterdir() if p.is_dir() and p.name != "models"),
            "models_mb": models["mb"],
        }
    return figures


# -- the study's databases --------------------------------------------------------------


def fresh_study(args: argparse.Namespace, folder: Path) -> tuple[str, str]:
    """A new, empty study in ``folder`` (its media; the SQLite file too): its location."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    location = fresh_database(args.pg_url) if args.pg_url else str(folder / "app.db")
    return location, str(folder / "media")


def resume_check(args: argparse.Namespace, workdir: Path, settings: dict) -> dict:
    """Import into a fresh study, SIGKILL the import (and its decoding processes) once
    ``--kill-at`` of the images are stored, import again, and check the study."""
    from core.store import Store

    location, media = fresh_study(args, workdir / "resume_check")
    settings = {**settings, "location": location, "media": media}
    with Store(location, media):
        pass  # the schema, before anything polls it
    expected = settings["images"]
    process, _ = start_stage("import", workdir, settings)
    started = time.perf_counter()
    stored = 0
    with Store(location, media) as store:
        while process.poll() is None:
            stored = store.images.count()
            if stored >= args.kill_at * expected:
                break
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError("the import ended before it could be killed: raise --kill-at")
        group = [process.pid, *_descendants(process.pid)]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        time.sleep(1.0)
        survivors = [p for p in group if _alive(p)]
        at_kill = store.images.count()
    killed_after = time.perf_counter() - started
    resumed = run_stage("import", workdir, settings)
    with Store(location, media) as store:
        rows = store.images.query()
        visits = {(r["patient"], r["visit_index"]) for r in rows}  # one image per visit
        missing_files = sum(not store.media_path(r["pixel_path"]).is_file() for r in rows)
        integrity = store.integrity_problems()
    figures = {
        "killed_after_s": killed_after,
        "stored_at_kill": at_kill,
        "processes_left_after_kill": len(survivors),
        "resumed": resumed,
        "rows": len(rows),
        "expected": expected,
        "duplicate_rows": len(rows) - len(visits),
        "rows_without_file": missing_files,
        "integrity_problems": integrity,
    }
    figures["passed"] = (
        len(rows) == expected
        and figures["duplicate_rows"] == 0
        and missing_files == 0
        and not integrity
        and resumed["duplicate"] == at_kill
        and resumed["imported"] == expected - at_kill
    )
    shutil.rmtree(workdir / "resume_check", ignore_errors=True)  # its pixels, on disk twice
    return figures


# -- the report -------------------------------------------------------------------------


def against_targets(stages: dict) -> dict:
    """Each target of issue 28 with the figure measured for it (None: not measured)."""

    def get(*keys):
        value = stages
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    measured = {
        "import_images_per_s": (get("import", "images_per_s"), "min"),
        "import_peak_mb": (get("import", "tree_peak_mb"), "max"),
        "embed_seconds": (get("embed", "seconds"), "max"),
        "project_seconds": (get("project", "seconds"), "max"),
        "latent_first_paint_s": (get("pages", "latent", "first_paint_cold_s"), "max"),
        "box_to_gallery_s": (get("pages", "latent", "box_to_gallery", "seconds"), "max"),
        "patients_first_paint_s": (get("pages", "patients", "first_paint_cold_s"), "max"),
    }
    return {
        name: {
            "target": TARGETS[name],
            "measured": value,
            "met": None
            if value is None
            else (value >= TARGETS[name] if kind == "min" else value <= TARGETS[name]),
        }
        for name, (value, kind) in measured.items()
    }


def main() -> None:
    args = parse_args()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    state_path = workdir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    settings = {
        **state.get("settings", {}),
        "images": args.images,
        "visits": args.visits,
        "image_size": args.image_size,
        "seed": args.seed,
        "cohort": str(workdir / "cohort"),
        "npz": str(workdir / "cohort.npz") if args.npz else None,
        "generate_workers": os.cpu_count() or 1,
        "import_workers": args.import_workers,
        "threads": args.threads,
        "train_pairs": args.train_pairs,
    }
    stages = state.get("stages", {})
    for stage in args.stages:
        print(f"{stage} ...", flush=True)
        if stage == "import":
            location, media = fresh_study(args, workdir / "study")
            settings |= {"location": location, "media": media}
            for later in ("train", "embed", "project", "pages"):
                stages.pop(later, None)  # they were of the study just replaced
        if stage not in ("generate", "import", "resume") and "location" not in settings:
            raise SystemExit(f"the {stage} stage needs the study: run the import stage first")
        if stage == "pages":
            figures = measure_pages(settings["location"], settings["media"], args.repeats)
        elif stage == "resume":
            figures = resume_check(args, workdir, settings)
        else:
            figures = run_stage(stage, workdir, settings)
        if stage not in ("generate", "resume"):
            figures["after"] = sizes(settings)
        if stage == "generate":
            figures["cohort_folder"] = folder_size(Path(settings["cohort"]))
        stages[stage] = figures
        state = {"settings": settings, "stages": stages}
        state_path.write_text(json.dumps(state, indent=2, default=str))
        print(f"{stage}: {json.dumps(figures, default=str)[:600]}", flush=True)
    report = {
        "images": settings["images"],
        "patients": settings["images"] // settings["visits"],
        "image_size": settings["image_size"],
        "backend": "postgresql" if args.pg_url else "sqlite",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "command": " ".join(["python -m benchmarks.large_study", *sys.argv[1:]]),
        "stages": stages,
        "targets": against_targets(stages),
    }
    write_json(report, args.out)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
