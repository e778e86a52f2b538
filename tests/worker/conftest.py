import pytest

from core.demo import import_cohort
from core.learning.config import TrainConfig
from core.store import Answer, Store
from core.synthetic import CohortConfig

TINY = TrainConfig(
    method="conpro",
    image_size=16,
    batch_size=4,
    pairs_per_phase=8,
    anchor_n=2,
    probe_epochs=2,
    device="cpu",
)


def train_params(**overrides):
    return {"config": {**TINY.to_dict(), **overrides}}


@pytest.fixture
def cohort_db(db_location):
    """A few dozen images of the synthetic cohort, on each backend in turn."""
    with Store(db_location) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=32))
    return db_location


def add_judgments(store, count, rater="Dr Okafor"):
    rater_id = store.raters.ensure(rater)
    ids = store.images.ids()
    made = 0
    for a in ids:
        for b in ids:
            if a < b and made < count:
                store.judgments.append(Answer(a, b, "left" if (a + b) % 2 else "right", rater_id))
                made += 1
    return made
