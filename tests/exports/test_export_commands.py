"""``python -m core export`` and ``python -m core model-card``: a file and a one-line
summary, or, for a request that cannot be met, a one-line reason, exit status 2 and no
file."""

import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.store import Store
from tests.exports.version_study import build_study


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip().splitlines(), err.strip().splitlines()


def test_export_and_model_card_write_their_files(study, tmp_path, capsys):
    out = tmp_path / "out" / "scores.parquet"
    code, printed, _ = run(
        capsys,
        "export",
        "--version",
        str(study.version),
        "scores",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--db",
        study.location,
    )
    assert code == 0 and printed == [
        f"scores of version 1: {study.images} rows written to {out} (parquet)"
    ]
    assert len(pd.read_parquet(out)) == study.images
    card = tmp_path / "card.md"
    code, printed, _ = run(
        capsys, "model-card", "--version", "1", "--out", str(card), "--db", study.location
    )
    assert code == 0 and card.read_text().startswith("# Model card: version 1")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (
            ["export", "--version", "99", "scores"],
            "There is no version 99 in this study (they are numbered 1 to 2).",
        ),
        (
            ["export", "--version", "2", "embeddings"],
            "Version 2 has no scores or embeddings yet: its embed job has not finished.",
        ),
        (
            ["model-card", "--version", "0"],
            "There is no version 0 in this study (they are numbered 1 to 2).",
        ),
    ],
)
def test_a_request_that_cannot_be_met_is_one_line_and_exit_status_2(
    study, tmp_path, capsys, argv, reason
):
    out = tmp_path / "out" / "file"
    options = ["--out", str(out), "--db", study.location]
    if argv[0] == "export":
        options += ["--format", "csv"]
    code, printed, errors = run(capsys, *argv, *options)
    assert (code, printed, errors) == (2, [], [f"error: {reason}"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_version_without_its_map_has_no_projections_to_export(study, tmp_path, capsys):
    with Store(study.location) as store:
        ids, vectors, severity = store.embeddings.vectors(study.model_id)
        store.embeddings.save(study.unscored_id, ids, vectors, severity)
    code, _, errors = run(
        capsys,
        "export",
        "--version",
        "2",
        "projections",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "p.csv"),
        "--db",
        study.location,
    )
    assert (code, errors) == (2, ["error: Version 2 has no projections: not yet."])


def test_export_model_writes_the_model_card_beside_the_graph(tmp_path, monkeypatch, capsys):
    """The graph itself is tested in tests/learning/test_export_model.py; here the
    version's loading and export are stand-ins (on SQLite: nothing here differs)."""
    study = build_study(str(tmp_path / "app.db"))
    import core.commands.scoring as scoring

    def loaded(args, store):
        return types.SimpleNamespace(
            row=store.models.by_version(args.version), net=None, anchor=None, space="", config=None
        )

    def exported(net, anchor, space, config, row, out, fmt):
        Path(out).mkdir(parents=True)  # as export_version does
        return types.SimpleNamespace(graph=f"{out}/model.onnx", preprocessing="p.json")

    monkeypatch.setattr(scoring, "_loaded_version", loaded)
    # a stand-in module: the real one loads torch, which this test does not need
    stand_in = types.SimpleNamespace(export_version=exported)
    monkeypatch.setitem(sys.modules, "core.learning.export_model", stand_in)
    code, printed, _ = run(
        capsys,
        "export-model",
        "--version",
        "1",
        "--format",
        "onnx",
        "--out",
        str(tmp_path / "model"),
        "--db",
        study.location,
    )
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert code == 0 and "model card in" in printed[-1]
    assert card.startswith("# Model card: version 1") and "0.612" in card
