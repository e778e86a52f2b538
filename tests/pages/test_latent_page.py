import io
import json

import numpy as np
import pyarrow as pa

from core.map_region import Region
from core.store import Store
from core.store.blinding import set_rater_blinding
from pages.latent_map import HELD, REGION
from pages.latent_map.colours import sequential
from tests.pages.conftest import page, sign_in


def map_sent(app) -> tuple[dict, dict | None]:
    """What the 2-D map was mounted with: its data, and its points as columns (None
    where the browser already held them)."""
    (element,) = [e for e in app.main if getattr(e, "type", None) == "bidi_component"]
    if not element.proto.HasField("mixed"):
        return json.loads(element.proto.json), None
    data = json.loads(element.proto.mixed.json)
    (blob,) = element.proto.mixed.arrow_blobs.values()
    table = pa.ipc.open_stream(io.BytesIO(blob.data)).read_all()
    return data, table.to_pydict()


def select(app, map_id: str, xs: list[float], ys: list[float]) -> None:
    """A region drawn on the map, as the map's callback stores it."""
    kind = "box" if len(xs) == 2 else "lasso"
    app.session_state[REGION] = Region(map_id, kind, tuple(xs), tuple(ys))


def box_around(db, count: int) -> tuple[list[float], list[float], set[int]]:
    """A box around the ``count`` points nearest the map's first point, and their ids."""
    with Store(db) as store:
        layout = store.embeddings.layout(store.models.active()["id"], "pca", 2)
    distance = np.abs(layout.coords - layout.coords[0]).max(axis=1)
    radius = np.sort(distance)[count - 1]
    (x0, y0), r = layout.coords[0], radius * (1 + 1e-9)
    inside = set(layout.ids[distance <= radius].tolist())
    return [x0 - r, x0 + r], [y0 - r, y0 + r], inside


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
    points = map_sent(app)[1]
    with Store(modelled_db) as store:
        assert len(points["id"]) == store.images.count() == len(set(points["id"]))
    assert set(points) == {"x", "y", "id", "c", "severity", "patient"}  # no grade: blinded
    ruler = [c for c in app.get("image")]
    assert 2 <= len(ruler) <= 10
    app.selectbox[2].set_value("Severity score").run()
    assert not app.exception


def test_a_box_on_the_map_lists_the_images_inside_most_severe_first(modelled_db):
    xs, ys, inside = box_around(modelled_db, 6)
    app = page("latent").run()
    map_id = map_sent(app)[0]["map"]
    select(app, map_id, xs, ys)
    app.run()
    assert not app.exception
    assert "Selection: 6 images" in app.subheader[0].value
    captions = [img.proto.imgs[0].caption for img in app.get("image")][:6]
    shown = [float(c.split("s=")[1]) for c in captions]
    assert shown == sorted(shown, reverse=True)
    assert {int(c.split(" ")[0][1:]) for c in captions} == inside
    assert map_sent(app)[0]["region"]["x"] == xs  # the outline is drawn back on the map


def test_the_points_are_sent_once_and_again_when_the_browser_lacks_them(modelled_db):
    app = page("latent").run()
    data, points = map_sent(app)
    assert points is not None and app.session_state[HELD] == data["key"]
    app.run()  # the browser holds them now: the key goes alone
    assert map_sent(app)[1] is None and map_sent(app)[0]["key"] == data["key"]
    app.selectbox[2].set_value("Split").run()  # new colours: new points
    recoloured, points = map_sent(app)
    assert points is not None and recoloured["key"] != data["key"]
    del app.session_state[HELD]  # as the callback does when the browser asks for them
    app.run()
    assert map_sent(app)[1] is not None


def test_a_lasso_drawn_on_another_map_selects_nothing_here(modelled_db):
    app = page("latent").run()
    select(app, "another map", [-1e9, 1e9, 0.0], [-1e9, -1e9, 1e9])
    app.run()
    assert not app.exception
    assert not [h for h in app.subheader if "Selection" in h.value]


def test_grades_are_coloured_on_one_sequential_scale(modelled_db):
    with Store(modelled_db) as store:  # a study whose raters may see grades
        set_rater_blinding(store, "dates_and_grades")
        truth = {r["id"]: r["grade"] for r in store.all("SELECT id, grade FROM images")}
    app = page("latent").run()
    assert app.selectbox[2].value == "Grade"  # the first colouring where grades are shown
    data, points = map_sent(app)
    grades = sorted({g for g in truth.values() if g is not None})
    assert len(grades) >= 2
    legend = {label: colour for label, colour in data["legend"]["items"]}
    assert [legend[str(g)] for g in grades] == sequential(len(grades))  # normal darkest
    for image_id, code, grade in zip(points["id"], points["c"], points["grade"], strict=True):
        assert grade == truth[image_id]
        assert data["palette"][code] == legend[str(grade)]
    assert points["c"] == sorted(points["c"])  # the most severe drawn last, on top


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


def test_the_overlay_also_covers_a_selection(modelled_db):
    xs, ys, _ = box_around(modelled_db, 4)
    app = page("latent").run()
    select(app, map_sent(app)[0]["map"], xs, ys)
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
    data, points = map_sent(app)
    assert data["legend"]["kind"] == "scale" and data["legend"]["high"] > 0.3
    codes = dict(zip(points["id"], points["c"], strict=True))
    assert max(codes, key=codes.get) == shifted  # the one that moved, not the frame
    assert codes[shifted] == 254 and sorted(codes.values())[-2] < 0.05 / 0.3 * 254
    assert any("median" in c.value for c in app.caption)


def test_grades_are_hidden_from_raters_and_shown_to_a_signed_in_lead(modelled_db):
    with Store(modelled_db) as store:
        store.raters.ensure("Dr Lead")  # the study's first rater: its lead
        store.raters.ensure("Dr Rater")

    def shown(app):
        del app.session_state[HELD]  # the points themselves, not just their key
        points = map_sent(app.run())[1]
        options = [o for box in app.selectbox if box.label == "Colour by" for o in box.options]
        captions = [img.proto.imgs[0].caption for img in app.get("image")]
        return "grade" in points, "Grade" in options, any(" · g" in c for c in captions)

    app = page("latent").run()
    assert not app.exception
    assert shown(app) == (False, False, False)  # nobody signed in: blinded
    rater = sign_in(page("latent"), "Dr Rater")
    assert shown(rater) == (False, False, False)
    lead = sign_in(page("latent"), "Dr Lead")
    assert not lead.exception and shown(lead) == (True, True, True)


def test_colour_by_number_of_judgments_follows_new_answers(modelled_db):
    from core.store import Answer

    with Store(modelled_db) as store:
        rater = store.raters.ensure("Dr Count")
        a, b, c = store.images.ids()[:3]
        store.judgments.append(Answer(a, b, "left", rater))
        store.judgments.append(Answer(a, c, "left", rater))
    app = page("latent").run()
    app.selectbox[2].set_value("Number of judgments").run()
    assert not app.exception
    data, points = map_sent(app)
    codes = dict(zip(points["id"], points["c"], strict=True))
    assert data["legend"]["high"] == 2 and codes[a] == 254 and codes[b] == codes[c] == 127
    assert sorted(codes.values())[-4] == 0  # everyone else: none

    with Store(modelled_db) as store:  # a new answer shows at the next run
        store.judgments.append(Answer(b, c, "right", rater))
    app.run()
    data, points = map_sent(app)
    codes = dict(zip(points["id"], points["c"], strict=True))
    assert data["legend"]["high"] == 2 and codes[a] == codes[b] == codes[c] == 254


def test_a_map_made_again_by_the_worker_shows_at_the_next_run(modelled_db):
    app = page("latent").run()
    app.selectbox[1].set_value("PCA 2-D").run()
    del app.session_state[HELD]
    before = map_sent(app.run())[1]
    with Store(modelled_db) as store:
        model = store.models.active()
        layout = store.embeddings.layout(model["id"], "pca", 2)
        store.embeddings.save_projection(model["id"], "pca", list(layout.ids), layout.coords + 5)
    del app.session_state[HELD]  # the points themselves, not just their key
    after = map_sent(app.run())[1]
    shift = dict(zip(after["id"], after["x"], strict=True))
    assert all(abs(shift[i] - x - 5) < 1e-4 for i, x in zip(before["id"], before["x"], strict=True))
