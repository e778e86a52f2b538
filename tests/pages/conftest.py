import pytest
from streamlit.testing.v1 import AppTest

from core.demo import import_cohort
from core.paths import PROJECT_ROOT
from core.store import Store
from core.synthetic import CohortConfig

PAGES = PROJECT_ROOT / "pages"


@pytest.fixture
def seeded_db(tmp_path, monkeypatch):
    path = tmp_path / "app.db"
    with Store(path) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=32))
    monkeypatch.setenv("SEVERITY_DB", str(path))
    return path


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)


def sign_in(app: AppTest, name: str = "Dr Amara") -> AppTest:
    app.run()
    app.sidebar.text_input(key="typed").input(name)
    app.sidebar.button(key="sign_in").click().run()
    return app
