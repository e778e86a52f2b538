import os
import random

from core.selection.serve import next_pair
from core.selection.strategies import DEFAULT_STRATEGY, STRATEGIES, Scope, candidates_for
from core.store import Store
from tests.pages.conftest import page, sign_in


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


def test_details_are_hidden_until_asked_for(seeded_db):
    def details(app):
        return [c for c in app.get("image")[0].captions if "grade" in c]

    app = sign_in(page("compare"))
    assert details(app) == []
    app.sidebar.toggle[0].set_value(True).run()
    assert len(details(app)) == 2


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
