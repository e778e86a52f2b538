"""The study lead's view of the raters in a real browser."""

import numpy as np
import pytest

from core.paths import PROJECT_ROOT
from core.simulation import SimulatedRater, judge_pairs, truth_of
from core.store import Store
from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def test_the_lead_sees_bias_agreement_and_cycles(app_server, page):
    url, db = app_server
    with Store(db) as store:
        store.raters.ensure("Dr Playwright")  # the study lead, unless the Compare flow ran first
        truth = truth_of(store)
        ids = sorted(truth)
        rng = np.random.default_rng(0)
        drawn = [tuple(int(x) for x in rng.choice(ids, 2, replace=False)) for _ in range(60)]
        pairs = list({frozenset(pair): pair for pair in drawn}.values())  # sides random
        for name, rater in (
            ("Dr Careful", SimulatedRater("Dr Careful", noise=0.02, seed=1)),
            ("Dr Lefty", SimulatedRater("Dr Lefty", noise=0.3, left_bias=0.9, seed=2)),
        ):
            judge_pairs(store, rater, pairs, truth, strategy=f"browser-{name}")
    page.goto(f"{url}/raters")
    page.get_by_label("Your name").fill("Dr Playwright")
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    page.get_by_role("heading", name="Raters", exact=True).wait_for(timeout=30_000)
    page.get_by_role("heading", name="Agreement between raters").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)  # the charts load late
    assert page.locator(".js-plotly-plot").count() == 2  # position bias, agreement heat map
    assert page.get_by_text("Krippendorff's alpha (ordinal)").count() == 1
    assert page.get_by_role("button", name="Rater table as CSV").count() == 1
    bias_plot = page.locator(".js-plotly-plot").first.inner_text()
    assert "Dr Lefty" in bias_plot and "Dr Careful" in bias_plot
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "raters.png"), full_page=True)
