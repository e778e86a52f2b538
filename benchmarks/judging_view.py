"""What the browser benchmarks of the Compare page share: Chromium, the judging view's
element as page scripts reach it, a demo database, the worker, and the check of every
key press against the stored rows (``judging_latency`` with one rater, ``many_raters``
with many)."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

from core.paths import PROJECT_ROOT
from core.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
KEYS = ["ArrowLeft", "ArrowRight", "e"]
OUTCOME = {"ArrowLeft": "left", "ArrowRight": "right", "e": "equal"}
# the judging view lives in a shadow root: the page reaches it through its host
ROOT = """(() => { const host = document.querySelector("[data-testid=stBidiComponentIsolated]");
    return host && host.shadowRoot && host.shadowRoot.querySelector("[data-testid=compare-queue]");
})()"""
# the view is up and shows a pair (after signing in)
SHOWING = f"() => {{ const r = {ROOT}; return r && r.dataset.token; }}"
# every answer acknowledged by the server
ALL_SAVED = f"() => {{ const r = {ROOT}; return r && r.dataset.pending === '0'; }}"
# when each key went down (the event's own time stamp), before the view handles it
RECORD_KEYDOWN = (
    "window.addEventListener('keydown', (e) => { window.__pressed = e.timeStamp; },"
    " {capture: true});"
)
# the frame's time once the pair on screen is another one, both images loaded
PAIR_CHANGED = f"""(before) => {{
    const root = {ROOT};
    if (!root || !root.dataset.token || root.dataset.token === before) return false;
    const images = Array.from(root.querySelectorAll(".sq-slot img"));
    const ready = images.length === 2 && images.every(i => i.complete && i.naturalWidth > 0);
    return ready ? performance.now() : false;
}}"""
# the pair on screen: its answer's id (the request token it is stored under) and images
SHOWN = f"""() => {{ const r = {ROOT};
    return r ? [r.dataset.token, Number(r.dataset.left), Number(r.dataset.right)] : null; }}"""


@dataclass(frozen=True)
class Press:
    """One key press on a pair: who pressed, the answer's id, the pair and the side."""

    rater: str
    answer_id: str
    left: int
    right: int
    outcome: str

    def row(self) -> tuple:
        return (self.rater, self.left, self.right, self.outcome)


def seed_demo(env: dict) -> None:
    """``python -m core demo`` into the database that ``env`` names."""
    subprocess.run(
        [sys.executable, "-m", "core", "demo"],
        env=env,
        check=True,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
    )


def start_worker(env: dict) -> subprocess.Popen:
    """The background worker (``python -m core worker``) on the database of ``env``."""
    return subprocess.Popen(
        [sys.executable, "-m", "core", "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stored_rows(location: str) -> list[dict]:
    """Every stored answer, oldest first, with its rater's name."""
    with Store(location) as store:
        return store.all(
            "SELECT j.id, r.name AS rater, j.left_image_id, j.right_image_id, j.outcome, "
            "j.request_token FROM judgments j JOIN raters r ON r.id = j.rater_id ORDER BY j.id"
        )


def tally(presses: list[Press], rows: list[dict]) -> dict:
    """Every press against the stored rows, matched by the answer's id (each row's request
    token): ``lost``, a press with no row; ``duplicated``, a second row for one press
    (same token, or another token with the same rater, pair and side); ``misattributed``,
    a row for a press under another rater, pair or side, or a row nobody pressed;
    ``out_of_order``, a rater's answer stored before one that rater gave earlier."""
    by_token: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_token[row["request_token"]].append(row)
    lost = duplicated = misattributed = 0
    for press in presses:
        found = by_token.get(press.answer_id, [])
        lost += not found
        duplicated += max(0, len(found) - 1)
        misattributed += sum(_row(r) != press.row() for r in found)
    pressed = {p.answer_id for p in presses}
    answers = {p.row() for p in presses}
    for row in rows:
        if row["request_token"] not in pressed:
            duplicated += _row(row) in answers
            misattributed += _row(row) not in answers
    return {
        "presses": len(presses),
        "rows_stored": len(rows),
        "lost": lost,
        "duplicated": duplicated,
        "misattributed": misattributed,
        "out_of_order": _out_of_order(presses, by_token),
    }


def _row(row: dict) -> tuple:
    return (row["rater"], row["left_image_id"], row["right_image_id"], row["outcome"])


def _out_of_order(presses: list[Press], by_token: dict[str, list[dict]]) -> int:
    last: dict[str, int] = {}
    late = 0
    for press in presses:
        found = by_token.get(press.answer_id)
        if found:
            row_id = found[0]["id"]
            late += row_id < last.get(press.rater, -1)
            last[press.rater] = row_id
    return late


def figures(values: list[float], unit: str, every: bool = True) -> dict:
    """Median, p95 (nearest rank) and max of ``values``; with ``every``, the values too."""
    if not values:
        return {}
    ordered = sorted(values)
    summary = {
        f"median_{unit}": statistics.median(values),
        f"p95_{unit}": ordered[math.ceil(0.95 * len(ordered)) - 1],
        f"max_{unit}": ordered[-1],
    }
    return {**summary, f"all_{unit}": [round(v, 1) for v in values]} if every else summary
