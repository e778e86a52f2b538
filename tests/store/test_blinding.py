"""What raters may see while judging: the study's setting, and the blinding each answer
records (``judgments.blinding``), on SQLite and PostgreSQL."""

import pytest

import core.store.database as database
from core.store import Answer, InvalidJudgment, NewImage, Store
from core.store.blinding import (
    BLINDINGS,
    DATES_AND_GRADES_SHOWN,
    DATES_SHOWN,
    NOTHING_SHOWN,
    RATER_BLINDING_SETTING,
    rater_blinding,
    set_rater_blinding,
    stricter,
)
from core.store.database import IntegrityError
from core.store.migrations import MIGRATIONS

BLINDING_MIGRATION = next(m.number for m in MIGRATIONS if "blinding" in m.name)


def _images(store, n=4):
    dataset = store.datasets.ensure("d")
    return [
        store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0] for i in range(n)
    ]


def test_each_answer_keeps_the_blinding_it_was_given_under(db_location):
    with Store(db_location) as store:
        a, b, c, d = _images(store)
        rater = store.raters.ensure("Dr Rivera")
        pairs = [(a, b), (b, c), (c, d), (a, d)]
        for (left, right), blinding in zip(pairs, [*BLINDINGS, None], strict=True):
            store.judgments.append(Answer(left, right, "left", rater, blinding=blinding))
        store.judgments.undo_last(rater)
        store.judgments.append(Answer(a, d, "right", rater, blinding=DATES_SHOWN))
    with Store(db_location) as reopened:  # read back through a new connection
        stored = [r["blinding"] for r in reopened.all("SELECT * FROM judgments ORDER BY id")]
        assert stored == [*BLINDINGS, None, None, DATES_SHOWN]  # the undo row: none
        # the views that the measures and the training read carry the column too
        for view in ("standing_judgments", "effective_judgments"):
            rows = reopened.all(f"SELECT blinding FROM {view} ORDER BY id")
            assert [r["blinding"] for r in rows] == [*BLINDINGS, DATES_SHOWN]
        assert [r["blinding"] for r in reopened.judgments.export_rows()] == stored


def test_an_unknown_blinding_is_refused_by_the_store_and_the_schema(db_location):
    with Store(db_location) as store:
        a, b, *_ = _images(store)
        rater = store.raters.ensure("Dr Rivera")
        with pytest.raises(InvalidJudgment, match="Unknown blinding"):
            store.judgments.append(Answer(a, b, "left", rater, blinding="grades_only"))
        row = {
            "left_image_id": a,
            "right_image_id": b,
            "outcome": "left",
            "rater_id": rater,
            "created_at": "2026-01-01",
            "blinding": "grades_only",
        }
        with pytest.raises(IntegrityError):
            store.db.insert("judgments", row)
        assert store.judgments.high_water_mark() == 0


def test_answers_stored_before_the_column_existed_read_as_unknown(db_location, monkeypatch):
    monkeypatch.setattr(
        database, "MIGRATIONS", [m for m in MIGRATIONS if m.number < BLINDING_MIGRATION]
    )
    with Store(db_location) as old:
        a, b, *_ = _images(old)
        old.db.insert(
            "judgments",
            {
                "left_image_id": a,
                "right_image_id": b,
                "outcome": "left",
                "rater_id": old.raters.ensure("Dr Early"),
                "created_at": "2026-01-01",
            },
        )
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)
    with Store(db_location) as new:
        (row,) = new.judgments.effective()
        assert row["blinding"] is None and row["outcome"] == "left"


def test_the_study_setting_defaults_to_nothing_shown_and_takes_only_known_levels(store):
    assert rater_blinding(store) == NOTHING_SHOWN
    set_rater_blinding(store, DATES_SHOWN)
    assert rater_blinding(store) == DATES_SHOWN
    with pytest.raises(ValueError, match="Unknown blinding"):
        set_rater_blinding(store, "everything")
    assert rater_blinding(store) == DATES_SHOWN
    store.settings.set(RATER_BLINDING_SETTING, "garbled")  # written by hand: shows nothing
    assert rater_blinding(store) == NOTHING_SHOWN


def test_the_stricter_of_two_levels_shows_less():
    assert stricter(DATES_AND_GRADES_SHOWN, DATES_SHOWN) == DATES_SHOWN
    assert stricter(DATES_SHOWN, DATES_AND_GRADES_SHOWN) == DATES_SHOWN
    assert stricter(NOTHING_SHOWN, DATES_AND_GRADES_SHOWN) == NOTHING_SHOWN
    assert stricter(DATES_AND_GRADES_SHOWN, "unknown") == NOTHING_SHOWN
