"""The Patients page's cohort overview, sorted by the database, against the same
ordering done the plain way in pandas over every trend."""

import itertools

import numpy as np
import pandas as pd

from core.demo import import_cohort
from core.learning.method_info import TRENDS
from core.synthetic import CohortConfig


def reference(store, model_id: int) -> pd.DataFrame:
    """Every trend read, each patient's last one kept, sorted in pandas."""
    trends = pd.DataFrame(store.embeddings.trends(model_id))  # by patient, then visit
    latest = trends.groupby("patient_id").tail(1).copy()
    probabilities = latest[["p_improved", "p_same", "p_deteriorated"]].to_numpy()
    latest["call"] = [TRENDS[i] for i in probabilities.argmax(1)]
    latest["probability"] = probabilities.max(1)
    latest["rank"] = latest["call"].map({"deteriorated": 0, "same": 1, "improved": 2})
    return latest.sort_values(["rank", "probability", "patient_id"], ascending=[1, 0, 1])


def test_each_patients_latest_call_in_the_overviews_order(store):
    import_cohort(store, CohortConfig(patients=12, image_size=16))
    rng = np.random.default_rng(3)
    model = store.models.create("conpro", {})["id"]
    pairs = []
    for patient in store.all("SELECT id FROM patients"):
        visits = store.images.patient_visits(patient["id"])
        for before, after in itertools.pairwise(visits):
            p = rng.dirichlet([1, 1, 1])
            pairs.append((before["id"], after["id"], *map(float, p)))
    store.embeddings.save_trends(model, pairs)
    expected = reference(store, model)
    assert len(expected) == 12 and expected["call"].nunique() == 3  # all three kinds sorted

    rows, called = store.embeddings.latest_calls(model, 100)
    assert called == len(expected) == len(rows)
    got = pd.DataFrame(rows)
    assert got["later_image_id"].tolist() == expected["later_image_id"].tolist()
    assert got["call"].tolist() == expected["call"].tolist()
    assert np.allclose(got["probability"], expected["probability"])

    first, called = store.embeddings.latest_calls(model, 5)
    assert (
        called == 12 and [r["later_image_id"] for r in first] == got["later_image_id"][:5].tolist()
    )
    assert store.embeddings.latest_calls(store.models.create("conpro", {})["id"], 5) == ([], 0)
