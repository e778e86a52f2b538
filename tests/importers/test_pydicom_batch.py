"""The issue's acceptance check: every DICOM file shipped with pydicom, in one batch."""

from pathlib import Path

import pydicom
import pydicom.data
import pytest

from core.importers import import_files


def identifying_values(paths):
    """PatientName / PatientID strings of the test files, long enough to be meaningful
    (short ones such as '1' or '204' occur in any database by chance)."""
    values = set()
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception:
            continue
        for keyword in ("PatientName", "PatientID"):
            text = str(ds.get(keyword, "") or "").strip()
            if len(text) >= 5:
                values.add(text)
            values.update(p for p in text.split("^") if len(p) >= 6)
    return values


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from core.store import Store

    root = Path(pydicom.data.get_testdata_files()[0]).parent
    paths = [Path(p) for p in pydicom.data.get_testdata_files()]
    folder = tmp_path_factory.mktemp("pydicom")
    store = Store(folder / "app.db")
    first = import_files(store, root, paths, "pydicom")
    second = import_files(store, root, paths, "pydicom")
    yield store, paths, first, second, folder
    store.close()


def test_every_file_is_imported_or_rejected_with_a_reason(batch):
    _, paths, first, _, _ = batch
    assert len(first.outcomes) >= len([p for p in paths if p.is_file()])
    for outcome in first.outcomes:
        assert outcome.status in ("imported", "duplicate", "rejected")
        if outcome.status == "rejected":
            assert len(outcome.reason) > 15
    assert first.counts()["imported"] >= 50
    assert not any("unexpected problem" in o.reason for o in first.outcomes)


def test_second_run_adds_nothing(batch):
    store, _, first, second, _ = batch
    assert second.counts()["imported"] == 0
    assert second.counts()["duplicate"] == first.counts()["imported"] + first.counts()["duplicate"]
    assert store.images.count() == first.counts()["imported"]


def test_no_patient_name_or_id_reaches_the_database_or_the_image_folder(batch):
    store, paths, _, _, folder = batch
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    values = identifying_values([p for p in paths if p.is_file()])
    assert len(values) > 20  # the check below must have something to look for
    blobs = [(folder / "app.db").read_bytes()]
    blobs += [p.read_bytes() for p in (folder / "media").rglob("*") if p.is_file()]
    for value in values:
        needle = value.encode()
        assert not any(needle in blob for blob in blobs), value
