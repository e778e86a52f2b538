"""The model card says what the database holds: change a figure there and the card
changes; answers after the version's snapshot do not count."""

from core.exports import model_card
from core.exports.card_facts import HELD_BACK
from core.exports.tables import TREND_CALLS
from core.store import Store


def test_the_card_holds_the_figures_of_the_database(study):
    with Store(study.location) as store:
        card = model_card(store, study.version)
        activated = store.models.activations()[0]["activated_at"]
        store.models.add_metrics(study.model_id, {"tau_abnormal": 0.333})
        changed = model_card(store, study.version)
    assert "| Severity order, abnormal (test) | 0.612 |" in card
    assert "| Severity order, abnormal (test) | 0.333 |" in changed and "0.612" not in changed
    # five answers stood at its snapshot (an undone one and a later one do not count)
    assert "**5**, from **2** raters (answers per rater: 3, 2)" in card
    assert "repeats (a pair shown again to the same rater): 1 (20.0%)" in card
    assert 'ties (answered "equal"): 1 (20.0%)' in card
    assert "| all | 9 | 9 | 6 | 24 |" in card  # images by split: 3 of 8 patients each
    assert "| image_size | 32 |" in card and "| warm.steps | 25 |" in card
    assert "| Trend F1 (new patients) | 0.444 |" in card and "16 trend calls" in card
    assert f"- activated {activated}; replaced by version" not in card
    assert f"- activated {activated}" in card
    assert "Trained on 32-pixel images" in card
    assert "The synthetic cohort (Synthetic cohort) is not clinical data" in card


def test_a_held_back_retrain_shows_its_parent_comparison_and_reason(study):
    with Store(study.location) as store:
        card = model_card(store, study.unscored_version)
    assert "| Trained | warm, continued from version 1 |" in card
    assert "new minus active **-0.081**, 95% interval [-0.152, -0.013] over 9 patients" in card
    assert "| tau | -0.070 |" in card
    assert "- never activated" in card
    assert "- held back: worse than the active v1 on the same validation images" in card
    assert "**6**, from **3** raters" in card  # its snapshot includes the later answer
    assert "It has scored no image yet" in card


def test_a_roll_forward_is_in_the_history_of_the_version_it_replaced(study):
    with Store(study.location) as store:
        store.models.chain_ready(study.unscored_id)
        store.models.activate(study.unscored_id)
        replaced_at = store.models.activations()[-1]["activated_at"]
        card = model_card(store, study.version)
    assert f"; replaced by version 2 at {replaced_at}" in card


def test_the_names_the_card_and_exports_read_are_the_workers():
    from core.learning.method_info import TRENDS
    from core.worker.activation import HELD_BACK as WORKERS_KEY

    assert HELD_BACK == WORKERS_KEY
    assert TREND_CALLS == TRENDS
