"""The attribution maps in a real browser: turned on over the Latent space gallery and
the Patients timeline, where the pictures change to carry them."""

import pytest

from core.paths import PROJECT_ROOT
from core.store import Store
from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
PICTURES = "[data-testid='stImage'] img"


def _turn_on_the_overlay(page) -> None:
    """Click the toggle until its switch reads on (a click that lands while the page is
    still settling after its first run can be lost), then wait for the rerun."""
    label = "Show what drives the score"
    switch = page.locator("label", has_text=label).locator("input")
    for _ in range(3):
        if switch.is_checked():
            break
        page.get_by_text(label).click()
        page.wait_for_timeout(1_000)
    assert switch.is_checked()
    wait_idle(page)


def _sources(page) -> list[str]:
    """Streamlit names each picture's media file by a hash of its bytes."""
    return page.locator(PICTURES).evaluate_all("images => images.map(i => i.src)")


def test_the_overlay_turns_on_over_the_latent_space_ruler(app_server, page):
    url, db = app_server
    with Store(db) as store:
        model = store.models.active()
        assert store.attributions.count(model["id"]) == store.images.count()
    page.goto(f"{url}/latent")
    page.get_by_role("heading", name="Severity ruler").wait_for(timeout=60_000)
    page.locator(PICTURES).nth(1).wait_for(timeout=30_000)
    wait_idle(page)
    plain = _sources(page)

    _turn_on_the_overlay(page)
    page.get_by_text("Deep blue to near white").wait_for(timeout=30_000)
    page.get_by_text("Opacity").wait_for(timeout=30_000)
    drawn = _sources(page)
    assert len(drawn) == len(plain) >= 2
    assert all(a != b for a, b in zip(plain, drawn, strict=True)), (plain, drawn)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("heading", name="Severity ruler").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "latent_attribution.png"))


def test_the_overlay_and_the_change_between_two_visits_on_the_patients_page(app_server, page):
    url, _ = app_server
    page.goto(f"{url}/patients")
    page.get_by_role("tab", name="One patient").click()
    page.get_by_role("heading", name="Visits", exact=True).wait_for(timeout=60_000)
    page.locator(PICTURES).nth(2).wait_for(timeout=30_000)  # every patient has 3 visits
    wait_idle(page)
    assert page.get_by_role("heading", name="What changed between two visits").count() == 0
    plain = _sources(page)

    _turn_on_the_overlay(page)
    page.get_by_role("heading", name="What changed between two visits").wait_for(timeout=30_000)
    page.get_by_text("Change,", exact=False).first.wait_for(timeout=30_000)
    drawn = _sources(page)
    assert len(plain) >= 3 and len(drawn) == len(plain) + 3  # two visits and the change
    assert all(a != b for a, b in zip(plain, drawn, strict=False))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("heading", name="What changed between two visits").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "patients_attribution.png"))
