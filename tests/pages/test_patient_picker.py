"""The Patients page's picker on a study with more patients than one page: one page of
pseudonyms at a time, a page number, and a search by the pseudonym's first characters."""

import pytest

from core.demo import import_cohort
from core.store import Store
from core.synthetic import CohortConfig
from tests.pages.conftest import page


@pytest.fixture
def many_patients(tmp_path, monkeypatch):
    db = tmp_path / "app.db"
    with Store(db) as store:
        import_cohort(store, CohortConfig(patients=55, min_visits=2, max_visits=2, image_size=16))
    monkeypatch.setenv("SEVERITY_DB", str(db))
    return db


def test_patients_are_picked_a_page_at_a_time_and_found_by_pseudonym(many_patients):
    with Store(many_patients) as store:
        everyone = [p["pseudonym"] for p in store.patients.list()]
    app = page("patients").run()
    assert not app.exception
    picker = app.selectbox[0]
    assert picker.options == everyone[:50]
    assert app.number_input(key="patient_page").label == "Page (of 2)"
    app.number_input(key="patient_page").set_value(2).run()
    assert app.selectbox[0].options == everyone[50:]
    assert len(app.get("image")) == 2  # the chosen patient's two visits

    wanted = everyone[7]
    app.text_input(key="patient_search").input(wanted[:5].lower()).run()
    found = app.selectbox[0].options
    assert wanted in found and all(p.startswith(wanted[:5]) for p in found)
    assert not [n for n in app.number_input if n.key == "patient_page"]  # one page now
    app.text_input(key="patient_search").input("no such patient").run()
    assert any("No patient's pseudonym starts with that" in i.value for i in app.info)
