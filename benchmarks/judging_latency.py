"""What a clinician feels on the Compare page: key press to the next pair on screen.

Starts the app (``streamlit run app.py``) on a fresh demo database, signs in with
Playwright and Debian's Chromium, and answers ``--presses`` pairs with the keyboard,
pressing each key as soon as the new pair is on screen. The time is measured in the
page: from the keydown event to the frame in which the pair's two images have changed
and finished loading. Every press is checked against the stored rows: one row per
press, in order, about the pair that was on screen when the key went down.

Two phases, each on its own fresh database: ``idle`` (no worker) and ``training``
(the background worker running, training its first models, at its default priority).

    .venv/bin/python -m benchmarks.judging_latency [--presses 200] [--phases idle,training]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.paths import PROJECT_ROOT
from core.store import Store

from .common import start_app, write_json

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
KEYS = ["ArrowLeft", "ArrowRight", "e"]
OUTCOME = {"ArrowLeft": "left", "ArrowRight": "right", "e": "equal"}
PAIR = ".st-key-pair img"
# the page records when a key went down, before Streamlit sees it
RECORD_KEYDOWN = (
    "document.addEventListener('keydown', () => { window.__pressed = performance.now(); },"
    " {capture: true});"
)
# both images are one element, so their sources change together
PAIR_STATE = (
    "() => Array.from(document.querySelectorAll('.st-key-pair img')).map(i => i.src).join('|')"
)
# the time once the pair's two images are other ones, loaded
PAIR_CHANGED = """(before) => {
    const images = Array.from(document.querySelectorAll(".st-key-pair img"));
    if (images.length !== 2 || images.map(i => i.src).join("|") === before) return false;
    return images.every(i => i.complete && i.naturalWidth > 0) ? performance.now() : false;
}"""


def _shown_pair(page) -> tuple[int, int]:
    captions = page.locator(".st-key-pair [data-testid='stImageCaption']")
    ids = [int(re.match(r"#(\d+)", captions.nth(i).inner_text()).group(1)) for i in (0, 1)]
    return ids[0], ids[1]


def run_phase(phase: str, presses: int, browser) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "app.db"
        env = {**os.environ, "SEVERITY_DB": str(db), "PYTHONPATH": str(PROJECT_ROOT)}
        demo = [sys.executable, "-m", "core", "demo"]
        subprocess.run(demo, env=env, check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        worker = None
        if phase == "training":
            worker = subprocess.Popen(
                [sys.executable, "-m", "core", "worker"],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        app, url = start_app(env)
        try:
            return _judge(url, db, phase, presses, browser)
        finally:
            for process in (app, worker):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)


def _judge(url: str, db: Path, phase: str, presses: int, browser) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/compare")
    page.get_by_label("Your name").fill("Dr Benchmark")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Show dates and details").click()  # image ids in captions, for the check
    page.locator(PAIR).nth(1).wait_for(timeout=60_000)
    page.get_by_role("heading", name="Compare").click()  # keys go to the page, not the toggle
    page.evaluate(RECORD_KEYDOWN)
    training_seen = []
    shown, latencies = [], []
    for k in range(presses):
        key = KEYS[k % len(KEYS)]
        pair = _shown_pair(page)
        before = page.evaluate(PAIR_STATE)
        page.keyboard.press(key)
        done = page.wait_for_function(PAIR_CHANGED, arg=before, polling="raf", timeout=30_000)
        latencies.append(done.json_value() - page.evaluate("window.__pressed"))
        shown.append((pair, OUTCOME[key]))
        if phase == "training" and k % 20 == 0:
            with Store(db) as store:
                training_seen.append(
                    any(j["status"] == "running" for j in store.jobs.list(limit=5))
                )
    time.sleep(1.0)  # the last answer's write
    with Store(db) as store:
        rows = store.all(
            "SELECT left_image_id, right_image_id, outcome FROM judgments j JOIN raters r "
            "ON r.id = j.rater_id WHERE r.name = 'Dr Benchmark' ORDER BY j.id"
        )
    context.close()
    stored = [((r["left_image_id"], r["right_image_id"]), r["outcome"]) for r in rows]
    mismatched = sum(a != b for a, b in zip(shown, stored, strict=False))
    ordered = sorted(latencies)
    return {
        "presses": presses,
        "rows_stored": len(stored),
        "lost": max(0, presses - len(stored)),
        "extra": max(0, len(stored) - presses),
        "misattributed": mismatched,
        "median_ms": statistics.median(latencies),
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
        "worker_training_share": (
            sum(training_seen) / len(training_seen) if training_seen else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--phases", default="idle,training")
    parser.add_argument("--out", default="docs/bench/judging_latency.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for phase in args.phases.split(","):
            results[phase] = run_phase(phase, args.presses, browser)
            r = results[phase]
            print(
                f"{phase}: key to next pair median {r['median_ms']:.0f} ms, p95 "
                f"{r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; {r['presses']} presses, "
                f"{r['rows_stored']} rows, {r['lost']} lost, {r['misattributed']} misattributed",
                flush=True,
            )
        browser.close()
    write_json({"config": vars(args), "cpu_count": os.cpu_count(), **results}, args.out)


if __name__ == "__main__":
    main()
