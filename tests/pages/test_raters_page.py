"""The Raters page: everyone's figures for the study lead, one's own for a rater."""

import html
import json

import numpy as np

from core.raters import rater_report
from core.simulation import SimulatedRater, judge_pairs, truth_of
from core.store import Store
from tests.pages.conftest import page, sign_in


def judged_by_a_panel(db, answers_each=40):
    """The lead (first rater, signs in as Dr Amara) and two simulated raters, one of
    them a guesser whose name is HTML, answer the same random pairs."""
    with Store(db) as store:
        store.raters.ensure("Dr Amara")  # the first rater: the study lead
        truth = truth_of(store)
        ids = sorted(truth)
        rng = np.random.default_rng(0)
        pairs = [tuple(int(x) for x in rng.choice(ids, 2, replace=False)) for _ in range(200)]
        pairs = list(dict.fromkeys(p for p in pairs if (p[1], p[0]) not in pairs))[:answers_each]
        judge_pairs(store, SimulatedRater("Dr Amara", noise=0.02, seed=1), pairs, truth)
        judge_pairs(store, SimulatedRater("Dr Okafor", noise=0.05, seed=2), pairs, truth)
        guesser = SimulatedRater("<b>Guess</b> [x](http://e.vil)", lapse=1.0, seed=3)
        judge_pairs(store, guesser, pairs, truth)


def test_the_lead_sees_every_rater_the_agreement_and_can_export(seeded_db):
    judged_by_a_panel(seeded_db)
    app = sign_in(page("raters"))
    assert not app.exception
    table = app.dataframe[0].value
    assert sorted(table["rater"]) == sorted(
        ["Dr Amara", "Dr Okafor", "<b>Guess</b> [x](http://e.vil)"]
    )
    (answers,) = set(table["answers"])  # the same pairs for everyone
    assert answers >= 30
    alpha = next(m for m in app.metric if m.label.startswith("Krippendorff"))
    with Store(seeded_db) as store:
        expected = rater_report(store)
    assert alpha.value == expected.alpha.text() and expected.alpha.n == answers
    assert app.get("download_button")  # the CSV export
    assert app.selectbox(key="cycle_source").options[0] == "The panel's majority"
    assert len(app.get("plotly_chart")) == 2  # position bias, and the agreement heat map


def test_a_name_with_markup_is_shown_as_typed(seeded_db):
    judged_by_a_panel(seeded_db)
    name = "<b>Guess</b> [x](http://e.vil)"
    app = sign_in(page("raters"), name)
    assert list(app.dataframe[0].value["rater"]) == [name]
    (chart,) = app.get("plotly_chart")
    (shown,) = json.loads(chart.proto.spec)["data"][0]["y"]
    assert shown == html.escape(name)  # plotly would render <b> as bold
    assert all("<b>" not in m.value for m in [*app.markdown, *app.sidebar.markdown])


def test_a_rater_sees_only_their_own_figures(seeded_db):
    judged_by_a_panel(seeded_db)
    app = sign_in(page("raters"), "Dr Okafor")
    assert not app.exception
    assert list(app.dataframe[0].value["rater"]) == ["Dr Okafor"]
    assert not app.get("download_button") and not app.metric
    assert app.selectbox(key="cycle_source").options == ["Dr Okafor's answers"]


def test_too_few_answers_read_as_words_not_numbers(seeded_db):
    judged_by_a_panel(seeded_db, answers_each=6)
    app = sign_in(page("raters"))
    row = app.dataframe[0].value.set_index("rater").loc["Dr Okafor"]
    assert row["position_bias"] == "not enough answers yet (6 of 20 needed)"
    assert row["self_consistency"].startswith("not enough answers yet")


def test_the_lead_sets_the_share_of_repeat_pairs(seeded_db):
    judged_by_a_panel(seeded_db, answers_each=6)
    app = sign_in(page("raters"))
    app.number_input(key="repeat_share").set_value(10.0).run()
    with Store(seeded_db) as store:
        assert store.settings.get("repeat_share") == 0.1


def test_without_answers_the_page_says_so(seeded_db):
    app = sign_in(page("raters"))
    assert not app.exception
    assert "No answers yet" in app.info[0].value


def test_the_lead_decides_what_raters_see_before_any_answer_and_raters_cannot(seeded_db):
    from core.store.blinding import DATES_SHOWN, NOTHING_SHOWN, rater_blinding

    app = sign_in(page("raters"))  # the first rater: the study lead; no answers yet
    choice = app.radio(key="rater_blinding")
    assert choice.value == NOTHING_SHOWN  # the default
    choice.set_value(DATES_SHOWN).run()
    with Store(seeded_db) as store:
        assert rater_blinding(store) == DATES_SHOWN
    rater = sign_in(page("raters"), "Dr Okafor")
    assert not rater.exception and not [r for r in rater.radio if r.key == "rater_blinding"]
