"""What a clinician feels on the Compare page: key press to the next pair on screen.

Starts the app (``streamlit run app.py``) on a fresh demo database, signs in with
Playwright and Debian's Chromium, and answers ``--presses`` pairs with the keyboard in
the judging view (the browser's queue of prepared pairs), pressing each key as soon as
the new pair is on screen (or ``--think-ms`` after it). The time is measured in the
page: from the keydown event to the animation frame in which the next pair's two
images are in place and loaded.
Partway through, the page is reloaded (answers not yet acknowledged must survive it)
and the network goes away for ``--offline-s`` seconds (``context.set_offline``; keys
pressed meanwhile are answered from the queue). At the end every press is checked
against the stored rows: one row per press, in order, about the pair that was on
screen when the key went down, by this rater, none twice.

Two phases, each on its own fresh database: ``idle`` (no worker) and ``training``
(the background worker running, training its first models, at its default priority).

    .venv/bin/python -m benchmarks.judging_latency [--presses 200] [--phases idle,training]
        [--think-ms 0] [--offline-s 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from core.paths import PROJECT_ROOT
from core.store import Store

from .common import start_app, write_json
from .judging_view import (
    ALL_SAVED,
    CHROMIUM,
    CHROMIUM_ARGS,
    KEYS,
    OUTCOME,
    PAIR_CHANGED,
    RECORD_KEYDOWN,
    ROOT,
    SHOWING,
    SHOWN,
    Press,
    figures,
    seed_demo,
    start_worker,
    stored_rows,
    tally,
)

RATER = "Dr Benchmark"


def run_phase(phase: str, args: argparse.Namespace, browser) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "app.db"
        env = {**os.environ, "SEVERITY_DB": str(db), "PYTHONPATH": str(PROJECT_ROOT)}
        seed_demo(env)
        worker = start_worker(env) if phase == "training" else None
        app, url = start_app(env)
        try:
            return _judge(url, db, phase, args, browser)
        finally:
            for process in (app, worker):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/compare")
    page.get_by_label("Your name").fill(RATER)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function(SHOWING)
    page.evaluate(RECORD_KEYDOWN)


def _press(page, key: str, timeout_ms: float = 30_000) -> tuple[Press, float]:
    """Press ``key``; the answer it gave and the time to the next pair on screen."""
    token, left, right = page.evaluate(SHOWN)
    page.keyboard.press(key)
    done = page.wait_for_function(PAIR_CHANGED, arg=token, polling="raf", timeout=timeout_ms)
    answer = Press(RATER, token, left, right, OUTCOME[key])
    return answer, done.json_value() - page.evaluate("window.__pressed")


def _judge(url: str, db: Path, phase: str, args: argparse.Namespace, browser) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave with answers not saved?"
    _sign_in(page, url)
    reload_at, offline_at = args.presses // 3, 2 * args.presses // 3
    pressed, latencies, offline_latencies, training_seen = [], [], [], []
    reload_pending = offline_pending = None
    k = 0
    while k < args.presses:
        if k == reload_at and reload_pending is None:
            reload_pending = int(page.evaluate(f"() => {ROOT}.dataset.pending"))
            page.reload()
            _sign_in(page, url)
        if k == offline_at and offline_pending is None:
            k, offline_pending = _offline_stretch(page, args, k, pressed, offline_latencies)
            continue
        time.sleep(args.think_ms / 1000)
        answer, latency = _press(page, KEYS[k % len(KEYS)])
        pressed.append(answer)
        latencies.append(latency)
        k += 1
        if phase == "training" and k % 20 == 0:
            with Store(db) as store:
                training_seen.append(
                    any(j["status"] == "running" for j in store.jobs.list(limit=5))
                )
    page.wait_for_function(ALL_SAVED, timeout=60_000)
    time.sleep(1.0)  # a late second send would show up as a second row
    context.close()
    return {
        **tally(pressed, stored_rows(str(db))),
        **figures(latencies, "ms"),
        **figures(offline_latencies, "offline_ms"),
        "pending_at_reload": reload_pending,
        "pending_when_back_online": offline_pending,
        "worker_training_share": (
            sum(training_seen) / len(training_seen) if training_seen else None
        ),
    }


def _offline_stretch(page, args, k: int, pressed: list, latencies: list) -> tuple[int, int]:
    """The network gone for ``args.offline_s`` seconds: keys pressed meanwhile, from the
    queue, while it holds a next pair. Returns the next press number and how many
    answers waited when the network came back."""
    page.context.set_offline(True)
    started = time.monotonic()
    for _ in range(args.offline_presses):
        if k >= args.presses or int(page.evaluate(f"() => {ROOT}.dataset.queued")) < 2:
            break
        answer, latency = _press(page, KEYS[k % len(KEYS)], timeout_ms=2_000)
        pressed.append(answer)
        latencies.append(latency)
        k += 1
    time.sleep(max(0.0, args.offline_s - (time.monotonic() - started)))
    waiting = int(page.evaluate(f"() => {ROOT}.dataset.pending"))
    page.context.set_offline(False)
    return k, waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--phases", default="idle,training")
    parser.add_argument("--offline-s", type=float, default=5.0, help="the network drop")
    parser.add_argument("--offline-presses", type=int, default=5, help="keys pressed offline")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="a pause before each press (0: none)"
    )
    parser.add_argument("--out", default="docs/bench/judging_latency.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for phase in args.phases.split(","):
            results[phase] = r = run_phase(phase, args, browser)
            print(
                f"{phase}: key to next pair median {r['median_ms']:.1f} ms, p95 "
                f"{r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms; {r['presses']} presses, "
                f"{r['rows_stored']} rows, {r['lost']} lost, {r['duplicated']} duplicated, "
                f"{r['misattributed']} misattributed (reload with {r['pending_at_reload']} "
                f"pending, {r['pending_when_back_online']} waiting after the drop)",
                flush=True,
            )
        browser.close()
    write_json({"config": vars(args), "cpu_count": os.cpu_count(), **results}, args.out)


if __name__ == "__main__":
    main()
