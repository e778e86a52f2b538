"""The browser part of ``benchmarks.large_study``: the app on the study's database, and
the Latent space and Patients pages opened in headless Chromium, as a user opens them.

Signs in, then for each page follows its link in the sidebar (the session is kept) and
times from the click to the page's content: its heading, Streamlit's script finished,
every image loaded and, on the Latent space page, the map drawn. The first visit is
cold (nothing cached by the app); ``repeats`` more give the warm figure. On the map, a
box drawn with the mouse over most of the points is timed to its gallery; on
Patients, a search by pseudonym is timed to its list.
"""

from __future__ import annotations

import os
import statistics
import time

from .common import start_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox"]
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = {"latent": "Latent space", "patients": "Patients"}
MAP = "[data-testid='latent-map']"
MAP_DRAWN = f"{MAP}[data-drawn]"  # the map sets it once its points are painted


def app_peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _settled(page, timeout_ms: int = 600_000) -> None:
    page.wait_for_timeout(50)
    page.locator(SETTLED).wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete)", timeout=timeout_ms
    )


def _open(page, heading: str) -> float:
    started = time.perf_counter()
    page.get_by_role("link", name=heading).click()
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=600_000)
    _settled(page)
    if heading == PAGES["latent"]:
        page.locator(MAP_DRAWN).first.wait_for(timeout=600_000)
    return time.perf_counter() - started


BOXES = 5  # boxes drawn, each a little smaller: the figure is their median


def _box_selection(page) -> dict:
    """Boxes over most of the map, dragged with the mouse, each timed from the mouse's
    release to its gallery (every picture loaded); the selection is cleared between."""
    area = page.locator(f"{MAP} .lm-overlay").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    if box is None:
        return {"error": "the map's drawing area was not found"}
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.locator(f"{MAP} button[data-mode='box']").click()
    heading = page.get_by_role("heading", name="Selection:")
    seconds, headings = [], []
    for k in range(BOXES):
        low, high = 0.15 + 0.02 * k, 0.85 - 0.02 * k
        page.mouse.move(x + low * w, y + low * h)
        page.mouse.down()
        page.mouse.move(x + high * w, y + high * h, steps=5)
        started = time.perf_counter()
        page.mouse.up()
        try:
            heading.wait_for(timeout=120_000)
            _settled(page)
        except Exception as exc:  # the figure is optional: say why it is missing
            return {"error": f"no gallery after the box: {type(exc).__name__}"}
        seconds.append(time.perf_counter() - started)
        headings.append(heading.first.inner_text())
        page.locator(f"{MAP} button[data-action='clear']").click()
        heading.wait_for(state="detached", timeout=120_000)
        _settled(page)
    return {
        "seconds": statistics.median(seconds),
        "all_s": seconds,
        "headings": headings,
        # times the points reached the browser over every visit: 1, sent once
        "points_sent": int(page.locator(MAP).get_attribute("data-loads")),
    }


def _search(page, text: str) -> dict:
    """A search by pseudonym on the One patient tab, to its list."""
    try:
        page.get_by_role("tab", name="One patient").click()
        field = page.get_by_label("Find a patient")
        field.wait_for(timeout=60_000)
        started = time.perf_counter()
        field.fill(text)
        field.press("Enter")
        _settled(page)
    except Exception as exc:  # the figure is optional: say why it is missing
        return {"error": f"the search did not finish: {type(exc).__name__}"}
    return {"seconds": time.perf_counter() - started, "search": text}


def measure_pages(location: str, media: str, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "SEVERITY_DB": location, "SEVERITY_MEDIA": media}
    started = time.perf_counter()
    app, url = start_app(env, timeout_s=120)
    figures: dict = {"app_start_s": time.perf_counter() - started}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(f"{url}/data")  # sign in once; the session is kept
            page.get_by_label("Your name").fill("Dr Benchmark")
            page.get_by_role("button", name="Sign in").click()
            _settled(page)
            visits: dict[str, list[float]] = {name: [] for name in PAGES}
            for _ in range(1 + repeats):
                for name, heading in PAGES.items():
                    page.get_by_role("link", name="Data").click()
                    _settled(page)
                    visits[name].append(_open(page, heading))
                    print(f"  pages: {name} in {visits[name][-1]:.2f} s", flush=True)
            for name, seconds in visits.items():
                figures[name] = {
                    "first_paint_cold_s": seconds[0],
                    "first_paint_warm_median_s": statistics.median(seconds[1:] or seconds),
                    "all_s": seconds,
                }
            _open(page, PAGES["latent"])
            view = page.locator(MAP)
            figures["latent"]["points_drawn"] = int(view.get_attribute("data-drawn"))
            figures["latent"]["paint_ms_in_browser"] = float(view.get_attribute("data-draw-ms"))
            figures["latent"]["box_to_gallery"] = _box_selection(page)
            print(f"  pages: box to gallery {figures['latent']['box_to_gallery']}", flush=True)
            _open(page, PAGES["patients"])
            figures["patients"]["search"] = _search(page, "P-0")
            print(f"  pages: search {figures['patients']['search']}", flush=True)
            browser.close()
    finally:
        figures["app_peak_mb"] = app_peak_mb(app.pid)
        app.terminate()
        app.wait(timeout=60)
    return figures
