"""``python -m core ...``: builds the parser from the command groups of
``core.commands`` and runs the chosen command's handler. Errors a user can act on
(a missing file, a bad manifest, a busy or unreachable database) are printed in one
line with exit status 2, never as a traceback."""

from __future__ import annotations

import argparse
import sys

from core.commands import experiments, exports, scoring, study, training, worker

GROUPS = (study, training, scoring, exports, experiments, worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Severity Studio")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        before = set(commands.choices)
        group.add_parsers(commands)
        for name in set(commands.choices) - before:  # the errors its users can act on
            commands.choices[name].set_defaults(user_errors=group.USER_ERRORS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to relaunch on several processes
    try:
        return args.handler(args)
    except args.user_errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
