from tests.pages.conftest import page


def test_patients_page_without_a_model_still_shows_the_timeline(seeded_db):
    app = page("patients").run()
    assert not app.exception
    assert "No model is active" in app.info[0].value
    assert len(app.get("image")) >= 3  # every patient has at least three visits


def test_timeline_trajectory_and_trend_calls(modelled_db):
    app = page("patients").run()
    assert not app.exception
    overview = app.dataframe[0].value
    assert set(overview["latest trend"]) <= {"improved", "same", "deteriorated"}
    order = {"deteriorated": 0, "same": 1, "improved": 2}
    ranks = [order[c] for c in overview["latest trend"]]
    assert ranks == sorted(ranks)  # deteriorations first
    trained = overview["caller trained on patient"]
    assert trained.any() and not trained.all()  # test patients are marked as new to it
    assert len(app.get("plotly_chart")) == 1  # the trajectory with its band
    visits = len(app.get("image"))
    calls = [m for m in app.markdown if "→" in m.value] + [e for e in app.error if "→" in e.value]
    assert visits >= 3 and len(calls) == visits - 1
    for error in app.error:
        assert "deteriorated" in error.value


def test_the_true_severity_can_be_overlaid_and_is_off_by_default(modelled_db):
    import base64
    import json

    import numpy as np

    from core.store import Store

    app = page("patients").run()
    (chart,) = app.get("plotly_chart")
    assert len(json.loads(chart.proto.spec)["data"]) == 2  # band and score only
    app.toggle(key="show_truth").set_value(True).run()
    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    truth = next(t for t in traces if t["name"].startswith("true severity"))
    shown = np.frombuffer(base64.b64decode(truth["y"]["bdata"]), dtype=truth["y"]["dtype"])
    chosen = app.selectbox[0].value
    with Store(modelled_db) as store:
        patient = next(p for p in store.patients.list() if p["pseudonym"] == chosen)
        visits = store.images.patient_visits(patient["id"])
    assert shown.tolist() == [v["known_severity"] for v in visits]


def _image_urls(app) -> list[str]:
    """Streamlit names a picture's media file by a hash of its bytes: equal URLs, equal
    pixels."""
    return [img.proto.imgs[0].url for img in app.get("image")]


def test_the_overlay_draws_each_visits_map_and_what_changed_between_two(modelled_db):
    app = page("patients").run()
    assert not app.exception
    visits = _image_urls(app)
    assert app.toggle(key="patients_overlay").value is False
    assert not [h for h in app.subheader if h.value.startswith("What changed")]

    app.toggle(key="patients_overlay").set_value(True).run()
    assert not app.exception
    shown = _image_urls(app)
    assert all(a != b for a, b in zip(visits, shown, strict=False))  # every visit overlaid
    assert [h.value for h in app.subheader if h.value.startswith("What changed")]
    pair = app.select_slider(key="change_pair")
    names = pair.options
    assert pair.value == (names[-2], names[-1])  # the last two visits by default
    assert len(shown) == len(visits) + 3  # earlier, later, and the change between them
    change = shown[-1]

    pair.set_value((names[0], names[-1])).run()
    assert not app.exception
    assert _image_urls(app)[-1] != change  # another pair, another change map
    assert any(i.caption.startswith(f"Change, {names[0]}") for i in _images(app))


def _images(app):
    return [img.proto.imgs[0] for img in app.get("image")]
