import pytest

from core.store import Store


@pytest.fixture
def store(db_location):
    """The store tests run on both backends."""
    with Store(db_location) as s:
        yield s
