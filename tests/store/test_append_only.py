"""Judgments stay append-only even for tools that bypass the store: INSERT OR REPLACE
and pandas from a plain sqlite3 connection cannot overwrite or delete a row."""

import sqlite3

import pandas as pd
import pytest

from core.store import Answer, NewImage, Store


@pytest.fixture
def judged(tmp_path):
    path = tmp_path / "app.db"
    with Store(path) as store:
        dataset = store.datasets.ensure("d")
        a, b, c = (
            store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0]
            for i in range(3)
        )
        rater = store.raters.ensure("Dr Rivera")
        first = store.judgments.append(Answer(a, b, "left", rater, request_token="t1"))
        store.judgments.append(Answer(b, c, "right", rater, request_token="t2"))
        store.judgments.correct(first, Answer(a, b, "right", rater))
    return path, (a, b, c, rater, first)


def _rows(path):
    with sqlite3.connect(path) as plain:
        return plain.execute("SELECT * FROM judgments ORDER BY id").fetchall()


def _check_sound(path):
    with Store(path) as store:
        assert store.integrity_problems() == []


@pytest.mark.parametrize("clash", ["id", "request_token", "supersedes"])
def test_insert_or_replace_that_would_delete_a_row_is_refused(judged, clash):
    """REPLACE deletes whichever row clashes on the primary key or a unique column."""
    path, (a, _, c, rater, first) = judged
    before = _rows(path)
    value = {"id": first, "request_token": "t2", "supersedes": first}[clash]
    plain = sqlite3.connect(path)
    plain.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        plain.execute(
            "INSERT OR REPLACE INTO judgments (left_image_id, right_image_id, outcome, "
            f"rater_id, created_at, {clash}) VALUES (?, ?, 'equal', ?, 'now', ?)",
            [a, c, rater, value],
        )
    plain.close()
    assert _rows(path) == before
    _check_sound(path)


def test_pandas_appends_new_rows_but_cannot_overwrite(judged):
    path, (a, _, c, rater, first) = judged
    before = _rows(path)
    plain = sqlite3.connect(path)
    clashing = pd.DataFrame(
        [
            {
                "id": first,
                "left_image_id": a,
                "right_image_id": c,
                "outcome": "equal",
                "rater_id": rater,
                "created_at": "now",
            }
        ]
    )
    with pytest.raises(pd.errors.DatabaseError) as refused:  # pandas wraps sqlite's error
        clashing.to_sql("judgments", plain, if_exists="append", index=False)
    assert "append-only" in str(refused.value.__cause__)
    assert _rows(path) == before
    fresh = clashing.drop(columns="id")  # a genuinely new answer is an append: allowed
    fresh.to_sql("judgments", plain, if_exists="append", index=False)
    plain.close()
    assert _rows(path)[: len(before)] == before and len(_rows(path)) == len(before) + 1
    _check_sound(path)
