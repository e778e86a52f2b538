from core.store import Store
from tests.pages.conftest import page


def test_without_a_model_the_page_says_so_and_shows_jobs(seeded_db):
    with Store(seeded_db) as store:
        store.jobs.submit("train")
    app = page("latent").run()
    assert not app.exception
    assert "No model has been trained" in app.info[0].value
    assert len(app.get("progress")) == 1


def test_map_ruler_and_colouring(modelled_db):
    app = page("latent").run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 1
    ruler = [c for c in app.get("image")]
    assert 2 <= len(ruler) <= 10
    app.selectbox[2].set_value("Severity score").run()
    assert not app.exception


def test_a_lasso_selection_lists_images_most_severe_first(modelled_db):
    with Store(modelled_db) as store:
        model = store.models.active()
        scores = store.embeddings.severity_scores(model["id"])
    chosen = sorted(scores)[:6]
    app = page("latent")
    app.session_state["latent_chart"] = {
        "selection": {
            "points": [{"customdata": [i]} for i in chosen],
            "point_indices": [],
            "box": [],
            "lasso": [],
        }
    }
    app.run()
    assert not app.exception
    assert "Selection: 6 images" in app.subheader[0].value
    captions = [img.proto.imgs[0].caption for img in app.get("image")][:6]
    shown = [float(c.split("s=")[1]) for c in captions]
    assert shown == sorted(shown, reverse=True)
    assert {int(c.split(" ")[0][1:]) for c in captions} == set(chosen)


def test_grades_are_coloured_on_one_sequential_scale(modelled_db):
    import json

    import plotly.express as px

    app = page("latent").run()
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    colours = {trace["name"]: trace["marker"]["color"] for trace in spec["data"]}
    grades = sorted(colours, key=int)
    assert len(grades) >= 2
    expected = px.colors.sample_colorscale("Viridis", len(grades))
    assert [colours[g] for g in grades] == expected  # normal darkest, most severe brightest
