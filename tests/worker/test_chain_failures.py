"""A version whose embed or project step fails is marked so, with the reason; it cannot
be activated, auto-retrain pauses instead of repeating the failure, and a retry (or
``python -m core check`` for an old unloadable checkpoint) brings it back."""

import numpy as np
import pytest
import torch

import core.learning.from_store as from_store
import core.worker.handlers as handlers
from core.cli import main
from core.commands.worker import print_jobs
from core.store import Store
from core.worker.autoretrain import maybe_queue_retrains
from core.worker.status import map_note, retrain_blocker
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import add_judgments, train_params


def _legacy_save(path, result, metrics):
    """How the first release saved: metrics unconverted, a numpy scalar among them."""
    torch.save(
        {
            "state_dict": result.net.state_dict(),
            "anchor": result.anchor,
            "score_space": result.method.score_space,
            "config": result.config.to_dict(),
            "metrics": {**metrics, "val_judgment_agreement": np.float64(0.5)},
        },
        path,
    )
    return path


@pytest.fixture
def broken_second_version(cohort_db, monkeypatch):
    """Version 1 works and is active; version 2's checkpoint cannot be loaded safely."""
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    with monkeypatch.context() as patched:
        patched.setattr(from_store, "save_checkpoint", _legacy_save)
        with Store(cohort_db) as store:
            store.jobs.submit("train", train_params(seed=4))
        run_worker_until_idle(cohort_db)
    return cohort_db


def test_a_failed_chain_is_visible_and_contained(broken_second_version, capsys):
    with Store(broken_second_version) as store:
        second = store.models.newest()
        assert second["version"] == 2 and second["chain"] == "failed"
        assert "embed job" in second["error"] and "cannot be loaded safely" in second["error"]
        assert store.models.active()["version"] == 1  # the working version stays in use
        with pytest.raises(ValueError, match="cannot be activated: its map could not be made"):
            store.models.activate(second["id"])
        assert "Version 2 has no map" in map_note(store)

        add_judgments(store, 60)
        assert maybe_queue_retrains(store) == []  # not a third version that fails the same way
        assert "Automatic retraining is paused: Version 2" in retrain_blocker(store)
        print_jobs(store)
    printed = capsys.readouterr().out
    assert "! Version 2 has no map" in printed and "Retry job" in printed
    assert "! Automatic retraining is paused" in printed


def test_check_repairs_the_checkpoint_and_the_chain_then_runs(broken_second_version, capsys):
    db = str(broken_second_version)
    assert main(["check", "--db", db, "--no-repair"]) == 1
    assert "problem   version 2" in capsys.readouterr().out
    assert main(["check", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "repaired  version 2" in out and "retrying its embed job" in out
    with Store(db) as store:
        assert store.models.newest()["chain"] == "pending"
        (retry,) = [j for j in store.jobs.list() if j["retry_of"]]
        assert retry["kind"] == "embed" and retry["params"]["activate_if_better"] is True
    run_worker_until_idle(db)
    with Store(db) as store:
        second = store.models.newest()
        assert second["chain"] == "ready" and second["error"] is None
        assert len(store.embeddings.available_projections(second["id"])) == 4
        store.models.activate(second["id"])
        assert retrain_blocker(store) is None and map_note(store) is None
        add_judgments(store, 60)
        assert maybe_queue_retrains(store) != []


def test_a_failed_embed_job_can_be_retried(cohort_db, monkeypatch):
    calls = {"n": 0}
    real = handlers.embed_into_store

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("out of memory (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(handlers, "embed_into_store", flaky)
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        model = store.models.newest()
        assert model["chain"] == "failed" and "out of memory" in model["error"]
        assert store.models.active() is None  # never activated without a map
        failed = store.jobs.latest_for_model(model["id"])
        retry = store.jobs.retry(failed["id"])
        assert store.jobs.retry(failed["id"]) == retry  # a second click queues nothing more
        with pytest.raises(ValueError, match="only failed or cancelled"):
            store.jobs.retry(retry)
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        model = store.models.newest()
        assert model["chain"] == "ready" and model["active"] == 1  # first version: activated


def test_check_requeues_a_loadable_version_whose_map_was_never_made(cohort_db, capsys):
    with Store(cohort_db) as store:
        store.jobs.submit("train", train_params())
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:  # a version from before chain states: no map, no job
        first = store.models.active()
        orphan = store.models.create("conpro", first["config"])
        store.models.finish(orphan["id"], first["checkpoint_path"], {"val_macro_f1": 0.0})
    assert main(["check", "--db", str(cohort_db), "--no-repair"]) == 0
    with Store(cohort_db) as store:
        assert store.jobs.latest_for_model(orphan["id"]) is None  # report only: nothing queued
    assert main(["check", "--db", str(cohort_db)]) == 0
    assert "queued its embed job" in capsys.readouterr().out
    run_worker_until_idle(cohort_db)
    with Store(cohort_db) as store:
        assert store.models.get(orphan["id"])["chain"] == "ready"
