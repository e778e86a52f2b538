"""Named points inside a migration and a backup where the tests that kill a process
(``kill -9`` at a known moment) make it wait. Off unless ``$SEVERITY_FAULT_POINT`` is
set: then every point passed is announced on stderr (``fault-point NAME``), and at the
point(s) it names (a shell pattern, such as ``migration-13-*``) the process waits for
an hour, for the test to kill it there."""

from __future__ import annotations

import fnmatch
import os
import sys
import time

POINT_ENV = "SEVERITY_FAULT_POINT"
ANNOUNCE = "fault-point"
PAUSE_S = 3600.0


def pause_point(name: str) -> None:
    wanted = os.environ.get(POINT_ENV)
    if not wanted:
        return
    print(f"{ANNOUNCE} {name}", file=sys.stderr, flush=True)
    if fnmatch.fnmatchcase(name, wanted):
        time.sleep(PAUSE_S)
