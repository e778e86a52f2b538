import pytest

from core.paths import PROJECT_ROOT

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def test_data_page_shows_the_cohort_in_a_real_browser(app_server, page):
    url, _ = app_server
    page.goto(url)
    page.get_by_role("heading", name="Data").wait_for(timeout=30_000)
    page.locator("[data-testid='stImage'] img").nth(5).wait_for(timeout=30_000)
    assert "16 patients" in page.locator("[data-testid='stCaptionContainer']").first.inner_text()
    assert page.locator("[data-testid='stImage'] img").count() >= 6
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "data.png"))


def test_navigation_reaches_every_page(app_server, page):
    url, _ = app_server
    page.goto(url)
    page.get_by_role("heading", name="Data").wait_for(timeout=30_000)
    for title in ("Compare", "Latent space", "Patients", "Training", "Raters"):
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)


def test_without_signing_in_the_data_page_offers_no_import_or_download(app_server, page):
    url, _ = app_server
    page.goto(url)
    page.get_by_role("heading", name="Data").wait_for(timeout=30_000)
    page.get_by_text("Importing, exporting and backing up are for study leads").wait_for(
        timeout=30_000
    )
    assert page.get_by_role("tab", name="Browse").count() == 1
    for hidden in ("Import", "Export"):
        assert page.get_by_role("tab", name=hidden).count() == 0
    assert page.locator("[data-testid='stDownloadButton']").count() == 0
    assert page.locator("[data-testid='stFileUploader']").count() == 0
