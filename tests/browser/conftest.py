"""A real ``streamlit run`` on a free local port, driven by Debian's Chromium."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.paths import PROJECT_ROOT
from tests.browser.large_map import large_map_study
from tests.helpers import modelled_cohort
from tests.worker.conftest import train_params

CHROMIUM = "/usr/bin/chromium"
LARGE_MAP = 20_000  # points on the large map: a real study's scale, built in about a second
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(db: Path):
    """``streamlit run app.py`` on ``db``, on a free port, until the block ends."""
    port = _free_port()
    env = {**os.environ, "SEVERITY_DB": str(db)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(PROJECT_ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not become healthy within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    db = modelled_cohort(tmp_path_factory.mktemp("browser") / "app.db", 48, train_params())
    with serving(db) as url:
        yield url, db


@pytest.fixture(scope="session")
def large_map_server(tmp_path_factory):
    """The app on a study whose map holds ``LARGE_MAP`` points (``large_map.py``)."""
    db = large_map_study(tmp_path_factory.mktemp("large_map") / "app.db", LARGE_MAP)
    with serving(db) as url:
        yield url, db


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Until Streamlit has finished running the script for the last interaction."""
    page.wait_for_timeout(150)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        timeout=timeout_ms
    )
