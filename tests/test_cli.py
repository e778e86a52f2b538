import json
import subprocess
import sys

from core.cli import main
from core.store import Store


def test_import_writes_a_report_and_exits_zero_with_rejections(tmp_path, make_png, capsys):
    make_png(tmp_path / "in" / "a.png", seed=1)
    (tmp_path / "in" / "bad.png").write_bytes(b"")
    code = main(
        [
            "import",
            str(tmp_path / "in"),
            "--db",
            str(tmp_path / "app.db"),
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"] == {"imported": 1, "duplicate": 0, "rejected": 1}
    assert "rejected  bad.png: The file is empty" in capsys.readouterr().out


def test_missing_source_is_a_one_line_error(tmp_path, capsys):
    assert main(["import", str(tmp_path / "nowhere"), "--db", str(tmp_path / "app.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_unreadable_database_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    assert main(["demo", "--db", str(tmp_path / "junk.db")]) == 2
    assert "Cannot open the database" in capsys.readouterr().err


def test_database_path_comes_from_the_environment(tmp_path, make_png):
    make_png(tmp_path / "in" / "a.png")
    env_db = tmp_path / "env.db"
    subprocess.run(
        [sys.executable, "-m", "core", "import", str(tmp_path / "in")],
        check=True,
        capture_output=True,
        env={"SEVERITY_DB": str(env_db), "PATH": ""},
    )
    with Store(env_db) as store:
        assert store.images.count() == 1


def test_raters_prints_the_table_and_writes_it_keyed_by_name(tmp_path, capsys):
    from core.demo import import_cohort
    from core.simulation import SimulatedRater, judge_pairs, truth_of
    from core.synthetic import CohortConfig

    db = tmp_path / "app.db"
    with Store(db) as store:
        assert main(["raters", "--db", str(db)]) == 0
        assert "No answers yet" in capsys.readouterr().out
        import_cohort(store, CohortConfig(patients=4, image_size=16))
        truth = truth_of(store)
        ids = sorted(truth)
        pairs = [(ids[k], ids[k + 1]) for k in range(len(ids) - 1)]
        lefty = SimulatedRater("Dr Left", left_bias=1.0, noise=1.0, seed=0)
        judge_pairs(store, lefty, pairs, truth)
    assert main(["raters", "--db", str(db), "--json", str(tmp_path / "r.json")]) == 0
    assert "Dr Left" in capsys.readouterr().out
    row = json.loads((tmp_path / "r.json").read_text())["raters"]["Dr Left"]
    fields = {"answers", "self_consistency", "position_bias", "position_bias_p"}
    fields |= {"agreement_consensus", "agreement_model", "cycles", "reliability"}
    assert fields | {"median_response_s"} <= set(row)
    assert row["answers"] == len(pairs)
    assert row["position_bias"] > 0.8  # noise 1 on a 0-1 truth: nearly always unsure
    assert row["self_consistency"] is None and "not enough" in row["notes"]["self_consistency"]


def test_a_training_job_from_the_command_line_names_its_dataset_by_id_or_name(
    tmp_path, make_png, capsys
):
    make_png(tmp_path / "in" / "a.png", seed=1)
    db = str(tmp_path / "app.db")
    assert main(["import", str(tmp_path / "in"), "--dataset", "clinic", "--db", db]) == 0
    with Store(db) as store:
        clinic = store.datasets.by_name("clinic")["id"]
        store.settings.set("train_defaults", {"method": "conpro", "batch_size": 8})
    submit = ["jobs", "submit", "train", "--db", db, "--param"]

    assert main([*submit, f"dataset_id={clinic}", "--param", "comcl.patch_weight=0"]) == 0
    assert main([*submit, "dataset=clinic", "--param", "epochs=3"]) == 0

    with Store(db) as store:
        by_id, by_name = sorted(store.jobs.list(), key=lambda j: j["id"])
    assert by_id["params"]["dataset_id"] == by_name["params"]["dataset_id"] == clinic
    assert by_id["params"]["config"]["comcl"]["patch_weight"] == 0
    assert by_name["params"]["config"]["epochs"] == 3
    assert by_name["params"]["config"]["batch_size"] == 8  # the study's training defaults
    capsys.readouterr()
    assert main([*submit, "dataset_id=99"]) == 2
    assert capsys.readouterr().err.strip() == "error: There is no dataset number 99."


def test_training_options_keep_the_base_recipes_stem_unless_a_size_is_asked_for():
    import argparse

    from core.commands.training import config_from_args
    from core.learning.recipes import FIRST_MODEL

    def args(**given):
        names = ("epochs", "image_size", "backbone", "device", "batch_size", "pairs")
        return argparse.Namespace(**{n: given.get(n) for n in names})

    kept = config_from_args(args(epochs=3.0), FIRST_MODEL)
    assert kept.small_input is FIRST_MODEL.small_input is False
    assert kept.epochs == 3.0 and kept.pairs_per_phase is None  # passes replace the budget
    assert config_from_args(args(image_size=48), FIRST_MODEL).small_input is True
    assert config_from_args(args(image_size=224), FIRST_MODEL).small_input is False
