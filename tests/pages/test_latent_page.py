from core.store import Store
from core.store.blinding import set_rater_blinding
from tests.pages.conftest import page, sign_in


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

    with Store(modelled_db) as store:  # a study whose raters may see grades
        set_rater_blinding(store, "dates_and_grades")
    app = page("latent").run()
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    colours = {trace["name"]: trace["marker"]["color"] for trace in spec["data"]}
    grades = sorted(colours, key=int)
    assert len(grades) >= 2
    expected = px.colors.sample_colorscale("Viridis", len(grades))
    assert [colours[g] for g in grades] == expected  # normal darkest, most severe brightest


def _image_urls(app) -> list[str]:
    """Streamlit names a picture's media file by a hash of its bytes: equal URLs, equal
    pixels."""
    return [img.proto.imgs[0].url for img in app.get("image")]


def test_the_overlay_is_off_by_default_and_draws_the_stored_maps_when_on(modelled_db):
    with Store(modelled_db) as store:
        model = store.models.active()
        assert store.attributions.count(model["id"]) == store.images.count()
    app = page("latent").run()
    assert not app.exception
    plain = _image_urls(app)
    assert app.toggle(key="latent_overlay").value is False
    assert not [s for s in app.slider if s.key == "latent_opacity"]

    app.toggle(key="latent_overlay").set_value(True).run()
    assert not app.exception
    drawn = _image_urls(app)
    assert len(drawn) == len(plain) >= 2
    assert all(a != b for a, b in zip(plain, drawn, strict=True))  # every ruler image
    assert any("maps" in c.value for c in app.caption)

    app.slider(key="latent_opacity").set_value(0.0).run()  # fully transparent: as before
    assert _image_urls(app) == plain


def test_the_overlay_also_covers_a_lasso_selection(modelled_db):
    with Store(modelled_db) as store:
        chosen = sorted(store.embeddings.severity_scores(store.models.active()["id"]))[:4]
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
    plain = _image_urls(app)[:4]
    app.toggle(key="latent_overlay").set_value(True).run()
    assert not app.exception
    assert all(a != b for a, b in zip(plain, _image_urls(app)[:4], strict=True))


def test_without_maps_the_page_says_the_worker_has_not_made_them(modelled_db):
    with Store(modelled_db) as store:
        model = store.models.active()
        assert store.attributions.remove(model["id"]) == store.images.count()
    app = page("latent").run()
    plain = _image_urls(app)
    app.toggle(key="latent_overlay").set_value(True).run()
    assert not app.exception
    assert any("not computed this version's maps" in i.value for i in app.info)
    assert _image_urls(app) == plain


def test_colour_by_how_far_each_image_moved_since_another_version(modelled_db):
    import base64
    import json

    import numpy as np

    with Store(modelled_db) as store:
        first = store.models.active()
        ids, vectors, severity = store.embeddings.vectors(first["id"])
        layout = store.embeddings.layout(first["id"], "umap", 2)
        second = store.models.create("conpro", {}, dataset_id=first["dataset_id"])
        store.models.finish(second["id"], "v2.pt", {})
        store.embeddings.save(second["id"], ids, vectors, severity)
        moved = np.array(layout.coords, dtype=float)[:, ::-1] * 3.0  # reflected and scaled
        moved[0] += 0.5 * layout.width() * 3.0  # one image really moved
        store.embeddings.save_projection(second["id"], "umap", list(layout.ids), moved)
        shifted = int(layout.ids[0])

    app = page("latent").run()
    app.selectbox[1].set_value("UMAP 2-D").run()
    app.selectbox[2].set_value("Moved since another version").run()
    assert not app.exception
    assert "Moved since" in [s.label for s in app.selectbox]
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    trace = spec["data"][0]
    colours = trace["marker"]["color"]
    if isinstance(colours, dict):  # plotly sends long arrays as base64 typed arrays
        colours = np.frombuffer(base64.b64decode(colours["bdata"]), dtype=colours["dtype"])
    moves = dict(zip((c[0] for c in trace["customdata"]), colours, strict=True))
    assert max(moves, key=moves.get) == shifted  # the one that moved, not the frame
    assert moves[shifted] > 0.3 and sorted(moves.values())[-2] < 0.05
    assert any("median" in c.value for c in app.caption)


def test_grades_are_hidden_from_raters_and_shown_to_a_signed_in_lead(modelled_db):
    import json

    with Store(modelled_db) as store:
        store.raters.ensure("Dr Lead")  # the study's first rater: its lead
        store.raters.ensure("Dr Rater")

    def shown(app):
        spec = json.loads(app.get("plotly_chart")[0].proto.spec)
        hover = " ".join(t.get("hovertemplate", "") for t in spec["data"])
        options = [o for box in app.selectbox if box.label == "Colour by" for o in box.options]
        captions = [img.proto.imgs[0].caption for img in app.get("image")]
        return "grade" in hover, "Grade" in options, any(" · g" in c for c in captions)

    app = page("latent").run()
    assert not app.exception
    assert shown(app) == (False, False, False)  # nobody signed in: blinded
    rater = sign_in(page("latent"), "Dr Rater")
    assert shown(rater) == (False, False, False)
    lead = sign_in(page("latent"), "Dr Lead")
    assert not lead.exception and shown(lead) == (True, True, True)
