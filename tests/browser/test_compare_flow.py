"""The clinician's main flow in a real browser, driven by the keyboard, through the
classic buttons (the judging view's fallback; the view itself: test_compare_queue.py)."""

import re
import time

import pytest

from core.paths import PROJECT_ROOT
from core.store import Store
from core.store.blinding import DATES_SHOWN, set_rater_blinding
from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
KEYS = {"left": "ArrowLeft", "right": "ArrowRight", "equal": "e", "skip": "s", "undo": "u"}
# ten answers using every outcome, with one undo in the middle
SCRIPT = [
    "left",
    "right",
    "equal",
    "skip",
    "left",
    "undo",
    "right",
    "left",
    "equal",
    "right",
    "skip",
]


def row_count(db) -> int:
    with Store(db) as store:
        return store.one("SELECT COUNT(*) AS n FROM judgments")["n"]


def allow_dates(db) -> None:
    """The study lead lets raters show dates and details (image ids, which the test reads
    from the captions); by default there is nothing to show."""
    with Store(db) as store:
        set_rater_blinding(store, DATES_SHOWN)


def shown_pair(page) -> tuple[int, int]:
    captions = page.locator(".st-key-pair [data-testid='stImageCaption']")
    captions.nth(1).wait_for(timeout=30_000)
    left, right = (int(re.match(r"#(\d+)", captions.nth(i).inner_text()).group(1)) for i in (0, 1))
    return left, right


def test_sign_in_and_judge_ten_pairs_with_the_keyboard(app_server, page):
    url, db = app_server
    allow_dates(db)
    page.goto(f"{url}/compare")
    page.get_by_label("Your name").fill("Dr Playwright")
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    page.get_by_text("Classic buttons").click()
    wait_idle(page)
    page.get_by_text("Show dates and details").click()  # reveals image ids to the test
    wait_idle(page)
    page.get_by_role("heading", name="Compare").click()  # keys must not go to the toggle
    expected = []
    for action in SCRIPT:
        before = row_count(db)
        left, right = shown_pair(page)
        page.keyboard.press(KEYS[action])
        deadline = time.monotonic() + 20
        while row_count(db) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        wait_idle(page)
        if action == "undo":
            expected.append(("undone", expected[-1][1], expected[-1][2]))
        else:
            expected.append((action, left, right))
    with Store(db) as store:
        stored = store.all(
            "SELECT j.outcome, j.left_image_id, j.right_image_id, r.name, "
            "j.supersedes FROM judgments j JOIN raters r ON r.id = j.rater_id "
            "WHERE r.name = 'Dr Playwright' ORDER BY j.id"
        )
    assert [(r["outcome"], r["left_image_id"], r["right_image_id"]) for r in stored] == expected
    assert {r["name"] for r in stored} == {"Dr Playwright"}
    assert sum(r["outcome"] in ("left", "right", "equal", "skip") for r in stored) == 10
    undo = SCRIPT.index("undo")
    assert stored[undo]["supersedes"] is not None


@pytest.mark.parametrize(
    ("path", "heading", "name"),
    [
        ("latent", "Latent space", "latent"),
        ("patients", "Patients", "patients"),
        ("training", "Training", "training"),
    ],
)
def test_chart_pages_render_in_the_browser(app_server, page, path, heading, name):
    url, _ = app_server
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=30_000)
    wait_idle(page)
    if path == "patients":
        page.get_by_role("tab", name="One patient").click()
        wait_idle(page)
    if path == "latent":  # the map paints its points itself (test_latent_map.py)
        drawn = page.locator("[data-testid='latent-map'][data-drawn]")
        drawn.wait_for(timeout=30_000)
        assert int(drawn.get_attribute("data-drawn")) >= 2
    elif path == "patients":
        chart = page.locator(".js-plotly-plot:visible").first
        chart.wait_for(timeout=30_000)
        assert chart.locator(".main-svg").count() >= 1  # plotly drew into the page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


OUTCOMES = {"ArrowLeft": "left", "ArrowRight": "right", "e": "equal"}
# both images are one element: their sources change together, with their captions
PAIR_STATE = (
    "() => Array.from(document.querySelectorAll('.st-key-pair img')).map(i => i.src).join('|')"
)
PAIR_CHANGED = """(before) => {
    const images = Array.from(document.querySelectorAll(".st-key-pair img"));
    return images.length === 2 && images.map(i => i.src).join("|") !== before
        && images.every(i => i.complete && i.naturalWidth > 0);
}"""


def test_fast_presses_store_one_row_each_for_the_pair_on_screen(app_server, page):
    """Each key goes down as soon as the new pair's images are on screen, without waiting
    for the database: every press is one row, in order, about the pair shown when it
    went down."""
    url, db = app_server
    allow_dates(db)
    page.goto(f"{url}/compare")
    page.get_by_label("Your name").fill("Dr Quick")
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    page.get_by_text("Classic buttons").click()
    wait_idle(page)
    page.get_by_text("Show dates and details").click()
    wait_idle(page)
    page.get_by_role("heading", name="Compare").click()
    pressed = []
    for k in range(20):
        key = ("ArrowLeft", "ArrowRight", "e")[k % 3]
        left, right = shown_pair_in(page)
        before = page.evaluate(PAIR_STATE)
        page.keyboard.press(key)
        try:
            page.wait_for_function(PAIR_CHANGED, arg=before, timeout=30_000)
        except Exception:
            page.screenshot(path="/tmp/fast_fail.png")
            raise AssertionError(f"press {k} ({key}) did not change the pair") from None
        pressed.append((OUTCOMES[key], left, right))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with Store(db) as store:
            stored = store.all(
                "SELECT j.outcome, j.left_image_id, j.right_image_id FROM judgments j "
                "JOIN raters r ON r.id = j.rater_id WHERE r.name = 'Dr Quick' ORDER BY j.id"
            )
        if len(stored) >= len(pressed):
            break
        time.sleep(0.2)
    got = [(r["outcome"], r["left_image_id"], r["right_image_id"]) for r in stored]
    assert got == pressed, f"stored {got}\npressed {pressed}"


def shown_pair_in(page) -> tuple[int, int]:
    captions = page.locator(".st-key-pair [data-testid='stImageCaption']")
    captions.nth(1).wait_for(timeout=30_000)
    ids = (re.match(r"#(\d+)", captions.nth(i).inner_text()).group(1) for i in (0, 1))
    return tuple(int(i) for i in ids)
