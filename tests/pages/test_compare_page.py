import base64
import io
import json
import os
import random

import numpy as np
from PIL import Image

from core.selection.queue import QUEUE_SIZE
from core.selection.serve import next_pair
from core.selection.strategies import DEFAULT_STRATEGY, STRATEGIES, Scope, candidates_for
from core.store import Store
from core.store.blinding import (
    DATES_AND_GRADES_SHOWN,
    DATES_SHOWN,
    NOTHING_SHOWN,
    set_rater_blinding,
)
from pages.compare_queue.overlays import HEAT_OPACITY
from tests.pages.conftest import page
from tests.pages.conftest import sign_in as sign_in_to


def sign_in(app, name: str = "Dr Amara"):
    """Signed in, with the classic buttons (the judging view's fallback)."""
    app.session_state["classic"] = True
    return sign_in_to(app, name)


def judging_view(app) -> dict:
    """The data the judging view (the browser's queue) was mounted with."""
    (element,) = [e for e in app.main if getattr(e, "type", None) == "bidi_component"]
    return json.loads(element.proto.json)


def rows(db):
    with Store(db) as store:
        return store.all(
            "SELECT j.*, r.name FROM judgments j JOIN raters r ON r.id = j.rater_id ORDER BY j.id"
        )


def press(app, outcome: str):
    """Click an answer button."""
    return app.button(key=f"answer_{outcome}").click().run()


def pair_images_shown(app) -> bool:
    """The pair's two images as one element, and the next pair's two sent hidden."""
    prefetched = 0 if app.session_state["upcoming"] is None else 2
    counts = [len(image.proto.imgs) for image in app.get("image")]
    return counts == [2] + [1] * prefetched


def test_compare_asks_for_a_name_first(seeded_db):
    app = page("compare").run()
    assert not app.exception
    assert "Sign in" in app.info[0].value
    assert len(app.get("image")) == 0


def test_answers_are_stored_with_rater_sides_strategy_and_time(seeded_db):
    app = sign_in(page("compare"))
    assert pair_images_shown(app) and app.session_state["upcoming"] is not None
    for outcome in ("left", "right", "equal", "skip"):
        press(app, outcome)
    stored = rows(seeded_db)
    assert [r["outcome"] for r in stored] == ["left", "right", "equal", "skip"]
    assert {r["name"] for r in stored} == {"Dr Amara"}
    assert all(r["strategy"] == DEFAULT_STRATEGY and r["response_ms"] >= 0 for r in stored)
    assert len({frozenset((r["left_image_id"], r["right_image_id"])) for r in stored}) == 4
    assert "this session: 4" in app.caption[0].value


def test_undo_appends_a_superseding_row_and_shows_the_pair_again(seeded_db):
    app = sign_in(page("compare"))
    press(app, "left")
    first = rows(seeded_db)[0]
    app.button(key="undo").click().run()
    stored = rows(seeded_db)
    assert [r["outcome"] for r in stored] == ["left", "undone"]
    assert stored[1]["supersedes"] == first["id"]
    pair = app.session_state["pair"]
    assert (pair["left"], pair["right"]) == (first["left_image_id"], first["right_image_id"])
    press(app, "right")
    assert [r["outcome"] for r in rows(seeded_db)] == ["left", "undone", "right"]


def captions(app) -> list[str]:
    return list(app.get("image")[0].captions)


def visit_dates(db) -> set[str]:
    with Store(db) as store:
        return {r["visit_date"] for r in store.images.query() if r["visit_date"]}


def details_toggle(app):
    return next((t for t in app.sidebar.toggle if t.key == "show_details"), None)


def test_details_are_hidden_until_asked_for_where_the_study_allows_grades(seeded_db):
    with Store(seeded_db) as store:
        set_rater_blinding(store, DATES_AND_GRADES_SHOWN)
    app = sign_in(page("compare"))
    assert not [c for c in captions(app) if "grade" in c]
    assert details_toggle(app).label == "Show dates, details and grades"
    details_toggle(app).set_value(True).run()
    assert len([c for c in captions(app) if "grade" in c]) == 2
    press(app, "left")
    assert [r["blinding"] for r in rows(seeded_db)] == [DATES_AND_GRADES_SHOWN]


def test_by_default_a_rater_sees_neither_grades_nor_dates_even_with_details_asked_for(
    seeded_db, monkeypatch
):
    monkeypatch.setenv("SEVERITY_ADMINS", "Dr Lead")  # Dr Amara is a rater
    app = sign_in(page("compare"))
    assert details_toggle(app) is None  # nothing to show: no toggle at all
    app.session_state["show_details"] = True  # as if it were turned on all the same
    app.run()
    dates = visit_dates(seeded_db)
    assert dates and not [c for c in captions(app) if "grade" in c or c in dates or "·" in c]
    press(app, "right")
    assert [r["blinding"] for r in rows(seeded_db)] == [NOTHING_SHOWN]


def test_under_dates_a_rater_sees_dates_but_no_grade(seeded_db, monkeypatch):
    monkeypatch.setenv("SEVERITY_ADMINS", "Dr Lead")
    with Store(seeded_db) as store:
        set_rater_blinding(store, DATES_SHOWN)
    app = sign_in(page("compare"))
    assert details_toggle(app).label == "Show dates and details"
    details_toggle(app).set_value(True).run()
    shown = captions(app)
    pair = app.session_state["pair"]
    with Store(seeded_db) as store:
        expected = [
            store.images.get(pair[side])["visit_date"] or "no date" for side in ("left", "right")
        ]
    assert len(shown) == 2 and all(c.endswith(d) for c, d in zip(shown, expected, strict=True))
    assert not [c for c in shown if "grade" in c]
    press(app, "left")
    assert [r["blinding"] for r in rows(seeded_db)] == [DATES_SHOWN]


def test_an_answer_drawn_for_another_pair_than_the_one_held_is_refused(seeded_db):
    app = sign_in(page("compare"))
    first = dict(app.session_state["pair"])
    press(app, "right")
    # the buttons on screen were drawn for the second pair; the server now holds another
    app.session_state["pair"] = first
    press(app, "left")
    assert [r["outcome"] for r in rows(seeded_db)] == ["right"]
    assert any("not counted" in i.value for i in app.info)
    assert app.session_state["pair"]["token"] == first["token"]  # nothing moved on
    assert not app.exception


def test_a_vanished_image_file_skips_the_pair_without_crashing(seeded_db):
    app = sign_in(page("compare"))
    pair = app.session_state["pair"]
    with Store(seeded_db) as store:
        os.remove(store.media_path(store.images.get(pair["left"])["pixel_path"]))
    app.run()
    assert not app.exception
    assert any("missing from disk" in w.value for w in app.warning)
    assert pair_images_shown(app)


def test_active_pairs_follow_the_beliefs_and_skip_another_raters_screen(seeded_db):
    other = sign_in(page("compare"), "Dr Lind")
    theirs = other.session_state["pair"]
    held = tuple(sorted((theirs["left"], theirs["right"])))

    app = sign_in(page("compare"))
    app.sidebar.radio[1].set_value("Most informative (active)").run()
    for _ in range(6):
        pair = app.session_state["pair"]
        assert tuple(sorted((pair["left"], pair["right"]))) != held  # on Dr Lind's screen
        press(app, "left")
    mine = [r for r in rows(seeded_db) if r["name"] == "Dr Amara"]
    assert [r["strategy"] for r in mine] == ["active"] * 6
    with Store(seeded_db) as store:
        dataset = store.datasets.list()[0]["id"]
        state = store.beliefs.state(dataset)
        assert state["through"] == mine[-1]["id"]  # every answer replayed before the next pair
        winner = store.beliefs.load([mine[0]["left_image_id"]])[mine[0]["left_image_id"]]
        assert winner["views"] >= 1


def test_a_dataset_without_grades_can_be_judged_and_says_what_it_still_needs(
    tmp_path, monkeypatch, make_png
):
    from core.importers import import_folder

    for n in range(8):
        make_png(tmp_path / "clinic" / f"p{n}.png", seed=n)
    db = tmp_path / "app.db"
    with Store(db) as store:
        import_folder(store, tmp_path / "clinic", "My clinic")
    monkeypatch.setenv("SEVERITY_DB", str(db))
    app = sign_in(page("compare"))
    assert pair_images_shown(app)  # from the first pair, before any model
    (needs,) = [i.value for i in app.info if "no grades" in i.value]
    assert "5 more images marked normal" in needs and "50 more answers" in needs
    press(app, "left")
    assert len(rows(db)) == 1


def test_now_and_then_an_earlier_pair_comes_back_unannounced_with_sides_swapped(seeded_db):
    import random

    from core.raters import MIN_GAP, set_repeat_share

    with Store(seeded_db) as store:
        set_repeat_share(store, 0.5)
    app = sign_in(page("compare"))
    app.session_state["rng"] = random.Random(3)
    for _ in range(MIN_GAP + 12):
        press(app, "left")
        assert not any("repeat" in str(element.value).lower() for element in app.info)
    stored = {r["id"]: r for r in rows(seeded_db)}
    repeats = [r for r in stored.values() if r["repeat_of"] is not None]
    assert repeats, "a share of 0.5 over a dozen eligible pairs showed no repeat"
    for repeat in repeats:
        original = stored[repeat["repeat_of"]]
        assert original["id"] <= repeat["id"] - MIN_GAP - 1
        assert (repeat["left_image_id"], repeat["right_image_id"]) == (
            original["right_image_id"],
            original["left_image_id"],
        )
        assert repeat["strategy"] == "repeat"


def test_the_page_shows_the_pair_servers_choice_for_the_same_state_and_seed(seeded_db):
    """The simulated-rater and latency benchmarks call the same server
    (tests/selection/test_serve.py): what they measure is what raters get."""
    with Store(seeded_db) as store:
        rater = store.raters.ensure("Dr Amara")
        dataset = store.datasets.list()[0]["id"]
        candidates = candidates_for(store, Scope(dataset_id=dataset))
        strategy = STRATEGIES[DEFAULT_STRATEGY]
        expected = [
            next_pair(store, rater, strategy, candidates, random.Random(seed), dataset)
            for seed in range(3)
        ]
    assert len({(p.left, p.right) for p in expected}) > 1  # the seed matters
    for seed, served in enumerate(expected):
        app = page("compare")
        app.session_state["rng"] = random.Random(seed)
        app = sign_in(app)
        pair = app.session_state["pair"]
        assert (pair["left"], pair["right"], pair["repeat_of"]) == (
            served.left,
            served.right,
            served.repeat_of,
        )


def test_the_judging_view_gets_a_queue_of_pairs_with_their_images_and_no_image_twice(seeded_db):
    app = sign_in_to(page("compare"))
    data = judging_view(app)
    pairs = data["reply"]["pairs"]
    with Store(seeded_db) as store:
        rater = store.raters.ensure("Dr Amara")
        images = len(store.images.ids())
    assert data["config"]["rater"] == rater and data["config"]["size"] == QUEUE_SIZE
    assert len(pairs) == min(QUEUE_SIZE, images // 2)
    shown = [p[side]["id"] for p in pairs for side in ("left", "right")]
    assert len(shown) == len(set(shown))
    assert all(p["left"]["src"].startswith("data:image/png;base64,") for p in pairs)
    assert not [b for b in app.button if (b.key or "").startswith("answer_")]  # no buttons
    assert not [i for c in app.caption for i in [c.value] if "grade" in i]  # blinded


def test_an_exchange_from_the_browser_is_stored_in_order_and_acknowledged_once(seeded_db):
    app = sign_in_to(page("compare"))
    pairs = judging_view(app)["reply"]["pairs"]
    answers = [
        {"kind": "answer", "id": p["answer"], "token": p["token"], "outcome": o, "ms": 700}
        for p, o in zip(pairs[:3], ["right", "left", "equal"], strict=True)
    ]
    sent = {"seq": "t-1", "events": answers, "held": [p["token"] for p in pairs[3:]]}
    for _ in range(2):  # the second time, as after a lost acknowledgement
        app.session_state["queue_sent"] = sent
        app.run()
        reply = judging_view(app)["reply"]
        assert reply["seq"] == "t-1"
        assert [a["status"] for a in reply["acks"]] == ["stored"] * 3
    stored = rows(seeded_db)
    assert [(r["left_image_id"], r["right_image_id"], r["outcome"]) for r in stored] == [
        (p["left"]["id"], p["right"]["id"], o)
        for p, o in zip(pairs[:3], ["right", "left", "equal"], strict=True)
    ]
    assert {r["name"] for r in stored} == {"Dr Amara"}
    assert "this session: 3" in app.caption[0].value


def test_without_the_judging_view_the_classic_buttons_take_over_and_say_so(seeded_db, monkeypatch):
    from pages import compare_queue

    monkeypatch.setattr(compare_queue, "UNAVAILABLE", "the judging view could not be set up")
    app = sign_in_to(page("compare"))
    assert any("Classic buttons" in w.value for w in app.warning)
    press(app, "left")
    assert [r["outcome"] for r in rows(seeded_db)] == ["left"]


def test_a_judging_view_that_stays_silent_gives_way_to_the_classic_buttons(seeded_db):
    app = page("compare")
    app.session_state["queue_mounted_at"] = -1000.0  # mounted long ago, never heard from
    app = sign_in_to(app)
    assert any("did not start in this browser" in w.value for w in app.warning)
    assert app.button(key="answer_left") is not None


def test_the_judging_view_is_sent_no_grade_and_no_date_by_default(seeded_db, monkeypatch):
    monkeypatch.setenv("SEVERITY_ADMINS", "Dr Lead")
    app = sign_in_to(page("compare"))
    app.session_state["show_details"] = True
    app.run()
    data = judging_view(app)
    sent = json.dumps(data)  # all the browser gets: config, pairs, tokens, images
    assert data["config"]["details"] == {} and data["reply"]["pairs"]
    assert "grade" not in sent.lower()
    assert not [d for d in visit_dates(seeded_db) if d in sent]


def test_the_judging_view_gets_dates_under_dates_and_grades_only_where_allowed(
    seeded_db, monkeypatch
):
    monkeypatch.setenv("SEVERITY_ADMINS", "Dr Lead")
    with Store(seeded_db) as store:
        set_rater_blinding(store, DATES_SHOWN)
    app = sign_in_to(page("compare"))
    details_toggle(app).set_value(True).run()
    details = judging_view(app)["config"]["details"]
    assert details and not [c for c in details.values() if "grade" in c]
    assert any(d in c for c in details.values() for d in visit_dates(seeded_db))
    with Store(seeded_db) as store:  # the lead allows grades: new pairs only get them
        set_rater_blinding(store, DATES_AND_GRADES_SHOWN)
    app.run()
    assert judging_view(app)["config"]["details"] == details
    with Store(seeded_db) as store:  # the lead hides everything: at once, even for those
        set_rater_blinding(store, NOTHING_SHOWN)
    app.run()
    assert judging_view(app)["config"]["details"] == {}


def teaching_maps(db, shown: bool | None = None) -> int:
    """An active version with a map of every image (saved directly, as the worker
    would); with ``shown``, the study lead's Teaching choice set as the Training page
    sets it. Returns the version's id."""
    with Store(db) as store:
        if (model := store.models.active()) is None:
            model = store.models.create("conpro", {})
            store.models.finish(model["id"], "models/model-v1.pt", {})
            store.models.chain_ready(model["id"])
            store.models.activate(model["id"])
            ids = store.images.ids()
            rng = np.random.default_rng(0)
            store.attributions.save(model["id"], ids, rng.random((len(ids), 8, 8)))
        if shown is not None:
            store.attributions.show_on_compare(shown)
        return model["id"]


def teaching_banner(app) -> bool:
    return any(w.value.startswith("Teaching mode") for w in app.warning)


def test_the_judging_view_gets_no_maps_unless_a_study_lead_turns_teaching_on(seeded_db):
    teaching_maps(seeded_db)  # the maps exist; the setting is left as it is (off)
    app = sign_in_to(page("compare"))
    data = judging_view(app)
    assert data["reply"]["pairs"] and '"heat":' not in json.dumps(data)
    assert data["config"]["heat_opacity"] == 0 and not teaching_banner(app)
    assert not [s for s in app.sidebar.slider if s.key == "heat_opacity"]

    teaching_maps(seeded_db, shown=True)
    app = sign_in_to(page("compare"), "Dr Basil")
    data = judging_view(app)
    sides = [p[side] for p in data["reply"]["pairs"] for side in ("left", "right")]
    assert sides and all(s["heat"].startswith("data:image/png;base64,") for s in sides)
    overlay = Image.open(io.BytesIO(base64.b64decode(sides[0]["heat"].split(",", 1)[1])))
    assert overlay.mode == "RGBA" and overlay.size == (32, 32)  # the picture's shape
    assert data["config"]["heat_opacity"] == HEAT_OPACITY and teaching_banner(app)
    app.sidebar.slider(key="heat_opacity").set_value(0.3).run()
    assert judging_view(app)["config"]["heat_opacity"] == 0.3

    teaching_maps(seeded_db, shown=False)  # turned off: the maps held are hidden at once
    app.run()
    assert judging_view(app)["config"]["heat_opacity"] == 0 and not teaching_banner(app)


def test_the_classic_buttons_blend_the_maps_in_only_while_teaching_is_on(seeded_db):
    teaching_maps(seeded_db)
    app = sign_in(page("compare"))
    pair = app.session_state["pair"]
    files = [i.url for i in app.get("image")[0].proto.imgs]  # the stored files, as they are
    assert not teaching_banner(app)

    teaching_maps(seeded_db, shown=True)
    app.run()
    assert app.session_state["pair"] == pair and teaching_banner(app)
    blended = [i.url for i in app.get("image")[0].proto.imgs]
    assert all(b != f for b, f in zip(blended, files, strict=True))

    teaching_maps(seeded_db, shown=False)
    app.run()
    assert [i.url for i in app.get("image")[0].proto.imgs] == files and not teaching_banner(app)
    press(app, "left")
    assert [r["outcome"] for r in rows(seeded_db)] == ["left"]


def test_a_pairs_payload_carries_a_map_only_for_images_that_have_one_while_teaching(seeded_db):
    from core.selection.queue import QueuedPair
    from pages.compare_queue import overlays, pair_data

    model_id = teaching_maps(seeded_db)
    with Store(seeded_db) as store:
        left, right = store.images.ids()[:2]
        rows = {i: store.images.get(i) for i in (left, right)}
        assert overlays.heat_urls(store, model_id, rows) == {}  # off: nothing, maps or not
        store.attributions.show_on_compare(True)
        assert overlays.heat_urls(store, None, rows) == {}  # no version: nothing to show
        heat = overlays.heat_urls(store, model_id, rows)
        assert sorted(heat) == [left, right]
        pair = QueuedPair("t", "a", left, right, 1, None, "scope", "random")
        plain = pair_data(pair, rows, store.media_root)
        taught = pair_data(pair, rows, store.media_root, {left: heat[left]})
    assert "heat" not in plain["left"] and "heat" not in taught["right"]
    assert taught["left"]["heat"] == heat[left] and taught["left"]["src"] == plain["left"]["src"]
    assert overlays.overlay_size({"height": 1536, "width": 2048}) == (384, 512)
    assert overlays.overlay_size({"height": 20, "width": 30}) == (20, 30)
