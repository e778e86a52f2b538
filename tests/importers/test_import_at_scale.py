"""Imports at scale: files decoded in worker processes, rows written a batch at a time,
and a killed import that, run again, stores the rest and nothing twice."""

import os
import signal
import subprocess
import sys
import time

import pytest

import core.importers.ingest as ingest
from core.importers import import_folder
from core.importers.parallel import import_workers
from core.paths import PROJECT_ROOT
from core.store import Store
from tests.conftest import write_png
from tests.dicom_factory import PATIENT_ID, write_dicom


def outcomes(report):
    return [(o.file, o.status, o.reason) for o in report.outcomes]


def mixed_folder(folder):
    """Good images (one twice), bad files, a DICOM, a manifest with a bad line."""
    for k in range(40):
        write_png(folder / f"eye_{k:02d}.png", seed=k, size=(16, 16))
    write_png(folder / "sub" / "copy_of_eye_03.png", seed=3, size=(16, 16))
    (folder / "empty.png").write_bytes(b"")
    (folder / "letter.jpg").write_text("Dear colleague")
    (folder / "notes.txt").write_text("hello")
    write_dicom(folder / f"{PATIENT_ID}.dcm", [[0, 500], [900, 4000]], study_date="20210314")
    manifest = folder / "manifest.csv"
    manifest.write_text(
        "file,patient_id,visit_date,grade\n"
        "eye_00.png,MRN-1,2021-01-02,0\n"
        "eye_01.png,MRN-1,2021-13-45,1\n"
        "eye_02.png,MRN-2,2021-03-04,2\n"
        "ghost.png,MRN-3,2021-01-02,2\n"
    )
    return manifest


def test_decoding_processes_give_the_same_report_and_rows_as_decoding_here(tmp_path):
    manifest = mixed_folder(tmp_path / "clinic")
    reports, rows = [], []
    for workers in (0, 2):
        with Store(tmp_path / f"study_{workers}.db") as store:
            report = import_folder(store, tmp_path / "clinic", "clinic", manifest, workers=workers)
            reports.append(outcomes(report))
            rows.append(
                [
                    (r["source"], r["grade"], r["patient"], r["visit_date"], r["split"])
                    for r in store.images.query()
                ]
            )
            assert store.integrity_problems() == []
    assert reports[0] == reports[1]  # every file, in the same order, with the same reason
    assert rows[0] == rows[1]
    statuses = {file: status for file, status, _ in reports[1]}
    assert statuses["sub/copy_of_eye_03.png"] == "duplicate"
    assert statuses["eye_01.png"] == statuses["empty.png"] == statuses["ghost.png"] == "rejected"
    assert statuses[f"{PATIENT_ID}.dcm"] == "imported"


def test_one_bad_file_in_a_batch_rejects_that_file_alone(tmp_path):
    folder = tmp_path / "clinic"
    for k in range(30):
        write_png(folder / f"eye_{k:02d}.png", seed=k, size=(16, 16))
    data = (folder / "eye_10.png").read_bytes()
    (folder / "eye_10.png").write_bytes(data[: len(data) // 3])  # cut off
    with Store(tmp_path / "study.db") as store:
        report = import_folder(store, folder, "clinic", workers=0)
        assert report.counts() == {"imported": 29, "duplicate": 0, "rejected": 1}
        assert [o.file for o in report.outcomes] == sorted(p.name for p in folder.iterdir())
        assert store.images.count() == 29


def test_a_row_the_database_refuses_rejects_that_file_and_keeps_the_batch(tmp_path, monkeypatch):
    folder = tmp_path / "clinic"
    for k in range(12):
        write_png(folder / f"eye_{k:02d}.png", seed=k, size=(16, 16))
    refused = "eye_05.png"
    written = ingest.write_row

    def refuse_one(store, dataset_id, stored, facts, patients):
        if facts.source == refused:
            raise ValueError("a constraint failed")
        return written(store, dataset_id, stored, facts, patients)

    monkeypatch.setattr(ingest, "write_row", refuse_one)
    with Store(tmp_path / "study.db") as store:
        report = import_folder(store, folder, "clinic", workers=0)
        result = {o.file: (o.status, o.reason) for o in report.outcomes}
        assert result[refused] == (
            "rejected",
            "unexpected problem while storing: a constraint failed",
        )
        assert report.counts()["imported"] == 11
        assert store.images.count() == 11


def test_rows_are_written_a_batch_at_a_time(tmp_path, monkeypatch):
    folder = tmp_path / "clinic"
    for k in range(10):
        write_png(folder / f"eye_{k:02d}.png", seed=k, size=(16, 16))
    commits = []
    with Store(tmp_path / "study.db") as store:
        original = store.db.commit
        monkeypatch.setattr(store.db, "commit", lambda: commits.append(1) or original())
        monkeypatch.setattr(ingest, "BATCH_SECONDS", 60.0)
        monkeypatch.setattr(ingest.RowBatch.__init__, "__defaults__", (4, 60.0))
        import_folder(store, folder, "clinic", workers=0)
        assert store.images.count() == 10
    assert len(commits) == 1 + 3  # the dataset's row, then 4 + 4 + 2 images


def test_the_number_of_decoding_processes_follows_cores_and_memory(monkeypatch):
    import core.importers.parallel as parallel

    monkeypatch.delenv(parallel.IMPORT_WORKERS_ENV, raising=False)
    monkeypatch.setattr(parallel, "available_cores", lambda: 8)
    assert import_workers(10) == 0  # a small import decodes here
    monkeypatch.setenv("SEVERITY_DECODE_BUDGET_MB", "512")
    monkeypatch.setenv(parallel.IMPORT_MEMORY_ENV, "2048")
    assert import_workers(10_000) == 2  # (2048 - 400) // (512 + 200)
    monkeypatch.setenv(parallel.IMPORT_MEMORY_ENV, "1024")
    assert import_workers(10_000) == 0  # room for one: decode here
    monkeypatch.setenv(parallel.IMPORT_MEMORY_ENV, "16000")
    assert import_workers(10_000) == 8  # no more than the cores
    monkeypatch.setenv(parallel.IMPORT_WORKERS_ENV, "3")
    assert import_workers(10) == 3


KILLABLE_IMPORT = """
import sys
from core.importers import import_folder
from core.store import Store
with Store(sys.argv[1]) as store:
    print(import_folder(store, sys.argv[2], "clinic", workers=int(sys.argv[3])).summary())
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_a_killed_import_run_again_stores_the_rest_and_nothing_twice(tmp_path, workers):
    folder = tmp_path / "clinic"
    files = 400
    for k in range(files):
        write_png(folder / f"eye_{k:03d}.png", seed=k, size=(24, 24))
    db = tmp_path / "study.db"
    Store(db).close()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_IMPORT, str(db), str(folder), str(workers)],
        cwd=PROJECT_ROOT,
        start_new_session=True,  # its decoding processes are killed with it
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    with Store(db) as store:
        while store.images.count() < 50 and time.monotonic() < deadline:
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        stored = store.images.count()
    assert 50 <= stored < files, "the kill came too late to test anything"
    with Store(db) as store:
        report = import_folder(store, folder, "clinic", workers=workers)
        counts = report.counts()
        assert counts["imported"] == files - stored
        assert counts["duplicate"] == stored and counts["rejected"] == 0
        assert store.images.count() == files
        sources = [r["source"] for r in store.images.query()]
        assert len(set(sources)) == files  # each file once
        assert all(store.media_path(r["pixel_path"]).is_file() for r in store.images.query())
        assert store.integrity_problems() == []


def _dies_on_three(task: int) -> int:
    """A decoding process's work that kills its process on one task (as the system
    would, short of memory)."""
    if task == 3:
        os._exit(1)
    return 2 * task


def test_a_decoding_process_that_dies_stops_the_import_instead_of_hanging(monkeypatch):
    import core.importers.parallel as parallel

    monkeypatch.setattr(parallel, "CHUNK_TIMEOUT_S", 5.0)
    with pytest.raises(parallel.DecodingStopped, match="import again to continue"):
        list(parallel.in_order(_dies_on_three, list(range(100)), workers=2))
    assert list(parallel.in_order(_dies_on_three, [1, 2], workers=0)) == [2, 4]
