import random

from core.selection.strategies import STRATEGIES, Scope, candidates_for, present
from core.store import Answer, NewImage


def test_random_strategy_never_repeats_a_judged_pair():
    judged = set()
    rng = random.Random(0)
    strategy = STRATEGIES["random"]
    candidates = list(range(6))  # 15 pairs in all
    for _ in range(15):
        pair = strategy.next_pair(candidates, lambda a, b: frozenset((a, b)) in judged, rng)
        assert pair is not None and frozenset(pair) not in judged
        judged.add(frozenset(pair))
    assert strategy.next_pair(candidates, lambda a, b: frozenset((a, b)) in judged, rng) is None


def test_too_few_images_give_no_pair():
    assert STRATEGIES["random"].next_pair([7], lambda a, b: False, random.Random(0)) is None


def test_presentation_randomises_the_left_side():
    rng = random.Random(1)
    lefts = [present((1, 2), rng)[0] for _ in range(400)]
    assert 150 < lefts.count(1) < 250


def test_scopes_select_abnormal_images_or_one_patient(store):
    dataset = store.datasets.ensure("d")
    patient = store.patients.ensure("MRN-1")
    ids = [
        store.images.add(
            NewImage(
                dataset,
                f"h{g}",
                "x.png",
                4,
                4,
                "train",
                grade=g,
                patient_id=patient if g < 2 else None,
            )
        )[0]
        for g in range(4)
    ]
    assert candidates_for(store, Scope(dataset_id=dataset)) == ids
    assert candidates_for(store, Scope(abnormal_only=True)) == ids[1:]
    assert candidates_for(store, Scope(patient_id=patient)) == ids[:2]


def test_store_knows_which_pairs_a_rater_answered(store):
    dataset = store.datasets.ensure("d")
    a, b = (
        store.images.add(NewImage(dataset, f"h{i}", "x.png", 4, 4, "train"))[0] for i in range(2)
    )
    rater = store.raters.ensure("R")
    assert not store.judgments.has_standing(rater, a, b)
    store.judgments.append(Answer(b, a, "skip", rater))
    assert store.judgments.has_standing(rater, a, b)
    store.judgments.undo_last(rater)
    assert not store.judgments.has_standing(rater, a, b)
