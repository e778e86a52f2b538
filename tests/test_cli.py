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
