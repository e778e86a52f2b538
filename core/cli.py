"""Command-line interface. Each sub-command parses its options and calls one builder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.importers import ManifestError, NpzFormatError, import_source
from core.paths import resolve_db_path
from core.store import Store, StoreError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Severity Studio")
    commands = parser.add_subparsers(dest="command", required=True)

    importer = commands.add_parser("import", help="import images, DICOM or a MedMNIST .npz")
    importer.add_argument("src", help="a folder, an image / DICOM file, or a .npz file")
    importer.add_argument("--manifest", help="CSV describing the files (file, patient_id, ...)")
    importer.add_argument("--dataset", help="dataset name (default: the source's name)")
    importer.add_argument("--report", help="write the per-file report as JSON here")
    _add_db(importer)

    demo = commands.add_parser("demo", help="seed the demo data (idempotent)")
    _add_db(demo)

    check = commands.add_parser(
        "check", help="check the database and every version's checkpoint; repair what it can"
    )
    check.add_argument("--no-repair", action="store_true", help="only report")
    _add_db(check)

    raters = commands.add_parser(
        "raters", help="rater quality: consistency, agreement, position bias, cycles, trust"
    )
    raters.add_argument("--json", help="also write the table (keyed by rater name) here")
    _add_db(raters)

    migrate = commands.add_parser(
        "migrate-db",
        help="copy a whole study to another database (e.g. SQLite to PostgreSQL), "
        "with every table's count checked",
    )
    migrate.add_argument("--from", dest="source", required=True, help="SQLite file or URL")
    migrate.add_argument("--to", dest="target", required=True, help="postgresql://... (empty)")

    from core.learning.commands import add_parsers as add_learning_parsers
    from core.worker.commands import add_parsers as add_worker_parsers

    add_learning_parsers(commands)
    add_worker_parsers(commands, _add_db)
    return parser


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default: $SEVERITY_DB or data/app.db)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to relaunch on several processes
    if args.command in ("train", "bench", "trend-bench", "sim-bench"):
        return _learning(args)
    if args.command in ("worker", "jobs"):
        return _worker(args)
    if args.command == "migrate-db":
        return _migrate_db(args.source, args.target)
    try:
        with Store(resolve_db_path(args.db)) as store:
            if args.command == "import":
                return _import(store, args)
            if args.command == "demo":
                return _demo(store)
            if args.command == "check":
                return _check(store, repair=not args.no_repair)
            if args.command == "raters":
                return _raters(store, args.json)
    except (StoreError, FileNotFoundError, ManifestError, NpzFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _migrate_db(source: str, target: str) -> int:
    from core.store.copy import copy_database
    from core.store.database import is_postgres_url, safe_location, sqlite_file

    if not is_postgres_url(source) and not Path(sqlite_file(source)).is_file():
        print(f"error: there is no database file at {source}", file=sys.stderr)
        return 2
    try:
        # the pixels stay where they are: the new database names the same media folder
        with Store(source) as old, Store(target, media_root=old.media_root) as new:
            report = copy_database(old, new)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for table, n in report.counts.items():
        print(f"{table:<18} {n:>9} rows (equal in both)")
    print(
        f"copied {safe_location(source)} to {safe_location(target)}. Images and checkpoints "
        f"stay in {old.media_root}: point $SEVERITY_MEDIA there (or copy the folder to the "
        "shared media store) on every machine that uses the new database."
    )
    return 0


def _learning(args: argparse.Namespace) -> int:
    from core.learning.commands import run_bench, run_sim_bench, run_train, run_trend_bench

    runners = {
        "train": run_train,
        "bench": run_bench,
        "trend-bench": run_trend_bench,
        "sim-bench": run_sim_bench,
    }
    try:
        return runners[args.command](args)
    except (StoreError, FileNotFoundError, NpzFormatError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _worker(args: argparse.Namespace) -> int:
    from core.worker.commands import run_jobs, run_worker

    try:
        return run_worker(args) if args.command == "worker" else run_jobs(args)
    except (StoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _import(store: Store, args: argparse.Namespace) -> int:
    report = import_source(store, Path(args.src), args.dataset, args.manifest)
    for outcome in report.outcomes:
        if outcome.status == "rejected":
            print(f"rejected  {outcome.file}: {outcome.reason}")
    print(report.summary())
    if args.report:
        report.write_json(args.report)
    return 0


def _demo(store: Store) -> int:
    from core.demo import seed_demo

    for name, report in seed_demo(store).items():
        print(f"{name}: {report.summary()}")
    return 0


def _raters(store: Store, json_path: str | None) -> int:
    import json

    from core.raters import rater_report

    report = rater_report(store)
    if not report.raters:
        print("No answers yet: there is nothing to measure.")
    else:
        print(report.table().to_string(index=False))
        panel = report.plain()["panel"]
        print(
            f"\nKrippendorff's alpha (ordinal): {report.alpha.text()} over "
            f"{report.alpha.n} pairs answered by two or more raters; percent agreement: "
            f"{report.percent_agreement.text()}; cycles in the majority graph: "
            f"{len(panel['majority_cycles'])}"
        )
    if json_path:
        Path(json_path).write_text(json.dumps(report.plain(), indent=2))
    return 0


def _check(store: Store, repair: bool) -> int:
    """Exit 0 when nothing needs a person's attention after the repairs, else 1."""
    from core.health import check_store

    findings = check_store(store, repair=repair)
    for finding in findings:
        print(f"{finding.state:<9} {finding.subject}: {finding.detail}")
    return 1 if any(f.needs_attention for f in findings) else 0
