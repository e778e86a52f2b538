"""The Patients page's picker: patients listed a page at a time and found by the start
of their pseudonym, without reading every patient's images."""

from core.store import NewImage


def _study(store, patients: int = 12, visits: int = 3) -> int:
    """``patients`` patients with ``visits`` images each in one dataset, and one patient
    in another dataset; returns the first dataset's id."""
    clinic = store.datasets.ensure("clinic")
    other = store.datasets.ensure("other")
    for number in range(patients + 1):
        dataset = clinic if number < patients else other
        patient = store.patients.ensure(f"MRN-{number}")
        for visit in range(visits):
            store.images.add(
                NewImage(
                    dataset,
                    f"hash-{number}-{visit}",
                    f"{number}/{visit}.png",
                    8,
                    8,
                    "train",
                    patient_id=patient,
                    visit_date=f"2024-0{visit + 1}-01",
                    visit_index=visit,
                )
            )
    return clinic


def test_pages_cover_every_patient_once_in_pseudonym_order(store):
    clinic = _study(store)
    everyone = store.patients.list(clinic)
    assert store.patients.count(clinic) == len(everyone) == 12
    paged = [row for start in range(0, 12, 5) for row in store.patients.page(clinic, "", 5, start)]
    assert paged == everyone  # same rows: pseudonym, visits, first and last visit
    assert [len(store.patients.page(clinic, "", 5, start)) for start in (0, 5, 10)] == [5, 5, 2]
    assert store.patients.count() == 13  # every dataset
    assert store.patients.page(clinic, "", 5, 15) == []


def test_a_search_finds_pseudonyms_by_their_first_characters(store):
    clinic = _study(store)
    pseudonym = store.patients.page(clinic, "", 1, 3)[0]["pseudonym"]
    expected = [p for p in store.patients.list(clinic) if p["pseudonym"].startswith(pseudonym[:4])]
    for typed in (pseudonym[:4], pseudonym[2:4], pseudonym[:4].upper(), f" {pseudonym[:4]} "):
        found = store.patients.page(clinic, typed, 50, 0)
        assert found == expected and store.patients.count(clinic, typed) == len(expected)
    assert store.patients.page(clinic, pseudonym, 50, 0)[0]["pseudonym"] == pseudonym
    for hopeless in ("MRN-1", "%", "P-_", "zz"):  # not a pseudonym's start (nor a pattern)
        assert store.patients.page(clinic, hopeless, 50, 0) == []
        assert store.patients.count(clinic, hopeless) == 0


def test_a_patient_of_another_dataset_is_not_listed(store):
    clinic = _study(store)
    other = store.datasets.by_name("other")["id"]
    (outside,) = store.patients.page(other)
    assert outside["visits"] == 3
    assert outside["pseudonym"] not in {p["pseudonym"] for p in store.patients.page(clinic)}
