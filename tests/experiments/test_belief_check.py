"""The belief check of the simulated-rater benchmark: counting an answer twice makes the
beliefs overconfident, and the log loss of the next answers shows it."""

import numpy as np
import pytest

from core.demo import import_cohort
from core.experiments.belief_check import next_answer_log_loss
from core.store import Answer, Store
from core.synthetic import CohortConfig


@pytest.fixture
def study(tmp_path):
    with Store(tmp_path / "app.db") as store:
        import_cohort(store, CohortConfig(patients=6, image_size=16))
        yield store, store.datasets.by_name("Synthetic cohort")["id"]


def _activate(store, dataset, trained_through, trained_on, severity):
    ids = store.images.ids(dataset_id=dataset)
    model = store.models.create("conpro", {}, dataset_id=dataset, trained_through=trained_through)
    store.models.finish(model["id"], "v.pt", {"n_judgments_trained_on": trained_on})
    store.embeddings.save(model["id"], ids, np.zeros((len(ids), 2)), severity(ids))
    store.models.chain_ready(model["id"])
    store.models.activate(model["id"])


def _spread_with(ids, fixed):
    """Scores spread evenly over [0, 1], with ``fixed`` (image -> score) set."""
    return [fixed.get(i, s) for i, s in zip(ids, np.linspace(0, 1, len(ids)), strict=True)]


def _agreeing_answers(store, more, less, count):
    """``count`` raters each judge ``more`` above ``less``; returns the last id."""
    return max(
        store.judgments.append(Answer(more, less, "left", store.raters.ensure(f"Dr {k}")))
        for k in range(count)
    )


def test_an_answer_against_what_was_learned_costs_more_when_counted_twice(study):
    store, dataset = study
    a, b = store.images.ids(dataset_id=dataset, split="train")[:2]
    through = _agreeing_answers(store, a, b, 8)
    # the version learned the eight answers: it scores a a little above b
    _activate(
        store,
        dataset,
        through,
        8,
        lambda ids: _spread_with(ids, {a: 0.6, b: 0.4}),
    )
    store.judgments.append(Answer(b, a, "left", store.raters.ensure("Dr Late")))
    figures = next_answer_log_loss(store, dataset, through)
    assert figures["answers"] == 1
    # the eight answers on top of the scores make "b above a" look near impossible
    assert figures["log_loss_twice"] > figures["log_loss_once"] + 1.0


def test_the_rules_agree_when_the_version_learned_no_answer(study):
    store, dataset = study
    a, b, c = store.images.ids(dataset_id=dataset, split="train")[:3]
    through = _agreeing_answers(store, a, b, 3)
    _activate(store, dataset, through, 0, lambda ids: np.linspace(0, 1, len(ids)))
    store.judgments.append(Answer(c, a, "right", store.raters.ensure("Dr Late")))
    figures = next_answer_log_loss(store, dataset, through)
    assert figures["log_loss_twice"] == figures["log_loss_once"] > 0
