"""No request leaves the server: every page, seen by a signed-in study lead, loads only
from the app's own host (a hospital network blocks the rest, and each outside request
tells a third party that the app is in use)."""

from urllib.parse import urlsplit

import pytest

from core.store import Store
from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser
PAGES = ("Data", "Compare", "Latent space", "Patients", "Training", "Raters")
INLINE = ("data", "blob", "about")  # content in the URL or the page itself: nothing fetched
# what the document loads (links to read elsewhere, <a href>, are not requests); Chromium
# fetches a favicon outside the page's own network log, so its <link> is read here too
LOADED_URLS = """() => [...document.querySelectorAll(
  'link[href], img[src], script[src], iframe[src], source[src], video[src], audio[src]'
)].map(element => element.href || element.src)"""


def outside(urls: list[str], own_host: str) -> list[str]:
    """The URLs among ``urls`` that go to a host other than ``own_host`` (host:port)."""
    return sorted(
        {
            url
            for url in urls
            if urlsplit(url).scheme not in INLINE and urlsplit(url).netloc != own_host
        }
    )


def test_outside_finds_other_hosts_only():
    own = "127.0.0.1:8501"
    urls = [
        "http://127.0.0.1:8501/_stcore/health",
        "ws://127.0.0.1:8501/_stcore/stream",
        "data:image/png;base64,AAAA",
        "blob:http://127.0.0.1:8501/5e1d",
        "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/x.svg",
        "http://127.0.0.1:8502/other-app",
    ]
    assert outside(urls, own) == [
        "http://127.0.0.1:8502/other-app",
        "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/x.svg",
    ]


def test_no_page_loads_anything_from_another_host(app_server, browser):
    url, db = app_server
    with Store(db) as store:
        store.raters.ensure("Dr Playwright")  # the study lead, who sees the most
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    context.on("websocket", lambda socket: requested.append(socket.url))
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_role("heading", name="Data", exact=True).wait_for(timeout=30_000)
        page.get_by_label("Your name").fill("Dr Playwright")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for(timeout=30_000)
        loaded: list[str] = []
        for title in PAGES:
            page.get_by_role("link", name=title).click()
            page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
            wait_idle(page)
            assert page.get_by_text("Sign in (in the sidebar)").count() == 0  # all shown
            page.wait_for_timeout(1_500)  # charts, images and the favicon arrive late
            loaded += page.evaluate(LOADED_URLS)
            for frame in page.frames[1:]:  # components draw in frames of their own
                loaded.append(frame.url)
        own_host = urlsplit(url).netloc
        assert any(urlsplit(u).path.startswith("/_stcore") for u in requested)  # it listened
        assert outside(requested, own_host) == []
        assert outside(loaded, own_host) == []
        assert page.locator("link[rel~='icon']").count() >= 1  # the favicon was among them
    finally:
        context.close()


def test_clinicians_see_no_deploy_button(app_server, page):
    url, _ = app_server
    page.goto(url)
    page.get_by_role("heading", name="Data", exact=True).wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_test_id("stMainMenuButton").click()
    page.get_by_test_id("stMainMenuList").first.wait_for(timeout=30_000)
    items = page.get_by_test_id("stMainMenuItemLabel").all_inner_texts()
    assert "Print" in items  # the viewer's menu
    assert "Clear cache" not in items and "Rerun" not in items
    assert page.get_by_test_id("stAppDeployButton").count() == 0
