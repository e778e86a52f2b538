"""The active strategy and the stored beliefs it reads."""

import random

import numpy as np

from core.selection.active import ActiveStrategy
from core.selection.state import belief_lookup, catch_up, rebuild
from core.selection.strategies import STRATEGIES
from core.store import Answer, Store


def _lookup(mu, sigma, views):
    table = {i: (m, s, v) for i, (m, s, v) in enumerate(zip(mu, sigma, views, strict=True))}

    def beliefs(ids):
        rows = [table[i] for i in ids]
        return tuple(np.array(column) for column in zip(*rows, strict=True))

    return beliefs


def test_it_asks_about_the_closest_uncertain_pair():
    mu = [0.0, 3.0, 3.05, 6.0, 9.0, 9.02]
    sigma = [1.0, 1.0, 1.0, 1.0, 0.05, 0.05]  # 4 and 5 are close but already well known
    strategy = ActiveStrategy(explore=0.0, min_views=0)
    pair = strategy.next_pair(
        range(6), lambda a, b: False, random.Random(0), beliefs=_lookup(mu, sigma, [5] * 6)
    )
    assert set(pair) == {1, 2}


def test_it_never_serves_a_judged_pair_or_one_on_another_screen():
    mu, sigma = [0.0, 0.01, 0.02, 5.0], [1.0] * 4
    strategy = ActiveStrategy(explore=0.0, min_views=0)
    beliefs = _lookup(mu, sigma, [3] * 4)
    rng = random.Random(1)
    judged = {(0, 1)}
    for _ in range(20):
        pair = strategy.next_pair(
            range(4),
            lambda a, b: (min(a, b), max(a, b)) in judged,
            rng,
            taken={(1, 2)},
            beliefs=beliefs,
        )
        assert tuple(sorted(pair)) not in {(0, 1), (1, 2)}
    assert tuple(sorted(pair)) == (0, 2)  # the closest of what is left


def test_images_below_the_minimum_views_come_first():
    mu, sigma = [0.0, 0.01, 4.0, 4.5], [1.0, 1.0, 1.0, 1.0]
    strategy = ActiveStrategy(explore=0.0, min_views=1)
    pair = strategy.next_pair(
        range(4), lambda a, b: False, random.Random(0), beliefs=_lookup(mu, sigma, [2, 2, 0, 0])
    )
    assert set(pair) == {2, 3}


def test_without_beliefs_or_when_exploring_it_draws_at_random():
    strategy = ActiveStrategy(explore=1.0)
    seen = {
        tuple(sorted(strategy.next_pair(range(50), lambda a, b: False, random.Random(seed))))
        for seed in range(20)
    }
    assert len(seen) > 10
    assert "active" in STRATEGIES and STRATEGIES["active"].needs_beliefs


def test_beliefs_start_from_the_model_follow_answers_and_rebuild_on_a_new_version(cohort):
    store, dataset = cohort
    ids = store.images.ids(dataset_id=dataset)
    assert catch_up(store, dataset) == 0  # first look: built from the prior, no answers
    (before,) = [store.beliefs.load([ids[0]])[ids[0]]]
    assert before["model_id"] is None and before["mu"] == 0.0 and before["views"] == 0

    rater = store.raters.ensure("Dr Lind")
    store.judgments.append(Answer(ids[0], ids[1], "left", rater))
    store.judgments.append(Answer(ids[2], ids[0], "right", rater))
    with Store(store.path) as other:  # two sessions look at once: each answer counts once
        assert catch_up(other, dataset) == 2
        assert catch_up(store, dataset) == 0
    mu, sigma, views = belief_lookup(store)([ids[0], ids[1], ids[2]])
    assert mu[0] > 0 > mu[1] and mu[0] > mu[2]
    assert views.tolist() == [2, 1, 1] and sigma[0] < 1.0

    # a new active version: its scores become the prior, the answers are replayed
    model = store.models.create("conpro", {}, dataset_id=dataset)
    store.models.finish(model["id"], "v1.pt", {})
    severity = np.linspace(0.0, 1.0, len(ids))
    store.embeddings.save(model["id"], ids, np.zeros((len(ids), 2)), severity)
    store.models.chain_ready(model["id"])
    store.models.activate(model["id"])
    assert catch_up(store, dataset) == 2  # rebuilt: both answers replayed
    mu, _, views = belief_lookup(store)([ids[-1], ids[3]])
    assert mu[0] > 1.5 and views.tolist() == [0, 0]  # the most severe by the model
    assert store.beliefs.state(dataset)["model_id"] == model["id"]
    assert rebuild(store, dataset) == 2


def _version(store, dataset, ids, trained_through, trained_on):
    """An active version with flat scores that trained on answers up to ``trained_through``."""
    model = store.models.create("conpro", {}, dataset_id=dataset, trained_through=trained_through)
    store.models.finish(model["id"], "v.pt", {"n_judgments_trained_on": trained_on})
    store.embeddings.save(model["id"], ids, np.zeros((len(ids), 2)), np.zeros(len(ids)))
    store.models.chain_ready(model["id"])
    store.models.activate(model["id"])
    return model


def test_answers_the_active_version_learned_from_are_not_counted_again(cohort):
    store, dataset = cohort
    train = store.images.ids(dataset_id=dataset, split="train")
    held = [i for i in store.images.ids(dataset_id=dataset) if i not in set(train)]
    rater = store.raters.ensure("Dr Lind")
    learned = store.judgments.append(Answer(train[0], train[1], "left", rater))
    about_held_out = store.judgments.append(Answer(held[0], held[1], "left", rater))
    _version(store, dataset, store.images.ids(dataset_id=dataset), learned, 1)
    later = store.judgments.append(Answer(train[2], train[3], "left", rater))
    assert learned < about_held_out < later

    # the version trained on the first answer only: the held-out one and the later one
    # are replayed onto its scores, the first is already in them
    assert rebuild(store, dataset) == 2
    mu, sigma, views = belief_lookup(store)([train[0], train[1], held[0], train[2]])
    assert mu[0] == mu[1] == 0.0 and sigma[0] == sigma[1]  # the flat prior, untouched
    assert mu[2] > 0 and mu[3] > 0  # the answers it did not learn from moved them
    assert views.tolist() == [1, 1, 1, 1]  # every answer still counts as a view

    # a version that trained without answers learned none of them
    _version(store, dataset, store.images.ids(dataset_id=dataset), later, 0)
    assert rebuild(store, dataset) == 3
