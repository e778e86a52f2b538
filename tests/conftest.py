import os

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

from core.store import Store
from core.store.database import dispose
from devtools.postgres import PostgresMissing, throwaway_cluster

BACKENDS = ("sqlite", "postgresql")

# Property tests draw the same examples on every run, so CI is reproducible and a failure
# seen once is seen again; no example database is kept on disk. HYPOTHESIS_PROFILE=explore
# (with SEVERITY_PROPERTY_EXAMPLES=2000, say) draws new examples each time, for a nightly run.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


def pytest_configure(config):
    """Under pytest-xdist (``-n 2`` in pyproject's addopts) the test processes share the
    cores: each gets its share as the threads of torch and BLAS (OpenMP) and of UMAP's
    numba code (a test that needs a count sets it), in the environment the workers and
    the processes they start inherit. Numba's parallel loops on a core the other test
    process holds cost more than they save: the worker tests ran 1.4 times as long."""
    workers = getattr(config.option, "numprocesses", None)
    if workers and not hasattr(config, "workerinput"):  # the controller, before the workers
        share = str(max(1, len(os.sched_getaffinity(0)) // workers))  # this process's cores
        for variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ.setdefault(variable, share)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """The browser tests share one Streamlit server and its database (tests/browser/
    conftest.py): under pytest-xdist (``--dist loadgroup``) they run on one worker, in order."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL server for the whole run, started on first use."""
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(params=BACKENDS)
def db_location(request, tmp_path, monkeypatch):
    """A fresh database on each backend in turn: a SQLite file, or a new database on the
    throwaway PostgreSQL server (its media folder in ``$SEVERITY_MEDIA``)."""
    if request.param == "sqlite":
        yield str(tmp_path / "app.db")
        return
    url = request.getfixturevalue("postgres_cluster").create_database()
    monkeypatch.setenv("SEVERITY_MEDIA", str(tmp_path / "media"))
    yield url
    dispose(url)


@pytest.fixture
def store():
    with Store.memory() as s:
        yield s


@pytest.fixture
def file_store(tmp_path):
    with Store(tmp_path / "app.db") as s:
        yield s


def write_png(path, seed=0, size=(24, 20), mode="RGB"):
    """A small random image, different for each seed."""
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def make_png():
    return write_png
