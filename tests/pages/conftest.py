import pytest
from streamlit.testing.v1 import AppTest

from core.demo import import_cohort
from core.paths import PROJECT_ROOT
from core.store import Store
from core.synthetic import CohortConfig
from tests.helpers import modelled_cohort
from tests.worker.conftest import train_params

PAGES = PROJECT_ROOT / "pages"


@pytest.fixture
def seeded_db(db_location, monkeypatch):
    """A small demo cohort, on each backend in turn; the pages open it by $SEVERITY_DB."""
    with Store(db_location) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=32))
    monkeypatch.setenv("SEVERITY_DB", db_location)
    return db_location


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)


def sign_in(app: AppTest, name: str = "Dr Amara") -> AppTest:
    app.run()
    app.sidebar.text_input(key="typed").input(name)
    app.sidebar.button(key="sign_in").click().run()
    return app


@pytest.fixture(scope="session")
def modelled_db_template(tmp_path_factory):
    return modelled_cohort(tmp_path_factory.mktemp("modelled") / "app.db", 32, train_params())


@pytest.fixture
def modelled_db(modelled_db_template, tmp_path, monkeypatch):
    """A private copy per test (database through the backup API, and the media)."""
    import shutil

    copy = tmp_path / "app.db"
    with Store(modelled_db_template) as template:
        template.backup_to(copy)
    shutil.copytree(modelled_db_template.parent / "media", tmp_path / "media")
    monkeypatch.setenv("SEVERITY_DB", str(copy))
    return copy
