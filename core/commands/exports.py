"""A version's results taken out of the study: ``python -m core export`` (its scores,
embeddings, trend calls or projections as CSV or Parquet, read in one snapshot and
streamed) and ``python -m core model-card`` (its model card in Markdown)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.exports.names import BATCH_ROWS, FORMATS, WHATS
from core.store import StoreError

from .common import add_db, existing_study

USER_ERRORS = (StoreError, FileNotFoundError, ValueError)


def add_parsers(commands) -> None:
    exporter = commands.add_parser(
        "export",
        help="write a version's scores, embeddings, trend calls or projections as CSV or "
        "Parquet (columns in the README)",
    )
    exporter.add_argument(
        "what",
        choices=WHATS,
        help="scores: one row per image; embeddings: one column per dimension; trends: "
        "consecutive visits; projections: 2-D and 3-D coordinates per method",
    )
    exporter.add_argument("--version", type=int, required=True, help="the version number")
    exporter.add_argument("--format", required=True, choices=FORMATS)
    exporter.add_argument("--out", required=True, help="the file to write")
    exporter.add_argument(
        "--batch-rows",
        type=int,
        default=BATCH_ROWS,
        help=f"rows read and written at a time (default {BATCH_ROWS}); bounds the memory",
    )
    add_db(exporter)
    exporter.set_defaults(handler=run_export)

    card = commands.add_parser(
        "model-card", help="write a version's model card (Markdown, figures from the study)"
    )
    card.add_argument("--version", type=int, required=True, help="the version number")
    card.add_argument("--out", required=True, help="the Markdown file to write")
    add_db(card)
    card.set_defaults(handler=run_model_card)


def run_export(args: argparse.Namespace) -> int:
    from core.exports import export_version_table

    with existing_study(args) as store:
        report = export_version_table(
            store, args.version, args.what, args.format, args.out, args.batch_rows
        )
    print(report.summary())
    return 0


def run_model_card(args: argparse.Namespace) -> int:
    from core.exports import model_card

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the file to write.")
    with existing_study(args) as store:
        card = model_card(store, args.version)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_text(card, encoding="utf-8")
    os.replace(partial, out)
    print(f"model card of version {args.version}: {out}")
    return 0
