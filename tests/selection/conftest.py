import pytest

from core.demo import import_cohort
from core.store import Store
from core.synthetic import CohortConfig


@pytest.fixture
def cohort(tmp_path):
    """A file store (so that a second connection sees it) with a small cohort."""
    with Store(tmp_path / "app.db") as store:
        import_cohort(store, CohortConfig(patients=6, image_size=16))
        yield store, store.datasets.by_name("Synthetic cohort")["id"]
