"""Faults survived: what each fault costs in answers and versions, and how long until
the study works again.

* ``lease``: a worker goes silent mid-job (a remote GPU that lost its connection), its
  job is recovered and finished by another worker, then the first comes back and tries
  to register its version, heartbeat and finish. Every late write must be refused.
* ``kill-migration``: ``kill -9`` at points inside migrations (mid-statement, before the
  version is recorded, before the commit); the next open must find the old schema and
  finish the migration.
* ``kill-backup``: ``kill -9`` while a backup is copied, verified and renamed; no file
  may be left under the backup's name, and the next backup must be whole.
* ``disk-full-import``: the media folder's disk fills up in the middle of an import (a
  file-size limit in a child process); the import stops, naming the file.
* ``pg-restart``: ``pg_ctl restart -m fast`` while store-level raters append answers
  with request tokens, each retrying (with the same token) on a connection error.

Per fault: confirmed (writes the caller was told succeeded), stored, lost (confirmed but
not stored), duplicated, versions registered twice, seconds to recover, and the message
a person is shown. SQLite and PostgreSQL (a throwaway server) each where it applies.

    .venv/bin/python -m benchmarks.faults [--jobs 20] [--kills 4] [--raters 4]
        [--answers 50] [--faults lease,kill-migration,kill-backup,disk-full-import,pg-restart]
        [--out docs/bench/faults.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.paths import PROJECT_ROOT
from core.store import AlreadyJudged, Answer, LeaseLost, Store, StoreError
from core.store import database as store_database
from core.store.database import is_postgres_url
from core.store.jobs import Lease
from core.store.migrations import MIGRATIONS
from devtools.kill import BACKUP, OPEN, describe_schema, kill_at

from .common import write_json

FAULTS = ("lease", "kill-migration", "kill-backup", "disk-full-import", "pg-restart")


def _result(**figures) -> dict:
    base = {"confirmed": 0, "stored": 0, "lost": 0, "duplicated": 0, "versions_twice": 0}
    return {**base, **figures}


# -- lease takeover ------------------------------------------------------------------------


def lease_takeover(location: str, jobs: int) -> dict:
    """``jobs`` training jobs, each lost by worker A and finished by worker B."""
    refused, recover_s, message = 0, [], ""
    late_writes = 0
    with Store(location) as a, Store(location) as b:
        for _ in range(jobs):
            job_id = a.jobs.submit("train", {})
            lease_a = Lease.of(a.jobs.claim("worker-A"))
            with a.jobs.holding(lease_a):
                a_model = a.models.create("conpro", {}, job_id=job_id)
            started = time.perf_counter()  # A goes silent
            later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="milliseconds")
            b.jobs.recover_stale(later, max_attempts=3)
            with b.jobs.holding(Lease.of(b.jobs.claim("worker-B"))):
                model = b.models.create("conpro", {}, job_id=job_id)
                b.models.finish(model["id"], f"models/b-{job_id}.pt", {})
                b.jobs.finish(job_id, "done", result={"model_id": model["id"]})
            recover_s.append(time.perf_counter() - started)
            with a.jobs.holding(lease_a):
                messages = _late_writes(a, job_id, a_model["id"])
            late_writes += 4
            refused += len(messages)
            message = messages[-1] if messages else message
        usable: dict[int, int] = {}
        for m in b.models.list():
            if m["status"] != "failed":
                usable[m["job_id"]] = usable.get(m["job_id"], 0) + 1
        done = sum(1 for j in b.jobs.list(limit=jobs + 10) if j["status"] == "done")
    return _result(
        confirmed=jobs,
        stored=done,
        lost=jobs - done,
        versions_twice=sum(1 for n in usable.values() if n > 1),
        late_writes=late_writes,
        late_writes_refused=refused,
        recover_s=max(recover_s),
        message=message,
    )


def _late_writes(a: Store, job_id: int, model_id: int) -> list[str]:
    """Worker A, back after its job was taken over: register, finish, heartbeat, finish
    the job. Returns the message of each write refused."""
    refused = []
    for late in (
        lambda: a.models.create("conpro", {}, job_id=job_id),
        lambda: a.models.finish(model_id, f"models/a-{job_id}.pt", {}),
        lambda: a.jobs.report(job_id, progress=1.0),
        lambda: a.jobs.finish(job_id, "done", result={"model_id": model_id}),
    ):
        try:
            late()
        except LeaseLost as exc:
            refused.append(str(exc))
    return refused


# -- kill -9 during migrations and backups ---------------------------------------------------


def _reference(location_for, number: int) -> list[tuple]:
    location = location_for()
    saved = store_database.MIGRATIONS
    store_database.MIGRATIONS = MIGRATIONS[:number]
    try:
        store_database.connect(location).close()
    finally:
        store_database.MIGRATIONS = saved
    store_database.dispose(location)
    return describe_schema(location)[1]


def kill_migrations(location_for, kills: int) -> dict:
    """Kill an opening process at ``kills`` points spread over the migrations."""
    location = location_for()
    latest = MIGRATIONS[-1].number
    steps = ["before-version", "before-commit"]
    if not is_postgres_url(location):
        steps.insert(0, "statement-1")  # every migration has one
    numbers = sorted({round(1 + k * (latest - 1) / max(kills - 1, 1)) for k in range(kills)})
    halves, recover_s, points = 0, [], []
    for k, number in enumerate(numbers):
        point = f"migration-{number}-{steps[k % len(steps)]}"
        kill_at(point, OPEN, location)
        store_database.dispose(location)
        version, found = describe_schema(location)
        if version != number - 1 or found != _reference(location_for, version):
            halves += 1
        points.append(point)
        started = time.perf_counter()
        if k == len(numbers) - 1:  # the last: the next start finishes every migration
            Store(location).close()
            store_database.dispose(location)
            recover_s.append(time.perf_counter() - started)
    final_version, final = describe_schema(location)
    complete = final_version == latest and final == _reference(location_for, latest)
    return _result(
        kills=len(points),
        points=points,
        half_schemas=halves,
        schema_complete_after_restart=complete,
        recover_s=max(recover_s),
        message=f"schema at migration {final_version} after the next start",
    )


def kill_backups(location: str, folder: Path) -> dict:
    with Store(location) as store:
        store.raters.ensure("Dr Backup")
    points = ["backup-before-verify", "backup-before-rename"]
    points.insert(0, "migration-1-before-version" if is_postgres_url(location) else "backup-step")
    left_behind = 0
    for point in points:
        target = folder / f"backup-{point}.db"
        kill_at(point, BACKUP, location, str(target))
        left_behind += target.exists()
    started = time.perf_counter()
    target = folder / "backup-after.db"
    with Store(location) as store:
        store.backup_to(target)
    with Store(target) as copy:
        whole = copy.integrity_problems() == [] and len(copy.raters.list()) == 1
    return _result(
        kills=len(points),
        final_name_left_by_a_killed_backup=left_behind,
        next_backup_whole=whole,
        recover_s=time.perf_counter() - started,
        message="no backup file under its name after a kill; the next backup verified",
    )


# -- a full disk under an import -------------------------------------------------------------

LIMITED_IMPORT = """
import json, resource, signal, sys
from core.importers import import_folder
from core.store import StorageFull, Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
with Store(sys.argv[1]) as store:
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
    try:
        print(json.dumps({"finished": import_folder(store, sys.argv[2], "clinic").summary()}))
    except StorageFull as exc:
        print(json.dumps({"stopped": str(exc)}))
"""


def disk_full_import(folder: Path) -> dict:
    from tests.conftest import write_png

    files = folder / "clinic"
    for k in range(8):
        write_png(files / f"eye_{k}.png", seed=k, size=(400, 400) if k == 5 else (24, 24))
    db = folder / "study.db"
    Store(db).close()
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_IMPORT, str(db), str(files), "200000"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcome = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout else {}
    started = time.perf_counter()
    with Store(db) as store:
        rows = store.images.query()
        partial = sum(not store.media_path(r["pixel_path"]).is_file() for r in rows)
        stored = len(rows)
        store.integrity_problems()
    return _result(
        confirmed=stored,
        stored=stored,
        partial_rows=partial,
        part_files_left=len(list(folder.rglob("*.part"))),
        stopped=("stopped" in outcome),
        recover_s=time.perf_counter() - started,
        message=outcome.get("stopped") or outcome.get("finished") or done.stderr[-300:],
    )


# -- PostgreSQL restarts under raters --------------------------------------------------------


def pg_restart(cluster, raters: int, answers: int) -> dict:
    """Raters append answers (each with a request token) while the server restarts."""
    from core.demo import import_cohort
    from core.synthetic import CohortConfig

    url = cluster.create_database()
    with Store(url) as store:
        import_cohort(store, CohortConfig(patients=8, image_size=16))
        ids = store.images.ids()
        rater_ids = [store.raters.ensure(f"Rater {k}") for k in range(raters)]
    pairs = [(a, b) for a in ids for b in ids if a < b]
    confirmed: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 600

    def rater(k: int) -> None:
        store: Store | None = None
        for n in range(answers):
            token = uuid.uuid4().hex
            a, b = pairs[(k * answers + n) % len(pairs)]
            answer = Answer(a, b, "left", rater_ids[k], request_token=token)
            while time.monotonic() < stop_at:
                try:
                    store = store or Store(url)
                    store.judgments.append(answer)  # the same token on every try
                    with lock:
                        confirmed.append(token)
                    break
                except AlreadyJudged:  # a pair answered before: not a fault's doing
                    break
                except (SQLAlchemyError, StoreError) as exc:  # the server went away
                    with lock:
                        errors.append(type(exc).__name__)
                    if store is not None:
                        with contextlib.suppress(Exception):
                            store.close()
                    store = None
                    time.sleep(0.2)
            time.sleep(0.02)
        if store is not None:
            store.close()

    threads = [threading.Thread(target=rater, args=(k,)) for k in range(raters)]
    for t in threads:
        t.start()
    while len(confirmed) < raters * answers // 3 and any(t.is_alive() for t in threads):
        time.sleep(0.01)  # a third of the answers in, the server goes down
    restarted = time.perf_counter()
    cluster.restart()
    back_s = None
    while back_s is None:
        with contextlib.suppress(Exception), Store(url):
            back_s = time.perf_counter() - restarted
    for t in threads:
        t.join()
    store_database.dispose(url)
    with Store(url) as store:
        rows = store.all("SELECT request_token FROM judgments WHERE request_token IS NOT NULL")
    stored = [r["request_token"] for r in rows]
    return _result(
        confirmed=len(confirmed),
        stored=len(stored),
        lost=len(set(confirmed) - set(stored)),
        duplicated=len(stored) - len(set(stored)),
        connection_errors_retried=len(errors),
        recover_s=back_s,
        message=(errors and f"{errors[0]} (retried with the same request token)") or "",
    )


# -- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--raters", type=int, default=4)
    parser.add_argument("--answers", type=int, default=50)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--out", default="docs/bench/faults.json")
    args = parser.parse_args()
    chosen = args.faults.split(",")
    from devtools.postgres import throwaway_cluster

    report: dict = {"settings": vars(args), "faults": {}}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        root = Path(tmp)
        counter = iter(range(10_000))
        backends = {
            "sqlite": lambda: str(root / f"db-{next(counter)}.db"),
            "postgresql": cluster.create_database,
        }
        for name in chosen:
            started = time.perf_counter()
            if name == "disk-full-import":
                runs = {"sqlite": disk_full_import(root / "disk")}
            elif name == "pg-restart":
                runs = {"postgresql": pg_restart(cluster, args.raters, args.answers)}
            else:
                runs = {}
                for backend, location_for in backends.items():
                    if name == "lease":
                        runs[backend] = lease_takeover(location_for(), args.jobs)
                    elif name == "kill-migration":
                        runs[backend] = kill_migrations(location_for, args.kills)
                    elif name == "kill-backup":
                        folder = root / f"backups-{backend}"
                        folder.mkdir()
                        runs[backend] = kill_backups(location_for(), folder)
            report["faults"][name] = runs
            print(f"{name}: {json.dumps(runs)} ({time.perf_counter() - started:.1f} s)")
    write_json(report, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
