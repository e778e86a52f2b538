"""The pairs raters have on screen: one each, never served to another rater meanwhile."""

from datetime import UTC, datetime, timedelta

import pytest

from core.store import NewImage


@pytest.fixture
def store(store):
    """The in-memory store with ten images (ids 1-10)."""
    dataset = store.datasets.ensure("clinic")
    for n in range(10):
        store.images.add(NewImage(dataset, f"h{n}", f"{n}.png", 8, 8, "train", grade=n % 5))
    return store


def test_a_pair_on_screen_is_taken_for_everyone_else(store):
    lind, amara = store.raters.ensure("Dr Lind"), store.raters.ensure("Dr Amara")
    store.screens.show(lind, 9, 4)
    assert store.screens.taken(except_rater=amara) == {(4, 9)}
    assert store.screens.taken(except_rater=lind) == set()  # her own pair is hers
    store.screens.show(lind, 2, 3)  # the next pair replaces the last
    assert store.screens.taken(except_rater=amara) == {(2, 3)}
    store.screens.clear(lind)
    assert store.screens.taken(except_rater=amara) == set()


def test_a_pair_left_on_screen_is_released_after_a_while(store):
    lind, amara = store.raters.ensure("Dr Lind"), store.raters.ensure("Dr Amara")
    store.screens.show(lind, 1, 2)
    old = (datetime.now(UTC) - timedelta(minutes=30)).isoformat(timespec="milliseconds")
    store.db.execute("UPDATE on_screen SET shown_at = ?", [old])
    assert store.screens.taken(except_rater=amara) == set()
    assert store.screens.taken(except_rater=amara, within_minutes=60) == {(1, 2)}
