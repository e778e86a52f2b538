"""``python -m core score``: files outside the study scored as the app scores its own
images, decoded and de-identified as the importers do, bad files listed with a reason,
and nothing added to the study."""

import csv
import shutil

import numpy as np
import pytest

from core.cli import main
from core.store import Store
from tests.dicom_factory import PATIENT_ID, PATIENT_NAME

# what the two DICOM headers say about their patients (the factory's and pydicom's
# CT_small.dcm), the birth date and institution included
PHI = [
    PATIENT_ID,
    PATIENT_NAME,
    *PATIENT_NAME.split("^"),
    "19470203",
    "St Elsewhere",
    "CompressedSamples",
    "1CT1",
    "CT1",
]


def table_counts(db) -> dict[str, int]:
    with Store(db) as store:
        return {t: store.one_row(f"SELECT COUNT(*) AS n FROM {t}")["n"] for t in store.db.tables()}


def media_files(db) -> set:
    return {p.name for p in (db.parent / "media").rglob("*") if p.is_file()}


def read_csv(path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def inputs(scoring_study, tmp_path_factory):
    """The clinic's folder given whole, a bad file and a small .npz given beside it."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rng = np.random.default_rng(0)
    np.savez(
        folder / "extra.npz",
        test_images=rng.integers(0, 255, (3, 28, 28), dtype=np.uint8),
        test_labels=np.zeros((3, 1), dtype=int),
    )
    return [str(scoring_study.clinic), str(folder / "broken.png"), str(folder / "extra.npz")]


def score(scoring_study, paths, out, *extra) -> int:
    version = ["--version", str(scoring_study.version)]
    return main(
        ["score", *paths, *version, "--out", str(out), "--db", str(scoring_study.db), *extra]
    )


@pytest.fixture(scope="module")
def torch_run(scoring_study, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("torch") / "scores.csv"
    before = table_counts(scoring_study.db), media_files(scoring_study.db)
    code = score(scoring_study, inputs, out)
    after = table_counts(scoring_study.db), media_files(scoring_study.db)
    return {"code": code, "rows": read_csv(out), "before": before, "after": after, "out": out}


def test_every_readable_image_gets_one_row_with_its_version(torch_run, scoring_study):
    assert torch_run["code"] == 0
    rows = torch_run["rows"]
    sources = [r["source"] for r in rows]
    assert sources[:2] == ["[redacted]_ct.dcm", "[redacted]_[redacted].dcm"]
    assert set(sources) == {
        "[redacted]_ct.dcm",
        "[redacted]_[redacted].dcm",
        "eye_colour.png",
        "nested/eye_grey.png",
        "extra.npz:test[0]",
        "extra.npz:test[1]",
        "extra.npz:test[2]",
    }
    assert {r["version"] for r in rows} == {str(scoring_study.version)}
    assert all(0.0 <= float(r["severity"]) <= 2.0 for r in rows)  # a cosine distance


def test_the_scores_are_those_the_app_stored_for_the_same_files(torch_run, scoring_study):
    """The clinic's files were imported before the version was trained: the worker
    stored their severity, which ``score`` must reproduce from the files themselves."""
    with Store(scoring_study.db) as store:
        (model,) = store.models.list()
        stored = store.embeddings.severity_scores(model["id"])
        clinic = store.datasets.by_name("clinic")["id"]
        imported = {r["source"]: r for r in store.images.query(dataset_id=clinic)}
    rows = {r["source"]: r for r in torch_run["rows"]}
    assert len(imported) == 4 and set(imported) <= set(rows)
    for source, image in imported.items():
        assert float(rows[source]["severity"]) == pytest.approx(stored[image["id"]][0], abs=1e-5)
        # the DICOM files' pseudonyms are the study's; the PNGs have none
        assert rows[source]["patient"] == (image["patient"] or "")
    assert sum(r["patient"].startswith("P-") for r in rows.values()) == 2


def test_nothing_is_added_to_the_study(torch_run):
    assert torch_run["before"] == torch_run["after"]
    assert sum(torch_run["before"][0].values()) > 100  # the counts cover real rows


def test_no_header_value_but_the_pseudonym_reaches_the_csv(torch_run):
    text = torch_run["out"].read_text()
    for value in PHI:
        assert value not in text, value
    assert "20040119" not in text and "20210314" not in text  # the studies' dates


def test_bad_files_are_listed_with_a_reason_and_without_traceback(
    scoring_study, inputs, tmp_path, capsys
):
    assert score(scoring_study, inputs, tmp_path / "s.csv") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    (line,) = [x for x in captured.out.splitlines() if x.startswith("not scored")]
    assert line.startswith("not scored  broken.png: This file is not a readable image")
    assert "7 scored, 1 could not be read" in captured.out
    for value in PHI:
        assert value not in captured.out + captured.err, value


def assert_same_scores(path, torch_rows) -> None:
    rows = read_csv(path)
    assert [r["source"] for r in rows] == [r["source"] for r in torch_rows]
    for mine, theirs in zip(rows, torch_rows, strict=True):
        assert abs(float(mine["severity"]) - float(theirs["severity"])) <= 1e-4


def test_the_onnx_engine_gives_the_same_scores(torch_run, scoring_study, inputs, tmp_path):
    assert score(scoring_study, inputs, tmp_path / "onnx.csv", "--engine", "onnx") == 0
    assert_same_scores(tmp_path / "onnx.csv", torch_run["rows"])


def test_the_onnx_engine_runs_an_earlier_export_of_the_version(
    torch_run, scoring_study, inputs, exported, tmp_path
):
    out = tmp_path / "onnx.csv"
    argv = ["--engine", "onnx", "--exported", str(exported["onnx"])]
    assert score(scoring_study, inputs, out, *argv) == 0
    assert_same_scores(out, torch_run["rows"])


def test_an_export_of_another_kind_is_refused_in_one_line(
    scoring_study, inputs, exported, tmp_path, capsys
):
    argv = ["--engine", "onnx", "--exported", str(exported["torchscript"])]
    assert score(scoring_study, inputs, tmp_path / "s.csv", *argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "holds the torchscript export of version" in line
    assert not (tmp_path / "s.csv").exists()


def test_nothing_scored_exits_non_zero_and_writes_no_csv(scoring_study, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    shutil.copy(tmp_path / "notes.txt", tmp_path / "empty.dcm")
    (tmp_path / "empty.dcm").write_bytes(b"")
    out = tmp_path / "out" / "s.csv"
    assert (
        score(scoring_study, [str(tmp_path / "notes.txt"), str(tmp_path / "empty.dcm")], out) == 1
    )
    printed = capsys.readouterr().out
    assert "not scored  notes.txt: '.txt' is not an image type" in printed
    assert "not scored  empty.dcm: The file is empty" in printed
    assert "Nothing could be scored" in printed
    assert not out.exists() and not list((tmp_path / "out").glob("*.part"))


def test_an_unknown_version_is_one_line_and_writes_nothing(scoring_study, tmp_path, capsys):
    argv = ["score", str(scoring_study.clinic), "--version", "42", "--out", str(tmp_path / "s.csv")]
    assert main([*argv, "--db", str(scoring_study.db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: There is no version 42 in this study."]
    assert not (tmp_path / "s.csv").exists()


def test_a_missing_database_is_refused_without_creating_one(scoring_study, tmp_path, capsys):
    db = tmp_path / "elsewhere" / "app.db"
    argv = ["score", str(scoring_study.clinic), "--version", "1", "--out", str(tmp_path / "s.csv")]
    assert main([*argv, "--db", str(db)]) == 2
    assert "There is no study database at" in capsys.readouterr().err
    assert not db.parent.exists()
