"""Before activation a new version is compared with the active one on the same
validation images; one that is worse beyond the interval stays a candidate, and says why."""

import itertools

import numpy as np
import pytest

from core.demo import import_cohort
from core.store import Answer, Store
from core.synthetic import CohortConfig
from core.worker.activation import HELD_BACK, judge


@pytest.fixture
def cohort(tmp_path):
    with Store(tmp_path / "app.db") as store:
        import_cohort(store, CohortConfig(patients=40, image_size=16))
        yield store, store.datasets.by_name("Synthetic cohort")["id"]


def version(store, dataset, severity_of, metrics=None):
    model = store.models.create("conpro", {}, dataset_id=dataset)
    store.models.finish(model["id"], f"v{model['version']}.pt", metrics or {})
    rows = store.images.query(dataset_id=dataset)
    ids = [r["id"] for r in rows]
    severity = np.array([severity_of(r) for r in rows], dtype=float)
    store.embeddings.save(model["id"], ids, np.zeros((len(ids), 2)), severity)
    store.models.chain_ready(model["id"])
    return store.models.get(model["id"])


def truth(row):
    return row["known_severity"]


def test_the_first_version_of_a_dataset_is_activated(cohort):
    store, dataset = cohort
    verdict = judge(store, version(store, dataset, truth))
    assert verdict.activate and verdict.record == {}


def test_a_version_worse_on_the_validation_images_stays_a_candidate_and_says_why(cohort):
    store, dataset = cohort
    store.models.activate(version(store, dataset, truth)["id"])
    reversed_ = version(store, dataset, lambda r: -r["known_severity"])
    verdict = judge(store, reversed_)
    assert not verdict.activate
    assert verdict.record["vs_active_version"] == 1
    assert verdict.record["vs_active_high"] < 0
    val_patients = {r["patient_id"] for r in store.images.query(dataset_id=dataset, split="val")}
    assert verdict.record["vs_active_patients"] == len(val_patients) >= 5
    assert "worse than the active v1" in verdict.record[HELD_BACK]
    assert "patients" in verdict.record[HELD_BACK]


def test_a_version_as_good_as_the_active_one_replaces_it(cohort):
    store, dataset = cohort
    rng = np.random.default_rng(0)
    store.models.activate(version(store, dataset, truth)["id"])
    close = version(store, dataset, lambda r: r["known_severity"] + rng.normal(0, 0.01))
    verdict = judge(store, close)
    assert verdict.activate and HELD_BACK not in verdict.record
    assert verdict.record["vs_active_low"] <= 0 <= verdict.record["vs_active_high"] + 0.05


def test_held_out_answers_count_and_training_answers_do_not(cohort):
    """Answers about two validation images join the comparison; answers about training
    images never do (the version was trained on them)."""
    store, dataset = cohort
    rater = store.raters.ensure("Dr Lind")
    rows = store.images.query(dataset_id=dataset)
    for split, count in (("val", 12), ("train", 30)):
        mine = [r for r in rows if r["split"] == split]
        for a, b in itertools.pairwise(mine[: count + 1]):
            more = "left" if a["known_severity"] > b["known_severity"] else "right"
            store.judgments.append(Answer(a["id"], b["id"], more, rater))
    store.models.activate(version(store, dataset, truth)["id"])
    verdict = judge(store, version(store, dataset, lambda r: -r["known_severity"]))
    assert verdict.record["vs_active_answers"] == 12
    assert verdict.record["vs_active_agreement"] == pytest.approx(-1.0)


def test_without_grades_or_answers_the_validation_score_decides(cohort):
    store, dataset = cohort
    store.db.execute("UPDATE images SET grade = NULL")
    store.models.activate(version(store, dataset, truth, {"val_macro_f1": 0.5})["id"])
    worse = version(store, dataset, truth, {"val_macro_f1": 0.3})
    verdict = judge(store, worse)
    assert not verdict.activate and "validation score" in verdict.record[HELD_BACK]
    assert judge(store, version(store, dataset, truth, {"val_macro_f1": 0.6})).activate
