"""Repeat pairs: stored beside the answer they repeat, shown again only after a gap."""

import random

import pytest

from core.raters import MIN_GAP, maybe_repeat, set_repeat_share
from core.store import AlreadyJudged, Answer, InvalidJudgment, NewImage


@pytest.fixture
def judged(store):
    """One rater who answered MIN_GAP + 1 different pairs (the first is repeatable)."""
    dataset = store.datasets.ensure("d")
    ids = [
        store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0]
        for i in range(MIN_GAP + 2)
    ]
    rater = store.raters.ensure("Dr Rivera")
    first = [
        store.judgments.append(Answer(ids[k], ids[k + 1], "left", rater))
        for k in range(MIN_GAP + 1)
    ]
    return store, rater, ids, first


def test_only_answers_at_least_the_gap_ago_can_be_repeated(judged):
    store, rater, ids, first = judged
    assert [r["id"] for r in store.judgments.repeatable(rater, MIN_GAP)] == [first[0]]
    store.judgments.append(Answer(ids[0], ids[MIN_GAP + 1], "left", rater))
    assert {r["id"] for r in store.judgments.repeatable(rater, MIN_GAP)} == set(first[:2])


def test_a_repeat_is_stored_beside_its_answer_once(judged):
    store, rater, ids, first = judged
    with pytest.raises(AlreadyJudged):  # without saying it is a repeat: refused as before
        store.judgments.append(Answer(ids[1], ids[0], "right", rater))
    repeat = store.judgments.append(Answer(ids[1], ids[0], "right", rater, repeat_of=first[0]))
    standing = {j["id"]: j for j in store.judgments.effective()}
    assert standing[repeat]["repeat_of"] == first[0] and first[0] in standing
    with pytest.raises(AlreadyJudged, match="already shown again"):
        store.judgments.append(Answer(ids[1], ids[0], "left", rater, repeat_of=first[0]))
    # the repeat counts as an answer, so the second pair is now far enough back
    assert [r["id"] for r in store.judgments.repeatable(rater, MIN_GAP)] == [first[1]]


def test_a_repeat_of_another_pair_or_rater_is_refused(judged):
    store, rater, ids, first = judged
    other = store.raters.ensure("Dr Okafor")
    with pytest.raises(InvalidJudgment, match="same rater"):
        store.judgments.append(Answer(ids[1], ids[0], "left", other, repeat_of=first[0]))
    with pytest.raises(InvalidJudgment, match="same rater"):
        store.judgments.append(Answer(ids[2], ids[0], "left", rater, repeat_of=first[0]))
    assert store.one("SELECT COUNT(*) AS n FROM judgments")["n"] == len(first)


def test_maybe_repeat_swaps_the_sides_and_respects_the_share(judged):
    store, rater, ids, first = judged
    rng = random.Random(0)
    repeat = maybe_repeat(store, rater, rng, share=1.0)
    assert (repeat.left, repeat.right, repeat.repeat_of) == (ids[1], ids[0], first[0])
    assert maybe_repeat(store, rater, rng, in_scope={ids[0]}, share=1.0) is None
    set_repeat_share(store, 0.0)
    assert all(maybe_repeat(store, rater, rng) is None for _ in range(50))
    with pytest.raises(ValueError, match="between 0% and 50%"):
        set_repeat_share(store, 0.9)


def test_the_default_share_repeats_about_one_pair_in_twenty(judged):
    store, rater, _, _ = judged
    rng = random.Random(1)
    shown = sum(maybe_repeat(store, rater, rng) is not None for _ in range(2000))
    assert 60 <= shown <= 140  # 100 expected; the binomial SD is under 10
