"""``python -m core ...``: builds the parser from the command groups of
``core.commands`` and runs the chosen command's handler. Errors a user can act on
(a missing file, a bad manifest, a busy or unreachable database) are printed in one
line with exit status 2, never as a traceback."""

from __future__ import annotations

import argparse
import sys

from core.commands import experiments, study, training, worker
from core.importers import ManifestError, NpzFormatError
from core.store import StoreError

GROUPS = (study, training, experiments, worker)
USER_ERRORS = (StoreError, FileNotFoundError, ManifestError, NpzFormatError, ValueError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Severity Studio")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to relaunch on several processes
    try:
        return args.handler(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
