"""The Latent space map at a real study's scale, in a real browser: 20,000 points drawn,
a box and a lasso dragged with the mouse, and the gallery holding exactly the points
inside, most severe first, without the points being sent to the browser twice."""

import json
import re

import numpy as np
import pytest

from core.paths import PROJECT_ROOT
from core.store import Store
from tests.browser.conftest import LARGE_MAP, wait_idle
from tests.test_map_region import naive_inside

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
MAP = "[data-testid='latent-map']"


def _open(page, url: str):
    page.goto(f"{url}/latent")
    drawn = page.locator(f"{MAP}[data-drawn]")
    drawn.wait_for(timeout=120_000)
    wait_idle(page, 120_000)
    return page.locator(MAP)


def _stored_map(db) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, float]]:
    with Store(db) as store:
        model = store.models.active()
        layout = store.embeddings.layout(model["id"], "umap", 2)
        scores = store.embeddings.severity_scores(model["id"])
    severity = {i: s for i, (s, _) in scores.items()}
    return layout.ids, layout.coords[:, 0], layout.coords[:, 1], severity


def _drag(page, points: list[tuple[float, float]]) -> None:
    """The mouse pressed at the first point, moved through the others, released."""
    area = page.locator(f"{MAP} .lm-overlay").bounding_box()
    assert area is not None
    at = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def _gallery(page) -> tuple[int, list[int], list[float]]:
    """The selection's count (from its heading), and its pictures' ids and scores."""
    heading = page.get_by_role("heading", name=re.compile("^Selection:"))
    heading.wait_for(timeout=60_000)
    wait_idle(page, 60_000)
    count = int(re.search(r"Selection: ([\d,]+) images", heading.inner_text())[1].replace(",", ""))
    captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()  # ruler last
    shown = [c for c in captions if "s=" in c][: min(count, 60)]
    ids = [int(c.split(" ")[0][1:]) for c in shown]
    scores = [float(c.split("s=")[1]) for c in shown]
    return count, ids, scores


def test_a_large_map_is_drawn_and_a_box_returns_exactly_its_points(large_map_server, page):
    url, db = large_map_server
    view = _open(page, url)
    assert view.get_attribute("data-points") == str(LARGE_MAP)
    assert view.get_attribute("data-drawn") == str(LARGE_MAP)  # all of them on screen
    assert view.get_attribute("data-loads") == "1"

    _drag(page, [(0.30, 0.20), (0.55, 0.80)])
    count, ids, scores = _gallery(page)
    region = json.loads(view.get_attribute("data-selection"))
    assert region["kind"] == "box"
    image_ids, x, y, severity = _stored_map(db)
    (x0, x1), (y0, y1) = sorted(region["x"]), sorted(region["y"])
    inside = image_ids[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)]
    assert 1_000 < count == len(inside) < LARGE_MAP  # a real part of the map, no more
    # the 60 most severe inside (the page lays them out column by column, so compare
    # them as sorted lists; AppTest checks their order)
    top = sorted((severity[int(i)] for i in inside), reverse=True)[:60]
    assert sorted((severity[i] for i in ids), reverse=True) == pytest.approx(top)
    assert scores == pytest.approx([severity[i] for i in ids], abs=5e-3)
    assert view.get_attribute("data-loads") == "1"  # the rerun sent the key, not the points

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "latent_large_map.png"))


def test_a_lasso_selects_the_points_inside_its_outline_and_hover_names_a_point(
    large_map_server, page
):
    url, db = large_map_server
    view = _open(page, url)
    page.locator(f"{MAP} button[data-mode='lasso']").click()
    _drag(page, [(0.2, 0.3), (0.5, 0.2), (0.8, 0.5), (0.5, 0.45), (0.3, 0.8)])
    count, ids, _ = _gallery(page)
    region = json.loads(view.get_attribute("data-selection"))
    assert region["kind"] == "lasso" and len(region["x"]) >= 5
    image_ids, x, y, _ = _stored_map(db)
    inside = {
        int(i)
        for i, a, b in zip(image_ids, x, y, strict=True)
        if naive_inside(a, b, region["x"], region["y"])
    }
    assert count == len(inside) > 500
    assert set(ids) <= inside

    page.locator(f"{MAP} button[data-action='clear']").click()
    page.get_by_role("heading", name=re.compile("^Selection:")).wait_for(
        state="detached", timeout=60_000
    )
    assert view.get_attribute("data-loads") == "1"

    area = page.locator(f"{MAP} .lm-overlay").bounding_box()
    tip = page.locator(f"{MAP} .lm-tip")
    for fx in np.linspace(0.1, 0.9, 17):  # along the map's middle, where points are dense
        page.mouse.move(area["x"] + fx * area["width"], area["y"] + 0.5 * area["height"])
        if tip.is_visible():
            break
    assert re.fullmatch(r"#\d+ · severity -?\d\.\d{3} · \S+", tip.inner_text())  # no grade:
    # nobody is signed in, so the map is blinded as the Compare page is
