"""The server side of the Compare page's browser queue: tokens, acknowledgements,
undo, and refills through the pair server."""

import base64
import json
import random

import pytest

from core.raters.repeats import MIN_GAP, set_repeat_share
from core.selection.queue import (
    InvalidToken,
    PairTokens,
    Rating,
    sync,
)
from core.selection.serve import ServedPair
from core.selection.strategies import STRATEGIES
from core.store import Store, StoreBusy
from core.store.blinding import (
    DATES_AND_GRADES_SHOWN,
    DATES_SHOWN,
    NOTHING_SHOWN,
    set_rater_blinding,
)


@pytest.fixture
def queue(cohort):
    store, dataset = cohort
    rater = store.raters.ensure("Dr Amara")
    rating = Rating(rater, dataset, "all-active")
    ids = store.images.ids(dataset_id=dataset)
    return store, rating, ids


def exchange(store, rating, ids, events=(), held=(), strategy="active", seed=0, size=4):
    return sync(
        store, rating, STRATEGIES[strategy], ids, random.Random(seed), list(events), list(held),
        size,
    )  # fmt: skip


def answer(pair, outcome="left", attempt=0):
    event_id = pair.answer_id if attempt == 0 else f"{pair.answer_id}~{attempt}"
    return {"kind": "answer", "id": event_id, "token": pair.token, "outcome": outcome, "ms": 900}


def rows(store):
    return store.all("SELECT * FROM judgments ORDER BY id")


def test_a_token_names_its_pair_and_survives_a_new_connection_but_not_an_edit(queue):
    store, rating, ids = queue
    pair = exchange(store, rating, ids).pairs[0]
    with Store(store.path) as restarted:  # a server restart: the secret is in the database
        again = PairTokens(restarted).read(pair.token)
    assert (again.left, again.right, again.rater_id) == (pair.left, pair.right, rating.rater_id)
    for at in (0, len(pair.token) // 2, len(pair.token) - 2):  # nonce, body, tag
        forged = pair.token[:at] + ("A" if pair.token[at] != "A" else "B") + pair.token[at + 1 :]
        with pytest.raises(InvalidToken):
            PairTokens(store).read(forged)
    for junk in (pair.token[:40], pair.token + "A", "+" + pair.token[1:], "x" * 601, 7):
        with pytest.raises(InvalidToken):
            PairTokens(store).read(junk)
    with pytest.raises(InvalidToken):
        PairTokens(Store.memory()).read(pair.token)  # another study's secret


def test_answers_are_stored_in_order_once_each_however_often_they_are_sent(queue):
    store, rating, ids = queue
    pairs = exchange(store, rating, ids).pairs
    events = [answer(p, o) for p, o in zip(pairs, ["left", "right", "equal", "skip"], strict=True)]

    first = exchange(store, rating, ids, events)
    resent = exchange(store, rating, ids, events)  # the acknowledgement was lost: sent again

    assert [a.status for a in first.acks] == ["stored"] * 4
    assert [a.status for a in resent.acks] == ["stored"] * 4
    stored = rows(store)
    assert [(r["left_image_id"], r["right_image_id"], r["outcome"]) for r in stored] == [
        (p.left, p.right, o) for p, o in zip(pairs, ["left", "right", "equal", "skip"], strict=True)
    ]
    assert [r["request_token"] for r in stored] == [p.answer_id for p in pairs]
    assert all(r["rater_id"] == rating.rater_id and r["response_ms"] == 900 for r in stored)
    assert {r["strategy"] for r in stored} == {"active"}


def test_a_token_issued_to_one_rater_is_never_stored_for_another(queue):
    store, rating, ids = queue
    pair = exchange(store, rating, ids).pairs[0]
    other = Rating(store.raters.ensure("Dr Lind"), rating.dataset_id, rating.scope_key)

    reply = exchange(store, other, ids, [answer(pair)], held=[pair.token])

    assert [a.status for a in reply.acks] == ["refused"]
    assert "another rater" in reply.acks[0].message
    assert rows(store) == []
    assert pair.token in reply.dropped  # nor does it stay in their queue


def test_an_answer_cannot_be_moved_to_another_pair_or_given_a_foreign_id(queue):
    store, rating, ids = queue
    one, two = exchange(store, rating, ids).pairs[:2]
    swapped = {**answer(one), "token": two.token}  # one's id, two's token
    unknown = {**answer(one), "outcome": "maybe"}

    reply = exchange(store, rating, ids, [swapped, unknown, {"id": "x'; DROP", "kind": "answer"}])

    assert [a.status for a in reply.acks] == ["refused"] * 3
    assert rows(store) == []


def test_no_image_appears_twice_in_a_queue_across_refills(queue):
    store, rating, ids = queue
    held = []
    for step in range(12):
        reply = exchange(store, rating, ids, held=[p.token for p in held], seed=step, size=5)
        held += reply.pairs
        images = [i for p in held for i in (p.left, p.right)]
        assert len(images) == len(set(images)), f"an image twice after refill {step}"
        assert len(held) == min(5, len(ids) // 2)
        answered, held = held[0], held[1:]  # the rater answers the pair on screen
        exchange(store, rating, ids, [answer(answered)], held=[p.token for p in held])
        assert not reply.dropped


def test_the_beliefs_include_every_acknowledged_answer_before_the_refill(queue):
    store, rating, ids = queue
    pairs = exchange(store, rating, ids).pairs

    exchange(store, rating, ids, [answer(p) for p in pairs[:3]], held=[p.token for p in pairs[3:]])

    assert store.beliefs.state(rating.dataset_id)["through"] == rows(store)[-1]["id"]


def test_undo_of_a_stored_answer_supersedes_it_and_the_pair_can_be_answered_again(queue):
    store, rating, ids = queue
    first, second = exchange(store, rating, ids).pairs[:2]
    undo_second = {"kind": "undo", "id": "u-abcdefgh12", "target": second.answer_id}
    # a second undo of the same answer (say from another tab) must not take the first
    stale_undo = {"kind": "undo", "id": "u-abcdefgh13", "target": second.answer_id}

    exchange(store, rating, ids, [answer(first), answer(second), undo_second, stale_undo])
    exchange(store, rating, ids, [undo_second, answer(second, "right", attempt=1)])  # resent

    stored = rows(store)
    assert [r["outcome"] for r in stored] == ["left", "left", "undone", "right"]
    assert stored[2]["supersedes"] == stored[1]["id"]
    assert stored[3]["request_token"] == f"{second.answer_id}~1"
    assert (stored[3]["left_image_id"], stored[3]["right_image_id"]) == (second.left, second.right)


def test_an_undo_without_its_answer_withdraws_the_latest_and_brings_its_pair_back(queue):
    store, rating, ids = queue
    pair = exchange(store, rating, ids).pairs[0]
    exchange(store, rating, ids, [answer(pair)])

    reply = exchange(store, rating, ids, [{"kind": "undo", "id": "u-reloaded01", "target": None}])

    assert [r["outcome"] for r in rows(store)] == ["left", "undone"]
    assert (reply.again.left, reply.again.right) == (pair.left, pair.right)
    assert reply.again.token != pair.token
    images = [i for p in [reply.again, *reply.pairs] for i in (p.left, p.right)]
    assert len(images) == len(set(images))


def test_held_pairs_whose_images_went_are_dropped_with_a_notice(queue):
    store, rating, ids = queue
    pairs = exchange(store, rating, ids).pairs
    gone, moved, fine = pairs[0], pairs[1], pairs[2]
    store.media_path(store.images.get(gone.left)["pixel_path"]).unlink()
    other = store.datasets.ensure("Elsewhere")
    store.db.execute("UPDATE images SET dataset_id = ? WHERE id = ?", [other, moved.right])

    reply = exchange(store, rating, ids, held=[gone.token, moved.token, fine.token])

    assert reply.dropped == [gone.token, moved.token]
    assert any("missing from disk" in n for n in reply.notices)
    assert any("another dataset" in n for n in reply.notices)


def test_pairs_of_another_scope_are_dropped_quietly(queue):
    store, rating, ids = queue
    pair = exchange(store, rating, ids).pairs[0]
    narrower = Rating(rating.rater_id, rating.dataset_id, "abnormal-random")

    reply = exchange(store, narrower, ids, held=[pair.token])

    assert reply.dropped == [pair.token] and reply.notices == []


def test_a_busy_database_stops_at_that_answer_and_serves_nothing_new(queue, monkeypatch):
    store, rating, ids = queue
    pairs = exchange(store, rating, ids).pairs
    real_append = store.judgments.append
    calls = []

    def append_busy_on_second(entry):
        calls.append(entry)
        if len(calls) == 2:
            raise StoreBusy("The database is busy; nothing was lost.")
        return real_append(entry)

    monkeypatch.setattr(store.judgments, "append", append_busy_on_second)
    monkeypatch.setattr(store, "retrying", lambda action: action())

    reply = exchange(store, rating, ids, [answer(p) for p in pairs[:3]])

    assert [a.status for a in reply.acks] == ["stored", "busy"]
    assert reply.pairs == [] and len(rows(store)) == 1


def test_repeats_come_unannounced_with_their_sides_swapped(queue):
    store, rating, ids = queue
    set_repeat_share(store, 0.5)
    held, repeats = [], []
    for step in range(MIN_GAP + 20):
        reply = exchange(store, rating, ids, held=[p.token for p in held], seed=step, size=3)
        held += reply.pairs
        answered, held = held[0], held[1:]
        exchange(store, rating, ids, [answer(answered)], held=[p.token for p in held])
        if answered.repeat_of is not None:
            repeats.append(answered)
    assert repeats, "a share of 0.5 served no repeat"
    stored = {r["request_token"]: r for r in rows(store)}
    for pair in repeats:
        original = store.one("SELECT * FROM judgments WHERE id = ?", [pair.repeat_of])
        assert (pair.left, pair.right) == (original["right_image_id"], original["left_image_id"])
        assert stored[pair.answer_id]["strategy"] == "repeat"
        assert stored[pair.answer_id]["repeat_of"] == pair.repeat_of


def decoded(token):
    """What a curious rater gets by decoding each base64 part of a token in the browser."""
    parts = token.split(".")
    return b"|".join(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts)


def test_a_token_tells_the_browser_nothing_of_its_pair(queue):
    """Not whether it is an unannounced repeat (nor of which answer), its strategy, the
    rater, the dataset or the images; not even through its length."""
    store, rating, _ = queue
    tokens = PairTokens(store)
    rater, dataset, left, right, earlier = 7919, 104729, 130363, 155921, 180797  # distinctive
    rating = Rating(rater, dataset, "scope-12345")
    plain = tokens.issue(rating, ServedPair(left, right), "active")
    repeat = tokens.issue(rating, ServedPair(right, left, repeat_of=earlier), "active")
    assert (repeat.strategy, repeat.repeat_of, plain.strategy) == ("repeat", earlier, "active")
    assert len(plain.token) == len(repeat.token)
    for pair in (plain, repeat):
        seen = decoded(pair.token)
        for told in (b"repeat", b"active", b"scope", b'{"n":', b'"s":', b'"p":', b'"r":', b'"l":'):
            assert told not in seen
        for number in (rater, dataset, left, right, earlier):
            assert str(number).encode() not in seen
        assert (tokens.read(pair.token).left, tokens.read(pair.token).rater_id) == (
            pair.left,
            rater,
        )


def test_a_token_carries_the_blinding_it_was_issued_under(queue):
    store, rating, ids = queue
    for pair in exchange(store, rating, ids).pairs:
        assert PairTokens(store).read(pair.token).blinding == NOTHING_SHOWN


def test_the_studys_secret_is_read_without_a_write_once_stored(queue):
    """Every page rerun opens the tokens: once the secret exists, no statement takes the
    write lock (reads go through the driver's cursor, writes through SQLAlchemy)."""
    from sqlalchemy import event

    store, _, _ = queue
    study = PairTokens(store).study_id
    written: list[str] = []

    def record(conn, cursor, statement, *rest):
        written.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        again = PairTokens(store)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)
    assert written == [] and again.study_id == study


def test_answers_keep_the_blinding_their_pair_was_issued_under(queue):
    store, rating, ids = queue
    blinded = exchange(store, rating, ids).pairs  # the default: nothing shown
    set_rater_blinding(store, DATES_AND_GRADES_SHOWN)  # the lead changes it mid-queue
    held = [p.token for p in blinded[1:]]
    reply = exchange(store, rating, ids, [answer(blinded[0])], held=held)
    shown = reply.pairs[0]
    assert shown.blinding == DATES_AND_GRADES_SHOWN
    exchange(store, rating, ids, [answer(p) for p in [*blinded[1:], shown]])
    stored = {r["request_token"]: r["blinding"] for r in rows(store)}
    assert [stored[p.answer_id] for p in blinded] == [NOTHING_SHOWN] * len(blinded)
    assert stored[shown.answer_id] == DATES_AND_GRADES_SHOWN


def test_a_token_issued_before_blinding_was_recorded_stores_it_as_unknown(queue):
    store, rating, ids = queue
    tokens = PairTokens(store)
    pair = exchange(store, rating, ids).pairs[0]
    body = {
        "n": pair.answer_id, "r": pair.rater_id, "d": pair.dataset_id, "k": pair.scope_key,
        "l": pair.left, "g": pair.right, "s": pair.strategy, "p": pair.repeat_of,
    }  # fmt: skip
    # as signed (not sealed) by an earlier release, without "b", still held in a browser
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    old = tokens.read(f"{payload.decode()}.{tokens._sign(payload)}")
    reply = exchange(store, rating, ids, [answer(old)])
    assert [a.status for a in reply.acks] == ["stored"]
    assert [r["blinding"] for r in rows(store)] == [None]


@pytest.mark.parametrize(
    ("blinding", "grades", "dates"),
    [
        (NOTHING_SHOWN, False, False),
        (DATES_SHOWN, False, True),
        (DATES_AND_GRADES_SHOWN, True, True),
    ],
)
def test_the_browser_gets_no_more_of_the_images_than_the_study_allows(
    queue, blinding, grades, dates
):
    """Everything the judging view is sent (pairs, tokens, images, captions) serialised:
    no grade and no visit date unless the study lead allows them."""
    from pages import compare_queue

    store, rating, ids = queue
    set_rater_blinding(store, blinding)
    captions: dict = {}
    reply = compare_queue.exchange(
        store, rating, STRATEGIES["active"], ids, random.Random(0), None, captions
    )
    sent = json.dumps({"reply": reply, "details": compare_queue.details(captions, blinding)})
    shown = [p[side]["id"] for p in reply["pairs"] for side in ("left", "right")]
    visit_dates = {store.images.get(i)["visit_date"] for i in shown} - {None}
    assert shown and visit_dates
    assert ("grade" in sent) is grades
    assert any(d in sent for d in visit_dates) is dates
