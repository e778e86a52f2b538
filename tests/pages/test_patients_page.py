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
