import pytest

from core.store import AlreadyJudged, Answer, InvalidJudgment, NewImage
from core.store.database import IntegrityError


@pytest.fixture
def pair(store):
    dataset = store.datasets.ensure("d")
    ids = [
        store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0] for i in range(3)
    ]
    return store, store.raters.ensure("Dr Rivera"), ids


def test_judgments_cannot_be_updated_or_deleted(pair):
    store, rater, (a, b, _) = pair
    judgment = store.judgments.append(Answer(a, b, "left", rater))
    with pytest.raises(IntegrityError, match="append-only"):
        store.db.execute("UPDATE judgments SET outcome = 'right' WHERE id = ?", [judgment])
    with pytest.raises(IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM judgments WHERE id = ?", [judgment])
    assert store.one("SELECT outcome FROM judgments")["outcome"] == "left"


def test_undo_appends_a_superseding_row_and_retracts_the_answer(pair):
    store, rater, (a, b, c) = pair
    store.judgments.append(Answer(a, b, "left", rater))
    second = store.judgments.append(Answer(b, c, "equal", rater))
    undone = store.judgments.undo_last(rater)
    assert undone["id"] == second
    rows = store.all("SELECT outcome, supersedes FROM judgments ORDER BY id")
    assert rows == [
        {"outcome": "left", "supersedes": None},
        {"outcome": "equal", "supersedes": None},
        {"outcome": "undone", "supersedes": second},
    ]
    assert [j["outcome"] for j in store.judgments.effective()] == ["left"]
    # the undone pair may be answered again
    store.judgments.append(Answer(c, b, "right", rater))
    assert [j["outcome"] for j in store.judgments.effective()] == ["left", "right"]


def test_correction_supersedes_and_cannot_be_applied_twice(pair):
    store, rater, (a, b, _) = pair
    first = store.judgments.append(Answer(a, b, "left", rater))
    store.judgments.correct(first, Answer(a, b, "right", rater))
    assert [j["outcome"] for j in store.judgments.effective()] == ["right"]
    with pytest.raises(InvalidJudgment, match="already superseded"):
        store.judgments.correct(first, Answer(a, b, "equal", rater))


def test_same_pair_from_a_second_tab_is_not_counted_twice(pair):
    store, rater, (a, b, _) = pair
    store.judgments.append(Answer(a, b, "left", rater))
    with pytest.raises(AlreadyJudged):
        store.judgments.append(Answer(b, a, "right", rater))
    assert store.judgments.progress(rater)["total"] == 1


def test_double_submit_with_one_token_stores_one_row(pair):
    store, rater, (a, b, _) = pair
    first = store.judgments.append(Answer(a, b, "left", rater, request_token="t1"))
    again = store.judgments.append(Answer(a, b, "left", rater, request_token="t1"))
    assert first == again
    assert store.one("SELECT COUNT(*) AS n FROM judgments")["n"] == 1


def test_skips_are_kept_but_not_training_data(pair):
    store, rater, (a, b, c) = pair
    store.judgments.append(Answer(a, b, "skip", rater))
    store.judgments.append(Answer(a, c, "right", rater))
    assert [j["outcome"] for j in store.judgments.effective()] == ["right"]
    assert store.judgments.has_standing(rater, a, b) and store.judgments.has_standing(rater, c, a)
    assert not store.judgments.has_standing(rater, b, c)


@pytest.mark.parametrize("outcome", ["left more", "undone", ""])
def test_unknown_outcomes_are_refused(pair, outcome):
    store, rater, (a, b, _) = pair
    with pytest.raises(InvalidJudgment):
        store.judgments.append(Answer(a, b, outcome, rater))


def test_an_image_cannot_be_compared_with_itself(pair):
    store, rater, (a, _, _) = pair
    with pytest.raises(InvalidJudgment, match="itself"):
        store.judgments.append(Answer(a, a, "left", rater))
