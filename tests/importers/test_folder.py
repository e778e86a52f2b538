import os

import pytest

from core.importers import ManifestError, import_folder
from tests.dicom_factory import PATIENT_ID, PATIENT_NAME, write_dicom
from tests.helpers import database_text


def statuses(report):
    return {o.file: (o.status, o.reason) for o in report.outcomes}


def test_folder_import_is_recursive_and_idempotent(store, tmp_path, make_png):
    make_png(tmp_path / "a.png", seed=1)
    make_png(tmp_path / "sub" / "b.png", seed=2)
    first = import_folder(store, tmp_path, "clinic")
    second = import_folder(store, tmp_path, "clinic")
    assert first.counts() == {"imported": 2, "duplicate": 0, "rejected": 0}
    assert second.counts() == {"imported": 0, "duplicate": 2, "rejected": 0}
    assert store.images.count() == 2


def test_duplicate_files_in_one_batch_are_stored_once(store, tmp_path, make_png):
    make_png(tmp_path / "a.png", seed=1)
    make_png(tmp_path / "copy_of_a.png", seed=1)
    result = statuses(import_folder(store, tmp_path, "clinic"))
    assert result["a.png"][0] == "imported"
    assert result["copy_of_a.png"] == ("duplicate", "the same image is already stored")


def test_bad_files_are_rejected_with_reasons_and_the_rest_imports(store, tmp_path, make_png):
    make_png(tmp_path / "good.png", seed=1)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "letter.jpg").write_text("Dear colleague")
    (tmp_path / "notes.txt").write_text("hello")
    data = make_png(tmp_path / "whole.png", seed=2, size=(80, 80)).read_bytes()
    (tmp_path / "whole.png").unlink()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    write_dicom(tmp_path / "nopixels.dcm", [[0, 1], [2, 3]], with_pixels=False)
    result = statuses(import_folder(store, tmp_path, "clinic"))
    assert result["good.png"][0] == "imported"
    assert result["empty.png"] == ("rejected", "The file is empty (0 bytes).")
    assert "not a readable image" in result["letter.jpg"][1]
    assert "not an image type" in result["notes.txt"][1]
    assert "damaged or incomplete" in result["cut.png"][1]
    assert "no image" in result["nopixels.dcm"][1]
    assert store.images.count() == 1
    assert store.one("SELECT COUNT(*) AS n FROM patients")["n"] == 0  # no half-written rows


def test_symlink_leading_outside_the_import_root_is_refused(store, tmp_path, make_png):
    outside = make_png(tmp_path / "secret" / "private.png", seed=5)
    root = tmp_path / "import"
    make_png(root / "ok.png", seed=6)
    os.symlink(outside, root / "link.png")
    result = statuses(import_folder(store, root, "clinic"))
    assert result["link.png"][0] == "rejected"
    assert "outside the import folder" in result["link.png"][1]
    assert store.images.count() == 1


def test_manifest_labels_are_applied_and_unknown_columns_kept(store, tmp_path, make_png):
    make_png(tmp_path / "v1.png", seed=1)
    make_png(tmp_path / "v2.png", seed=2)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "file,patient_id,visit_date,visit_index,laterality,grade,score,split,camera\n"
        "v1.png,MRN-55,2021-03-01,0,OD,0,0.1,train,Topcon\n"
        "v2.png,MRN-55,2021-09-01,1,R,3,0.7,train,Topcon\n"
    )
    report = import_folder(store, tmp_path, "clinic", manifest)
    assert report.counts()["imported"] == 2
    rows = store.images.query()
    assert [(r["grade"], r["visit_index"], r["laterality"]) for r in rows] == [
        (0, 0, "R"),
        (3, 1, "R"),
    ]
    assert rows[0]["patient"] == store.patients.pseudonym("MRN-55")
    assert store.images.get(rows[0]["id"])["metadata"]["manifest"] == {"camera": "Topcon"}


def test_manifest_row_problems_reject_only_that_file(store, tmp_path, make_png):
    make_png(tmp_path / "a.png", seed=1)
    make_png(tmp_path / "b.png", seed=2)
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "file,visit_date,grade\n"
        "a.png,2021-13-45,1\n"
        "b.png,2021-01-02,2\n"
        "ghost.png,2021-01-02,2\n"
        "../escape.png,,\n"
    )
    result = statuses(import_folder(store, tmp_path, "clinic", manifest))
    assert result["a.png"] == (
        "rejected",
        "manifest line 2: visit_date is not a valid date (expected YYYY-MM-DD)",
    )
    assert result["b.png"][0] == "imported"
    assert "not found in the folder" in result["ghost.png"][1]
    assert "outside the import folder" in result["../escape.png"][1]


def test_manifest_missing_required_column_is_fatal_and_imports_nothing(store, tmp_path, make_png):
    make_png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("filename,grade\na.png,1\n")
    with pytest.raises(ManifestError, match="missing the required column.*file"):
        import_folder(store, tmp_path, "clinic", tmp_path / "m.csv")
    assert store.images.count() == 0


def test_manifest_that_is_not_utf8_is_fatal_with_a_clear_message(store, tmp_path, make_png):
    make_png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_bytes("file,comment\na.png,Müller\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="not UTF-8 text \\(at byte 20\\)"):
        import_folder(store, tmp_path, "clinic", tmp_path / "m.csv")
    assert store.datasets.list() == []


def test_dicom_patient_is_pseudonymised_and_dates_shifted(store, tmp_path):
    write_dicom(tmp_path / f"{PATIENT_ID}.dcm", [[0, 500], [900, 4000]], study_date="20210314")
    report = import_folder(store, tmp_path, "clinic")
    assert report.counts()["imported"] == 1
    image = store.images.get(report.outcomes[0].image_id)
    assert image["patient"] == store.patients.pseudonym(PATIENT_ID)
    assert PATIENT_ID not in image["source"]  # the file was named after the patient
    shift = store.patients.date_shift_days(PATIENT_ID)
    assert (
        image["visit_date"]
        == (
            __import__("datetime").date(2021, 3, 14) - __import__("datetime").timedelta(days=shift)
        ).isoformat()
    )
    dump = database_text(store)
    for value in (PATIENT_ID, PATIENT_NAME, "Testpatient", "19470203", "Elsewhere"):
        assert value not in dump


def test_an_import_removes_stale_part_files_but_not_a_live_writers(store, tmp_path, make_png):
    stale = store.media_root / "ab" / "killed-import.part"
    live = store.media_root / "cd" / "being-written.part"
    for part in (stale, live):
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"half an image")
    os.utime(stale, (1, 1))  # written long ago
    make_png(tmp_path / "in" / "a.png")
    import_folder(store, tmp_path / "in", "clinic")
    assert not stale.exists() and live.exists()
