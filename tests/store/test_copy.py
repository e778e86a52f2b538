import numpy as np
import pytest

from core.cli import main
from core.demo import import_cohort
from core.store import Answer, Store
from core.store.copy import TABLES, CopyError
from core.synthetic import CohortConfig


def _judged_cohort(path):
    with Store(path) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=16))
        rater = store.raters.ensure("Dr Lee")
        a, b, c = store.images.ids()[:3]
        first = store.judgments.append(Answer(a, b, "left", rater, request_token="t1"))
        store.judgments.correct(first, Answer(a, b, "right", rater))
        store.judgments.append(Answer(b, c, "equal", rater))
        store.judgments.undo_last(rater)
        job = store.jobs.submit("train", {"config": {}})
        store.jobs.add_losses(job, [("con", 1, 0.9), ("con", 2, 0.7)])
        model = store.models.create("conpro", {"dataset": None}, job_id=job)["id"]
        store.models.finish(model, "models/model-v1.pt", {"val_macro_f1": 0.5})
        ids = store.images.ids()
        vectors = np.random.default_rng(0).normal(size=(len(ids), 4)).astype(np.float32)
        store.embeddings.save(model, ids, vectors, np.linspace(0, 1, len(ids)))
        store.embeddings.save_projection(model, "pca", ids, vectors[:, :2].astype(float))
        store.embeddings.save_trends(model, [(ids[0], ids[1], 0.2, 0.3, 0.5)])
        store.attributions.save(model, ids[:2], np.ones((2, 4, 4)))
        store.models.chain_ready(model)
        store.models.activate(model)
        store.screens.show(rater, a, c)
        store.settings.set("repeat_share", 0.1)
        return {t: store.one(f"SELECT COUNT(*) AS n FROM {t}")["n"] for t, _ in TABLES}


def test_migrate_db_moves_a_study_to_postgresql_with_every_count_equal(
    tmp_path, postgres_cluster, capsys
):
    source = tmp_path / "app.db"
    counts = _judged_cohort(source)
    target = postgres_cluster.create_database()

    assert main(["migrate-db", "--from", str(source), "--to", target]) == 0

    assert "rows (equal in both)" in capsys.readouterr().out
    with Store(source) as old, Store(target, media_root=tmp_path / "media") as new:
        assert all(counts[table] > 0 for table, _ in TABLES if table != "beliefs"), counts
        for table, order in TABLES:
            assert new.one(f"SELECT COUNT(*) AS n FROM {table}")["n"] == counts[table], table
            assert old.all(f"SELECT * FROM {table} ORDER BY {order}") == new.all(
                f"SELECT * FROM {table} ORDER BY {order}"
            ), table
        # the study goes on there: ids continue, the standing answers are the same
        assert [j["id"] for j in new.judgments.effective()] == [
            j["id"] for j in old.judgments.effective()
        ]
        rater = new.raters.ensure("dr lee")  # the same rater, whatever the case
        a, _, c = new.images.ids()[:3]
        later = new.judgments.append(Answer(a, c, "left", rater))
        assert later == old.judgments.high_water_mark() + 1
        assert new.images.get(a)["pixel_path"] == old.images.get(a)["pixel_path"]


def test_migrate_db_refuses_a_target_that_holds_a_study(tmp_path, postgres_cluster, capsys):
    source = tmp_path / "app.db"
    _judged_cohort(source)
    target = postgres_cluster.create_database()
    assert main(["migrate-db", "--from", str(source), "--to", target]) == 0
    with Store(target, media_root=tmp_path / "media") as new:
        before = new.one("SELECT COUNT(*) AS n FROM judgments")["n"]

    assert main(["migrate-db", "--from", str(source), "--to", target]) == 2
    assert "already holds a study" in capsys.readouterr().err
    with Store(target, media_root=tmp_path / "media") as new:
        assert new.one("SELECT COUNT(*) AS n FROM judgments")["n"] == before


def test_migrate_db_says_when_the_source_is_missing(tmp_path, capsys):
    assert main(["migrate-db", "--from", str(tmp_path / "nope.db"), "--to", "sqlite://"]) == 2
    assert "no database file" in capsys.readouterr().err


def test_a_copy_into_a_store_with_images_raises_and_writes_nothing(tmp_path):
    from core.store.copy import copy_database

    _judged_cohort(tmp_path / "a.db")
    _judged_cohort(tmp_path / "b.db")
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        before = b.one("SELECT COUNT(*) AS n FROM images")["n"]
        with pytest.raises(CopyError, match="already holds"):
            copy_database(a, b)
        assert b.one("SELECT COUNT(*) AS n FROM images")["n"] == before
