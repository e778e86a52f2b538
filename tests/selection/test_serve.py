"""The one pair server: what the Compare page, the simulated-rater benchmark and the
latency benchmark all serve."""

import random

import pytest

from core.experiments.sim_bench import judge_pairs
from core.raters.repeats import MIN_GAP, set_repeat_share
from core.selection.serve import Serving, next_pair
from core.selection.strategies import STRATEGIES
from core.simulation import SimulatedRater, truth_of
from core.store import Answer, Store


@pytest.fixture
def experienced(cohort):
    """A rater with enough answers for repeats, in a study that serves half as repeats."""
    store, dataset = cohort
    rater = store.raters.ensure("Dr Amara")
    ids = store.images.ids(dataset_id=dataset)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    for a, b in pairs[: MIN_GAP + 5]:
        store.judgments.append(Answer(a, b, "left", rater))
    set_repeat_share(store, 0.5)
    return store, dataset, rater, ids


def test_a_repeat_is_an_earlier_answer_with_its_sides_swapped(experienced):
    store, dataset, rater, ids = experienced

    served = [
        next_pair(store, rater, STRATEGIES["random"], ids, random.Random(seed), dataset)
        for seed in range(20)
    ]

    repeats = [p for p in served if p is not None and p.repeat_of is not None]
    assert repeats, "at a share of 50%, 20 draws serve a repeat"
    for pair in repeats:
        first = store.one("SELECT * FROM judgments WHERE id = ?", [pair.repeat_of])
        assert (pair.left, pair.right) == (first["right_image_id"], first["left_image_id"])


def test_a_caller_that_turns_repeats_off_never_gets_one(experienced):
    store, dataset, rater, ids = experienced
    off = Serving(repeats=False)

    served = [
        next_pair(store, rater, STRATEGIES["random"], ids, random.Random(s), dataset, serving=off)
        for s in range(20)
    ]

    assert all(p is not None and p.repeat_of is None for p in served)


@pytest.mark.parametrize("name", ["random", "active"])
def test_neither_the_pair_on_screen_nor_another_raters_is_served(cohort, name):
    store, dataset = cohort
    me, other = store.raters.ensure("Dr Amara"), store.raters.ensure("Dr Lind")
    a, b, c = store.images.ids(dataset_id=dataset)[:3]
    store.screens.show(other, a, c)

    for seed in range(10):
        pair = next_pair(
            store, me, STRATEGIES[name], [a, b, c], random.Random(seed), dataset, (a, b)
        )
        assert pair is not None and {pair.left, pair.right} == {b, c}
    # a caller without other raters' screens (the simulation) may serve theirs
    no_screens = Serving(screens=False)
    served = {
        frozenset((p.left, p.right))
        for s in range(20)
        if (
            p := next_pair(
                store,
                me,
                STRATEGIES[name],
                [a, b, c],
                random.Random(s),
                dataset,
                (a, b),
                no_screens,
            )
        )
    }
    assert frozenset((a, c)) in served


def test_the_simulated_rater_answers_exactly_the_pair_servers_choices(cohort, tmp_path):
    store, dataset = cohort
    copy = tmp_path / "copy.db"
    store.backup_to(copy)
    pool = store.images.ids(dataset_id=dataset, split="train")
    truth = truth_of(store)
    rater_id = store.raters.ensure("Simulated rater")
    serving = Serving(repeats=False, screens=False)

    given, _ = judge_pairs(
        store,
        "active",
        [(SimulatedRater(seed=3), rater_id, 1.0)],
        pool,
        truth,
        12,
        random.Random(5),
        dataset,
        serving,
    )

    # the same answers, the pairs asked of the server directly, on the same state
    rng, rater = random.Random(5), SimulatedRater(seed=3)
    expected = []
    with Store(copy, media_root=store.media_root) as twin:
        twin_rater = twin.raters.ensure("Simulated rater")
        while len(expected) < given:
            rng.choices([0], weights=[1.0])  # the benchmark draws a rater of its panel first
            pair = next_pair(
                twin, twin_rater, STRATEGIES["active"], pool, rng, dataset, serving=serving
            )
            outcome = rater.answer(truth[pair.left], truth[pair.right])
            twin.judgments.append(Answer(pair.left, pair.right, outcome, twin_rater))
            expected.append((pair.left, pair.right, outcome))
    stored = [
        (j["left_image_id"], j["right_image_id"], j["outcome"])
        for j in store.all("SELECT * FROM judgments ORDER BY id")
    ]
    assert given == 12
    assert stored == expected
