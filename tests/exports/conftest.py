import pytest

from tests.exports.version_study import build_study


@pytest.fixture
def study(db_location):
    """A small study with one scored version and one held-back retrain, on each backend."""
    return build_study(db_location)
