import numpy as np
from scipy import ndimage

from core.demo import import_cohort
from core.synthetic import (
    CohortConfig,
    generate_with_anatomy,
    generate_with_lesions,
    plan_cohort,
    render_fundus,
    severity_to_grade,
)

SMALL = CohortConfig(patients=8, image_size=48)


def generate_cohort(config: CohortConfig) -> list:
    """Each visit and its picture."""
    return [(visit, pixels) for visit, pixels, _ in generate_with_lesions(config)]


def test_same_seed_gives_the_same_cohort_pixel_for_pixel():
    first, second = list(generate_cohort(SMALL)), list(generate_cohort(SMALL))
    assert [v for v, _ in first] == [v for v, _ in second]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, second, strict=True))


def test_another_seed_gives_another_cohort():
    a = generate_cohort(SMALL)[0][1]
    b = generate_cohort(CohortConfig(patients=8, image_size=48, seed=99))[0][1]
    assert not np.array_equal(a, b)


def test_cohort_shape_matches_the_configuration():
    visits = plan_cohort(CohortConfig())
    per_patient = {}
    for visit in visits:
        per_patient.setdefault(visit.patient_code, []).append(visit)
    assert len(per_patient) == 60
    assert all(3 <= len(v) <= 8 for v in per_patient.values())
    assert {v.trajectory for v in visits} == {"improving", "stable", "worsening", "fluctuating"}
    for patient in per_patient.values():
        dates = [v.visit_date for v in patient]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)


def test_trajectories_move_in_their_stated_direction():
    for visits in _by_patient(plan_cohort(CohortConfig())).values():
        change = visits[-1].severity - visits[0].severity
        if visits[0].trajectory == "worsening":
            assert change > 0.15
        elif visits[0].trajectory == "improving":
            assert change < -0.15


def test_grades_follow_severity():
    assert [severity_to_grade(s) for s in (0.0, 0.2, 0.4, 0.6, 0.9)] == [0, 1, 2, 3, 4]


def test_severity_is_visible_in_the_pixels():
    """Severe visits have more dark lesion pixels inside the fundus than mild ones."""
    items = list(generate_cohort(CohortConfig(patients=24, image_size=64)))
    mild = [p for v, p in items if v.severity < 0.2]
    severe = [p for v, p in items if v.severity > 0.7]
    assert mild and severe
    assert np.mean([_disc_area(p) for p in severe]) > np.mean([_disc_area(p) for p in mild])


def test_cohort_import_is_idempotent_and_pseudonymous(store):
    first = import_cohort(store, SMALL)
    second = import_cohort(store, SMALL)
    assert first.counts()["imported"] == len(plan_cohort(SMALL))
    assert second.counts()["imported"] == 0
    pseudonyms = [p["pseudonym"] for p in store.patients.list()]
    assert len(pseudonyms) == 8 and not any("SYN" in p for p in pseudonyms)


def _disc_area(pixels):
    """Bright yellowish pixels: the optic disc grows as it swells."""
    r, g = (pixels[..., i].astype(int) for i in range(2))
    return int(((r > 200) & (g > 160)).sum())


def _by_patient(visits):
    grouped = {}
    for visit in visits:
        grouped.setdefault(visit.patient_code, []).append(visit)
    return grouped


def test_the_generator_records_where_it_drew_each_lesion():
    from core.synthetic import generate_with_lesions

    config = CohortConfig(patients=12, image_size=128)
    items = list(generate_with_lesions(config))
    assert [visit for visit, *_ in items] == list(plan_cohort(config))
    severe = [(v, p, ls) for v, p, ls in items if v.severity > 0.7]
    mild = [(v, p, ls) for v, p, ls in items if v.severity < 0.2]
    assert severe and mild
    assert np.mean([len(ls) for *_, ls in severe]) > 3 * np.mean([len(ls) for *_, ls in mild])
    darker = []
    for _, pixels, lesions in severe:
        red = pixels[..., 0].astype(float)
        for lesion in (le for le in lesions if le.kind == "haemorrhage"):
            x, y = int(lesion.x), int(lesion.y)
            assert 0 <= x < 128 and 0 <= y < 128 and 0 < lesion.radius < 5
            darker.append(red[y, x] < np.median(red[red > 0]))
    assert np.mean(darker) > 0.8  # a haemorrhage is dark where it was drawn


def test_the_demo_cohort_stores_its_lesions(store):
    from core.demo import import_cohort

    import_cohort(store, CohortConfig(patients=4, image_size=32))
    metadata = [store.images.get(r["id"])["metadata"] for r in store.images.query()]
    assert all("lesions" in m for m in metadata)
    assert any(m["lesions"] for m in metadata)
    kind, x, y, radius = next(le for m in metadata for le in m["lesions"])
    assert kind in ("haemorrhage", "exudate") and 0 <= x < 32 and 0 <= y < 32 and radius > 0


def test_recording_the_anatomy_leaves_every_picture_and_lesion_as_it_was():
    config = CohortConfig(patients=6, image_size=64)
    plain = list(generate_with_lesions(config))
    recorded = list(generate_with_anatomy(config))
    assert len(plain) == len(recorded)
    for (visit, pixels, lesions), (again, same, spots, anatomy) in zip(
        plain, recorded, strict=True
    ):
        assert again == visit and spots == lesions
        assert same.dtype == pixels.dtype and np.array_equal(same, pixels)
        assert render_fundus(visit, 64, config.seed).tobytes() == pixels.tobytes()
        assert anatomy.vessels.shape == (64, 64) and anatomy.vessels.dtype == bool
        assert anatomy.vessels.any() and anatomy.disc_r > 0 and anatomy.edge > 0


def test_the_recorded_disc_and_vessels_are_where_the_picture_shows_them():
    """On sharp, high-quality visits: the recorded disc is far brighter than the rest of
    the fundus, and the recorded vessels darker and redder than the fundus beside them."""
    items = [
        (visit, pixels, anatomy)
        for visit, pixels, _, anatomy in generate_with_anatomy(
            CohortConfig(patients=10, image_size=96)
        )
        if visit.quality > 0.85
    ]
    assert len(items) >= 5
    rows, cols = np.mgrid[0:96, 0:96] + 0.5
    fundus = np.hypot(cols - 48, rows - 48) < 0.47 * 96 - 2
    for visit, pixels, anatomy in items:
        red, green = pixels[..., 0].astype(float), pixels[..., 1].astype(float)
        brightness = pixels.astype(float).mean(axis=-1)
        from_disc = np.hypot(cols - anatomy.disc_x, rows - anatomy.disc_y)
        on_disc = from_disc < 0.8 * anatomy.disc_r
        away = fundus & (from_disc > anatomy.disc_r + 2 * anatomy.edge + 2)
        assert brightness[on_disc].mean() > 1.6 * brightness[away & ~anatomy.vessels].mean()
        vessel = anatomy.vessels & away
        beside = ndimage.binary_dilation(anatomy.vessels, iterations=2) & ~anatomy.vessels & away
        assert green[vessel].mean() < 0.85 * green[beside].mean(), visit
        redness = red / np.maximum(green, 1)
        assert redness[vessel].mean() > redness[beside].mean() + 0.3, visit
