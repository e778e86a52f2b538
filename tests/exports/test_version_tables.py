"""A version's scores, embeddings, trend calls and projections as CSV and Parquet: the
documented dtypes, the database's rows and counts, spreadsheet safety, batches that add
up to the one-shot file, and one snapshot while the version is being rewritten."""

import csv

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.exports import FORMATS, WHATS, dtypes, export_bytes, export_version_table
from core.exports.spreadsheet import FORMULA_PREFIXES
from core.exports.tables import TREND_CALLS
from core.exports.writers import TableFile
from core.store import Store
from tests.exports.version_study import HOSTILE, PROJECTIONS, build_study

DIMS = 8  # the study's embedding dimension


def read(path, what):
    """The export as a frame, as the README says to open it."""
    documented = dtypes(what, DIMS if what == "embeddings" else None)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=documented)
    return pd.read_parquet(path)


def export_all(store, version, folder, **options):
    frames = {}
    for what in WHATS:
        for file_format in FORMATS:
            path = folder / f"{what}.{file_format}"
            report = export_version_table(store, version, what, file_format, path, **options)
            frames[what, file_format] = read(path, what)
            assert report.rows == len(frames[what, file_format])
    return frames


def test_every_export_opens_with_the_documented_dtypes_and_the_databases_rows(study, tmp_path):
    with Store(study.location) as store:
        frames = export_all(store, study.version, tmp_path)
        stored = store.embeddings.severity_scores(study.model_id)
        ids, vectors, _ = store.embeddings.vectors(study.model_id)
        images = {r["id"]: r for r in store.images.query()}
        trends = store.embeddings.trends(study.model_id)
    for what in WHATS:
        csv_frame, parquet_frame = frames[what, "csv"], frames[what, "parquet"]
        documented = dtypes(what, DIMS if what == "embeddings" else None)
        assert {c: str(t) for c, t in parquet_frame.dtypes.items()} == documented
        pd.testing.assert_frame_equal(csv_frame, parquet_frame)
        assert (parquet_frame["version"] == study.version).all()

    scores = frames["scores", "parquet"].set_index("image_id")
    assert sorted(scores.index) == sorted(stored) and len(stored) == study.images
    assert np.allclose(scores["severity"], [stored[i][0] for i in scores.index], rtol=0, atol=0)
    assert np.allclose(scores["severity_std"], [stored[i][1] for i in scores.index])
    for image_id, row in scores.iterrows():
        image = images[image_id]
        assert row["patient"] == image["patient"] and row["visit_date"] == image["visit_date"]
        assert (pd.isna(row["grade"]) and image["grade"] is None) or row["grade"] == image["grade"]
        assert row["split"] == image["split"]

    embeddings = frames["embeddings", "parquet"]
    assert list(embeddings.columns) == ["version", "image_id", *(f"dim_{k}" for k in range(8))]
    assert list(embeddings["image_id"]) == ids
    assert np.array_equal(embeddings.iloc[:, 2:].to_numpy(), vectors)  # float32, exactly

    exported = frames["trends", "parquet"]
    assert len(exported) == len(trends) > 0
    by_pair = exported.set_index(["earlier_image_id", "later_image_id"])
    for call in trends:
        row = by_pair.loc[(call["earlier_image_id"], call["later_image_id"])]
        probabilities = [call["p_improved"], call["p_same"], call["p_deteriorated"]]
        assert np.allclose(row[["p_improved", "p_same", "p_deteriorated"]], probabilities)
        assert row["call"] == TREND_CALLS[int(np.argmax(probabilities))]
        assert row["earlier_visit_date"] == images[call["earlier_image_id"]]["visit_date"]

    projections = frames["projections", "parquet"]
    counts = projections.groupby(["method", "dims"]).size().to_dict()
    assert counts == {(method, dims): study.images for method, dims in PROJECTIONS}
    assert projections.loc[projections["dims"] == 2, "z"].isna().all()
    assert projections.loc[projections["dims"] == 3, "z"].notna().all()


def test_the_csv_is_spreadsheet_safe_and_numbers_stay_numbers(study, tmp_path):
    with Store(study.location) as store:
        export_version_table(store, study.version, "scores", "csv", tmp_path / "s.csv")
        export_version_table(store, study.version, "scores", "parquet", tmp_path / "s.parquet")
    with (tmp_path / "s.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["dataset"] for r in rows} == {"'" + HOSTILE, "Synthetic cohort"}
    text_columns = [c for c, t in dtypes("scores").items() if t == "str"]
    assert not any(r[c].startswith(FORMULA_PREFIXES) for r in rows for c in text_columns)
    assert any(float(r["severity"]) < 0 for r in rows)  # a negative number is left as one
    # Parquet holds the same values as the CSV
    assert set(pd.read_parquet(tmp_path / "s.parquet")["dataset"]) == {r["dataset"] for r in rows}


def test_an_export_written_in_batches_equals_the_one_shot_export(db_location, tmp_path):
    study = build_study(db_location, patients=1000, visits=3, dims=DIMS)  # 3,000 images
    with Store(db_location) as store:
        for what in ("scores", "embeddings"):
            for batch_rows, name in ((400, "batched"), (10**6, "whole")):
                for file_format in FORMATS:
                    export_version_table(
                        store,
                        study.version,
                        what,
                        file_format,
                        tmp_path / what / f"{name}.{file_format}",
                        batch_rows=batch_rows,
                    )
    for what in ("scores", "embeddings"):
        folder = tmp_path / what
        assert (folder / "batched.csv").read_bytes() == (folder / "whole.csv").read_bytes()
        assert pq.ParquetFile(folder / "batched.parquet").num_row_groups == 8  # 3,000 / 400
        assert pq.ParquetFile(folder / "whole.parquet").num_row_groups == 1
        batched = pd.read_parquet(folder / "batched.parquet")
        pd.testing.assert_frame_equal(batched, pd.read_parquet(folder / "whole.parquet"))
        assert len(batched) == 3000


def test_the_export_reads_one_snapshot_while_the_version_is_rewritten(study, tmp_path, monkeypatch):
    """Another connection replaces every score of the version after the first batch is
    written; the export still holds the scores as they were when it started."""
    with Store(study.location) as store:
        before = store.embeddings.severity_scores(study.model_id)
        ids, vectors, _ = store.embeddings.vectors(study.model_id)
    write = TableFile.write
    rewritten = []

    def write_then_rewrite(self, batch):
        write(self, batch)
        if not rewritten:
            with Store(study.location) as other:
                other.embeddings.save(study.model_id, ids[:5], vectors[:5], np.full(5, 99.0))
            rewritten.append(True)

    monkeypatch.setattr(TableFile, "write", write_then_rewrite)
    with Store(study.location) as store:
        export_version_table(
            store, study.version, "scores", "parquet", tmp_path / "s.parquet", batch_rows=5
        )
        assert len(store.embeddings.severity_scores(study.model_id)) == 5  # it was rewritten
    exported = pd.read_parquet(tmp_path / "s.parquet").set_index("image_id")["severity"]
    assert rewritten and len(exported) == len(before) == study.images
    assert exported.to_dict() == {i: s for i, (s, _) in before.items()}


def test_the_download_gets_the_same_file(study, tmp_path):
    with Store(study.location) as store:
        export_version_table(store, study.version, "trends", "csv", tmp_path / "t.csv")
    downloaded = export_bytes(study.location, study.version, "trends", "csv")
    assert downloaded == (tmp_path / "t.csv").read_bytes()
