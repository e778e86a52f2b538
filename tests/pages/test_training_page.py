from core.learning.recipes import FIRST_MODEL, steps_per_phase
from core.store import Store
from tests.pages.conftest import page, sign_in


def test_queue_a_training_job_from_the_form(seeded_db):
    app = sign_in(page("training"))
    assert not app.exception
    app.selectbox[0].set_value("semise")
    # the first-run recipe's budget is fixed, so the form asks for steps a phase
    assert app.number_input[0].label == "Steps per phase"
    assert app.number_input[0].value == steps_per_phase(FIRST_MODEL) == 300
    app.number_input[0].set_value(40)
    app.button[0].click().run()  # the form's submit button
    with Store(seeded_db) as store:
        (job,) = store.jobs.list()
        config = job["params"]["config"]
        assert job["kind"] == "train" and config["method"] == "semise"
        assert config["pairs_per_phase"] == 40 * FIRST_MODEL.batch_size
        assert config["pro_batchnorm"] == "mixed" and config["small_input"] is False


def test_defaults_in_passes_are_asked_for_in_epochs(seeded_db):
    with Store(seeded_db) as store:
        store.settings.set("train_defaults", {"epochs": 4.0, "pairs_per_phase": None})
    app = sign_in(page("training"))
    assert app.number_input[0].label == "Epochs"
    assert app.number_input[0].value == 4.0
    app.number_input[0].set_value(3.0)
    app.button[0].click().run()
    with Store(seeded_db) as store:
        (job,) = store.jobs.list()
        assert job["params"]["config"]["epochs"] == 3.0
        assert job["params"]["config"]["pairs_per_phase"] is None


def test_cancel_a_queued_job_and_change_the_retrain_setting(seeded_db):
    with Store(seeded_db) as store:
        job = store.jobs.submit("train")
    app = sign_in(page("training"))
    app.button(key=f"cancel_{job}").click().run()
    app.number_input[1].set_value(20).run()
    with Store(seeded_db) as store:
        assert store.jobs.get(job)["status"] == "cancelled"
        assert store.settings.get("auto_retrain_every") == 20


def test_versions_are_listed_and_can_be_rolled_back(modelled_db):
    with Store(modelled_db) as store:
        first = store.models.active()
        second = store.models.create("conpro", first["config"], parent_id=first["id"])
        store.models.finish(second["id"], first["checkpoint_path"], {"val_macro_f1": 0.1})
        store.models.chain_ready(second["id"])  # as its project job would on success
    app = sign_in(page("training"))
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["version"]) == [2, 1]
    assert list(table["trained"]) == ["warm from v1", "from scratch"]
    # version 1 went through the worker's embed job: its trend calls were scored on
    # test-split patients; version 2 (no embed job) has no such figure
    held_out = dict(zip(table["version"], table["Trend F1 (new patients)"], strict=True))
    assert 0.0 <= held_out[1] <= 1.0 and held_out[2] != held_out[2]  # NaN: not measured
    app.selectbox[0].set_value(next(o for o in app.selectbox[0].options if o.startswith("v2")))
    next(b for b in app.button if b.label == "Activate").click().run()
    with Store(modelled_db) as store:
        assert store.models.active()["version"] == 2
        assert store.models.get(first["id"])["status"] == "retired"
        store.models.activate(first["id"])  # and back again
        assert store.models.active()["version"] == 1


def test_a_held_back_version_shows_its_comparison_and_why_it_is_not_active(
    modelled_db, monkeypatch
):
    """What the worker's activation step records (core.worker.activation.judge) is what
    the table shows: new minus active with its interval, and the reason. (The small
    cohort has under 5 validation patients: the floor is lowered to show the table.)"""
    import core.learning.comparison as comparison
    from core.worker.activation import judge

    monkeypatch.setattr(comparison, "MIN_PATIENTS", 2)

    with Store(modelled_db) as store:
        first = store.models.active()
        second = store.models.create("conpro", first["config"], parent_id=first["id"])
        store.models.finish(second["id"], first["checkpoint_path"], {})
        ids, vectors, severity = store.embeddings.vectors(first["id"])
        store.embeddings.save(second["id"], ids, vectors, -severity)  # the order reversed
        store.models.chain_ready(second["id"])
        verdict = judge(store, store.models.get(second["id"]))
        store.models.add_metrics(second["id"], verdict.record)
    assert not verdict.activate
    app = sign_in(page("training"))
    assert not app.exception
    table = app.dataframe[0].value
    row = table[table["version"] == 2].iloc[0]
    low, high = verdict.record["vs_active_low"], verdict.record["vs_active_high"]
    assert row["against active"].endswith(f"[{low:+.3f}, {high:+.3f}] vs v1")
    assert row["problem"].startswith("not activated: worse than the active v1")
    assert table[table["version"] == 1].iloc[0]["problem"] == ""


def test_a_version_whose_map_failed_says_why_and_its_job_can_be_retried(modelled_db):
    with Store(modelled_db) as store:
        first = store.models.active()
        second = store.models.create("conpro", first["config"])
        store.models.finish(second["id"], first["checkpoint_path"], {"val_macro_f1": 0.9})
        job = store.jobs.submit("embed", {"model_id": second["id"]})
        store.jobs.claim("test-worker")
        store.jobs.finish(job, "failed", error="simulated failure")
        store.jobs.fail_chain(store.jobs.get(job), "simulated failure")
    app = sign_in(page("training"))
    assert not app.exception
    table = app.dataframe[0].value
    row = table[table["version"] == 2].iloc[0]
    assert row["map"] == "failed" and "simulated failure" in row["problem"]
    assert not any(o.startswith("v2") for o in app.selectbox[0].options)  # cannot activate
    assert any("Automatic retraining is paused" in e.value for e in app.error)
    app.button(key=f"retry_{job}").click().run()
    with Store(modelled_db) as store:
        (retry,) = [j for j in store.jobs.list() if j["retry_of"] == job]
        assert retry["status"] == "queued" and store.models.get(second["id"])["chain"] == "pending"


def test_a_rater_who_is_not_a_lead_gets_no_controls(modelled_db):
    with Store(modelled_db) as store:
        store.raters.ensure("Dr Lead")  # the first rater of the database leads the study
        store.jobs.submit("train")
    app = sign_in(page("training"), "Dr Rater")
    assert not app.exception
    assert len(app.dataframe) == 1  # the versions are visible to everyone
    labels = {b.label for b in app.button}
    assert not labels & {"Activate", "Queue training", "Cancel", "Retry"}
    assert not app.number_input and not app.get("form")
    assert "Study leads" in " ".join(c.value for c in app.caption)


def test_readable_metrics_a_loss_curve_and_activations_across_versions(modelled_db):
    import json

    with Store(modelled_db) as store:
        first = store.models.active()
        train_job = next(j for j in store.jobs.list() if j["kind"] == "train")
        recorded = store.jobs.losses(train_job["id"])
        second = store.models.create("conpro", first["config"])
        store.models.finish(second["id"], first["checkpoint_path"], {"tau_abnormal": 0.2})
        store.models.chain_ready(second["id"])
        store.models.activate(second["id"])
        store.models.activate(first["id"])  # and back: a roll back
    assert len(recorded) > 3 and {p["phase"] for p in recorded} >= {"pro"}
    app = sign_in(page("training"))
    assert not app.exception
    columns = list(app.dataframe[0].value.columns)
    assert "Severity order, abnormal (test)" in columns and "tau_abnormal" not in columns
    charts = {c.proto.id.split("-")[-1]: json.loads(c.proto.spec) for c in app.get("plotly_chart")}
    by_version = next(
        s for s in charts.values() if any(t.get("name") == "activated" for t in s["data"])
    )
    marks = [
        (t["name"], t["x"][0])
        for t in by_version["data"]
        if t.get("name") in ("activated", "rolled back to")
    ]
    assert marks[-1] == ("rolled back to", 1) and ("activated", 2) in marks
    curve = next(
        s
        for s in charts.values()
        if s["layout"].get("yaxis", {}).get("title", {}).get("text") == "loss"
    )
    assert sum(len(t["x"]["bdata"]) > 0 for t in curve["data"]) >= 1


def test_the_form_starts_from_the_studys_training_defaults_and_names_the_dataset(seeded_db):
    with Store(seeded_db) as store:
        store.settings.set(
            "train_defaults", {"method": "semise", "epochs": 3.0, "image_size": 48, "batch_size": 8}
        )
        cohort = store.datasets.list()[0]["id"]
    app = sign_in(page("training"))

    assert app.selectbox[0].value == "semise" and app.number_input[0].value == 3.0
    assert app.selectbox[1].value == 48
    app.button[0].click().run()

    with Store(seeded_db) as store:
        (job,) = store.jobs.list()
    assert job["params"]["dataset_id"] == cohort
    assert job["params"]["config"]["batch_size"] == 8  # kept from the defaults


def test_only_a_study_lead_gets_the_model_card(seeded_db):
    from tests.exports.version_study import add_scored_version

    with Store(seeded_db) as store:
        add_scored_version(store)
    lead = sign_in(page("training"), "Dr Lead")
    assert not lead.exception
    assert lead.selectbox(key="card_version").options == ["v1 · conpro · active"]
    assert lead.download_button(key="model_card_download").label == "Model card"
    rater = sign_in(page("training"), "Dr Rater")
    assert not rater.exception
    assert not rater.download_button
    assert "card_version" not in {s.key for s in rater.selectbox}


def test_only_a_study_lead_turns_the_maps_on_for_compare_and_they_start_off(seeded_db):
    from core.store import Store

    lead = sign_in(page("training"), "Dr Lead")  # the database's first rater
    assert lead.toggle(key="compare_attributions").value is False
    lead.toggle(key="compare_attributions").set_value(True).run()
    assert not lead.exception
    with Store(seeded_db) as store:
        assert store.attributions.shown_on_compare() is True
    rater = sign_in(page("training"), "Dr Rater")
    assert not [t for t in rater.toggle if t.key == "compare_attributions"]
    lead = sign_in(page("training"), "Dr Lead")
    assert lead.toggle(key="compare_attributions").value is True
    lead.toggle(key="compare_attributions").set_value(False).run()
    with Store(seeded_db) as store:
        assert store.attributions.shown_on_compare() is False


def test_a_job_whose_worker_went_silent_says_who_and_when_another_took_it_over(seeded_db):
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()  # every heartbeat is stale
    with Store(seeded_db) as store:
        gave_up = store.jobs.submit("train")
        assert store.jobs.claim("worker-gone")["id"] == gave_up
        assert store.jobs.recover_stale(later, max_attempts=1) == [gave_up]
        taken = store.jobs.submit("train")
        store.jobs.claim("worker-silent")
        assert store.jobs.recover_stale(later) == [taken]
        assert store.jobs.claim("worker-second")["id"] == taken
        started = datetime.fromisoformat(store.jobs.get(taken)["started_at"])
    app = sign_in(page("training"))
    assert not app.exception
    notes = [c.value for c in app.caption if "sync_problem" in c.value]
    assert notes == [
        ":material/sync_problem: Worker worker-silent stopped answering during this job; "
        f"another worker took it over at {started:%H:%M} UTC.",
        ":material/sync_problem: Failed after 1 attempt: its worker stopped answering each "
        "time, so it was not tried again.",
    ]


def test_a_lead_deletes_a_version_with_what_it_produced_but_never_the_one_in_use(modelled_db):
    import numpy as np

    with Store(modelled_db) as store:
        first = store.models.active()
        second = store.models.create("conpro", first["config"])
        store.models.finish(second["id"], "models/second.pt", {"tau_abnormal": 0.3})
        store.models.chain_ready(second["id"])
        ids, vectors, severity = store.embeddings.vectors(first["id"])
        store.embeddings.save(second["id"], ids, vectors, severity)
        store.embeddings.save_projection(second["id"], "pca", ids, vectors[:, :2])
        store.attributions.save(second["id"], ids, np.ones((len(ids), 4, 4)))
        store.attributions.save(first["id"], ids, np.ones((len(ids), 4, 4)))
        checkpoint = store.media_path("models/second.pt")
        checkpoint.write_bytes(b"weights")
    app = sign_in(page("training"))
    picker = app.selectbox(key="delete_version")
    label = {option.split(" ·")[0]: option for option in picker.options}

    picker.set_value(label["v1"]).run()  # the version in use: refused in words, not asked
    app.button(key="delete_start").click().run()
    assert not app.exception
    assert any("version in use" in e.value and "Activate another" in e.value for e in app.error)
    assert "delete_confirm" not in {b.key for b in app.button}

    app.selectbox(key="delete_version").set_value(label["v2"]).run()
    app.button(key="delete_start").click().run()
    assert any("cannot be brought back" in w.value for w in app.warning)
    with Store(modelled_db) as store:
        assert store.models.get(second["id"])  # nothing happens before the confirmation
    app.button(key="delete_confirm").click().run()
    assert not app.exception
    assert any("Version 2 was deleted" in s.value for s in app.success)
    assert list(app.dataframe[0].value["version"]) == [1]
    with Store(modelled_db) as store:
        assert [m["version"] for m in store.models.list()] == [1]
        for table in ("embeddings", "projections", "attribution_maps"):
            sql = f"SELECT COUNT(*) AS n FROM {table} WHERE model_id = ?"
            assert store.one_row(sql, [second["id"]])["n"] == 0
        assert store.attributions.count(first["id"]) == len(ids)  # the active one's stay
        assert store.embeddings.vectors(first["id"])[0] == ids
    assert not checkpoint.exists() and store.media_path(first["checkpoint_path"]).exists()

    rater = sign_in(page("training"), "Dr Rater")
    assert not rater.exception
    assert not {"delete_start", "delete_confirm"} & {b.key for b in rater.button}
    assert "delete_version" not in {s.key for s in rater.selectbox}


def test_a_lead_who_thinks_again_keeps_the_version(modelled_db):
    with Store(modelled_db) as store:
        first = store.models.active()
        second = store.models.create("conpro", first["config"])
        store.models.finish(second["id"], "models/second.pt", {})
    app = sign_in(page("training"))
    picker = app.selectbox(key="delete_version")
    picker.set_value(next(o for o in picker.options if o.startswith("v2"))).run()
    app.button(key="delete_start").click().run()
    app.button(key="delete_cancel").click().run()
    assert not app.exception
    assert not any("cannot be brought back" in w.value for w in app.warning)
    with Store(modelled_db) as store:
        assert [m["version"] for m in store.models.list()] == [2, 1]
