"""A version used outside the study: ``python -m core score`` (severity of image files
that are not imported, written as CSV) and ``python -m core export-model`` (the version
as one ONNX or TorchScript graph with its ``preprocessing.json`` and model card)."""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

from core.store import Store, StoreError

from .common import add_db, existing_study

USER_ERRORS = (StoreError, FileNotFoundError, ValueError)
CSV_COLUMNS = ("source", "patient", "severity", "version")
MODEL_CARD_FILE = "model_card.md"  # written beside an exported graph


def add_version_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", type=int, help="the version number (as on the Training page)")
    parser.add_argument(
        "--dataset",
        help="without --version: the newest finished version serving this dataset; "
        "with --version: check that the version serves it",
    )
    parser.add_argument(
        "--active", action="store_true", help="the active version (of --dataset, if given)"
    )
    add_db(parser)


def add_parsers(commands) -> None:
    scorer = commands.add_parser(
        "score",
        help="score image files with a version, without adding them to the study",
    )
    scorer.add_argument(
        "paths", nargs="+", metavar="PATH", help="folders, image or DICOM files, .npz files"
    )
    scorer.add_argument("--out", required=True, help="the CSV to write (one row per image)")
    scorer.add_argument("--engine", choices=["torch", "onnx"], default="torch")
    scorer.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="torch engine only"
    )
    scorer.add_argument(
        "--exported",
        metavar="DIR",
        help="onnx engine: a folder export-model wrote for this version (saves exporting "
        "it again, which takes a while)",
    )
    add_version_choice(scorer)
    scorer.set_defaults(handler=run_score)

    exporter = commands.add_parser(
        "export-model",
        help="write a version as one ONNX or TorchScript graph with its preprocessing.json",
    )
    exporter.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    exporter.add_argument("--out", required=True, help="the folder to write into")
    add_version_choice(exporter)
    exporter.set_defaults(handler=run_export_model)


def _loaded_version(args: argparse.Namespace, store: Store):
    from core.learning.versions import choose_version, load_version

    row = choose_version(store, args.version, args.dataset, args.active)
    return load_version(store, row)


def run_score(args: argparse.Namespace) -> int:
    """Exit 0 when at least one image was scored, 1 when none could be."""
    from core.importers.reading import read_images
    from core.learning.score_files import make_engine, score_images

    started = time.perf_counter()
    with existing_study(args) as store:
        version = _loaded_version(args, store)
        engine = make_engine(version, args.engine, args.device, args.exported)
        images = read_images(args.paths, store.patients.pseudonym)
        scored, problems = _write_scores(
            Path(args.out),
            score_images(images, engine, version.config.image_size),
            version.row["version"],
        )
    for source, problem in problems:
        print(f"not scored  {source}: {problem}")
    print(
        f"{scored} scored, {len(problems)} could not be read; version {version.row['version']} "
        f"({version.row['method']}), {args.engine} engine, {time.perf_counter() - started:.1f} s"
    )
    if not scored:
        print("Nothing could be scored: no CSV was written.")
        return 1
    print(f"scores: {args.out}")
    return 0


def _write_scores(out: Path, results, version: int) -> tuple[int, list[tuple[str, str]]]:
    """Stream the scored images into ``out`` (written whole or not at all); returns how
    many were scored and the (source, reason) of those that were not."""
    from core.exports import neutralise_formulas

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    scored, problems = 0, []
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for result in results:
                if result.severity is None:
                    problems.append((result.source, result.problem))
                    continue
                source, patient = (neutralise_formulas(t) for t in (result.source, result.patient))
                writer.writerow([source, patient, f"{result.severity:.7g}", version])
                scored += 1
        if scored:
            os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return scored, problems


def run_export_model(args: argparse.Namespace) -> int:
    from core.exports import model_card
    from core.learning.export_model import export_version

    with existing_study(args) as store:
        version = _loaded_version(args, store)
        card = model_card(store, version.row["version"])
    exported = export_version(
        version.net,
        version.anchor,
        version.space,
        version.config,
        version.row,
        args.out,
        args.format,
    )
    card_path = Path(args.out) / MODEL_CARD_FILE
    card_path.write_text(card, encoding="utf-8")
    print(
        f"version {version.row['version']} ({version.row['method']}) written as {args.format}: "
        f"{exported.graph}, preprocessing in {exported.preprocessing} (checked against "
        f"PyTorch to 1e-4), model card in {card_path}"
    )
    return 0
