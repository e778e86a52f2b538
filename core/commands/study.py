"""The study's own commands: ``import``, ``demo``, ``check``, ``raters`` and
``migrate-db``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.importers import ManifestError, NpzFormatError, import_source
from core.paths import resolve_db_path
from core.store import Store, StoreError

from .common import add_db

USER_ERRORS = (StoreError, FileNotFoundError, ManifestError, NpzFormatError)


def add_parsers(commands) -> None:
    importer = commands.add_parser("import", help="import images, DICOM or a MedMNIST .npz")
    importer.add_argument("src", help="a folder, an image / DICOM file, or a .npz file")
    importer.add_argument("--manifest", help="CSV describing the files (file, patient_id, ...)")
    importer.add_argument("--dataset", help="dataset name (default: the source's name)")
    importer.add_argument("--report", help="write the per-file report as JSON here")
    importer.set_defaults(handler=run_import)
    add_db(importer)

    demo = commands.add_parser("demo", help="seed the demo data (idempotent)")
    demo.set_defaults(handler=run_demo)
    add_db(demo)

    check = commands.add_parser(
        "check", help="check the database and every version's checkpoint; repair what it can"
    )
    check.add_argument("--no-repair", action="store_true", help="only report")
    check.set_defaults(handler=run_check)
    add_db(check)

    raters = commands.add_parser(
        "raters", help="rater quality: consistency, agreement, position bias, cycles, trust"
    )
    raters.add_argument("--json", help="also write the table (keyed by rater name) here")
    raters.set_defaults(handler=run_raters)
    add_db(raters)

    migrate = commands.add_parser(
        "migrate-db",
        help="copy a whole study to another database (e.g. SQLite to PostgreSQL), "
        "with every table's count checked",
    )
    migrate.add_argument("--from", dest="source", required=True, help="SQLite file or URL")
    migrate.add_argument("--to", dest="target", required=True, help="postgresql://... (empty)")
    migrate.set_defaults(handler=run_migrate_db)


def run_import(args: argparse.Namespace) -> int:
    with Store(resolve_db_path(args.db)) as store:
        report = import_source(store, Path(args.src), args.dataset, args.manifest)
    for outcome in report.outcomes:
        if outcome.status == "rejected":
            print(f"rejected  {outcome.file}: {outcome.reason}")
    print(report.summary())
    if args.report:
        report.write_json(args.report)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from core.demo import seed_demo

    with Store(resolve_db_path(args.db)) as store:
        for name, report in seed_demo(store).items():
            print(f"{name}: {report.summary()}")
    return 0


def run_raters(args: argparse.Namespace) -> int:
    from core.raters import rater_report

    with Store(resolve_db_path(args.db)) as store:
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
    if args.json:
        Path(args.json).write_text(json.dumps(report.plain(), indent=2))
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 when nothing needs a person's attention after the repairs, else 1."""
    from core.health import check_store

    with Store(resolve_db_path(args.db)) as store:
        findings = check_store(store, repair=not args.no_repair)
    for finding in findings:
        print(f"{finding.state:<9} {finding.subject}: {finding.detail}")
    return 1 if any(f.needs_attention for f in findings) else 0


def run_migrate_db(args: argparse.Namespace) -> int:
    from core.store.copy import copy_database
    from core.store.database import is_postgres_url, safe_location, sqlite_file

    source, target = args.source, args.target
    if not is_postgres_url(source) and not Path(sqlite_file(source)).is_file():
        print(f"error: there is no database file at {source}", file=sys.stderr)
        return 2
    # the pixels stay where they are: the new database names the same media folder
    with Store(source) as old, Store(target, media_root=old.media_root) as new:
        report = copy_database(old, new)
    for table, n in report.counts.items():
        print(f"{table:<18} {n:>9} rows (equal in both)")
    print(
        f"copied {safe_location(source)} to {safe_location(target)}. Images and checkpoints "
        f"stay in {old.media_root}: point $SEVERITY_MEDIA there (or copy the folder to the "
        "shared media store) on every machine that uses the new database."
    )
    return 0
