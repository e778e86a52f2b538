"""The Compare page while the database cannot take an answer (out of reach, busy, disk
full): "not saved, retrying", the pair kept, nothing stored, and the resend stored once."""

import pytest

from core.store import DatabaseUnavailable, StorageFull, StoreBusy
from core.store.errors import NOT_SAVED
from core.store.judgments import Judgments
from tests.pages.conftest import page
from tests.pages.conftest import sign_in as sign_in_to
from tests.pages.test_compare_page import judging_view, press, rows, sign_in

UNSAVED = [
    DatabaseUnavailable(NOT_SAVED),
    StoreBusy("The database is busy; nothing was lost."),
    StorageFull("The disk that holds the database is full."),
]


@pytest.fixture
def database_away(monkeypatch):
    """Every append fails as ``error`` until ``back()`` is called."""
    real_append = Judgments.append
    state = {"error": None}

    def append(self, answer):
        if state["error"] is not None:
            raise state["error"]
        return real_append(self, answer)

    monkeypatch.setattr(Judgments, "append", append)
    return state


@pytest.mark.parametrize("error", UNSAVED, ids=lambda e: type(e).__name__)
def test_a_classic_answer_the_database_cannot_take_keeps_the_pair_and_is_stored_once_later(
    seeded_db, database_away, monkeypatch, error
):
    app = sign_in(page("compare"))
    monkeypatch.setattr("core.store.store.time.sleep", lambda _: None)  # StoreBusy's pauses
    pair = app.session_state["pair"]
    database_away["error"] = error
    press(app, "left")
    assert not app.exception
    assert any("Not saved, retrying" in i.value and str(error) in i.value for i in app.info)
    assert rows(seeded_db) == []
    assert app.session_state["pair"]["token"] == pair["token"]  # the same pair, same token
    database_away["error"] = None
    press(app, "left")
    stored = rows(seeded_db)
    assert [(r["request_token"], r["outcome"]) for r in stored] == [(pair["token"], "left")]


def test_the_judging_view_hears_not_saved_retrying_and_its_resend_is_stored_once(
    seeded_db, database_away
):
    app = sign_in_to(page("compare"))
    pairs = judging_view(app)["reply"]["pairs"]
    event = {"kind": "answer", "id": pairs[0]["answer"], "token": pairs[0]["token"]}
    sent = {"seq": "t-1", "events": [{**event, "outcome": "right", "ms": 500}], "held": []}
    database_away["error"] = DatabaseUnavailable(NOT_SAVED)
    app.session_state["queue_sent"] = sent
    app.run()
    assert not app.exception
    reply = judging_view(app)["reply"]
    assert [a["status"] for a in reply["acks"]] == ["busy"]  # kept by the browser
    assert reply["notices"] == [f"Not saved, retrying: {NOT_SAVED}"]
    assert reply["pairs"] == [] and rows(seeded_db) == []
    database_away["error"] = None
    for seq in ("t-2", "t-3"):  # the resend, and one more as after a lost acknowledgement
        app.session_state["queue_sent"] = {**sent, "seq": seq}
        app.run()
        assert [a["status"] for a in judging_view(app)["reply"]["acks"]] == ["stored"]
    assert [r["request_token"] for r in rows(seeded_db)] == [pairs[0]["answer"]]
