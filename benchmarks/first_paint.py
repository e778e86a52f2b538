"""First paint of every page in Chromium, on the demo database with its first models.

Seeds the demo data, runs the worker until its queue is empty (the first model of each
dataset, embedded and projected), starts the app, signs in and, for each page, follows
its link in the sidebar (as a user does: the session, and so the sign-in, is kept) and
times from the click to the page's content: its heading, Streamlit's script finished
and every image loaded. ``--repeats`` visits per page; the median and max are reported.

    .venv/bin/python -m benchmarks.first_paint [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.paths import PROJECT_ROOT

from .common import start_app, write_json

CHROMIUM = "/usr/bin/chromium"
PAGES = {  # path -> heading
    "data": "Data",
    "compare": "Compare",
    "latent": "Latent space",
    "patients": "Patients",
    "training": "Training",
    "raters": "Raters",
}
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="docs/bench/first_paint.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SEVERITY_DB": str(Path(folder) / "app.db")}
        started = time.perf_counter()
        for command in (["demo"], ["worker", "--exit-when-idle"]):
            subprocess.run(
                [sys.executable, "-m", "core", *command],
                env=env,
                cwd=PROJECT_ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        print(f"demo database with its first models in {time.perf_counter() - started:.0f} s")
        app, url = start_app(env, timeout_s=90)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"{url}/compare")  # sign in once; the session cookie is kept
                page.get_by_label("Your name").fill("Dr Benchmark")
                page.get_by_role("button", name="Sign in").click()
                page.locator(SETTLED).wait_for(timeout=60_000)
                timings = {name: [] for name in PAGES}
                for _ in range(args.repeats):
                    for name, heading in PAGES.items():
                        started = time.perf_counter()
                        page.get_by_role("link", name=heading).click()
                        page.get_by_role("heading", name=heading, exact=True).wait_for()
                        page.wait_for_timeout(50)
                        page.locator(SETTLED).wait_for(timeout=60_000)
                        page.wait_for_function(
                            "() => Array.from(document.images).every(i => i.complete)"
                        )
                        timings[name].append(time.perf_counter() - started)
                browser.close()
        finally:
            app.terminate()
            app.wait(timeout=30)
    result = {
        "config": vars(args),
        "pages": {
            name: {"median_s": statistics.median(values), "max_s": max(values), "all_s": values}
            for name, values in timings.items()
        },
    }
    write_json(result, args.out)
    for name, row in result["pages"].items():
        print(f"{name:<10} median {row['median_s']:.2f} s, max {row['max_s']:.2f} s")


if __name__ == "__main__":
    main()
