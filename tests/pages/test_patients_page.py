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
