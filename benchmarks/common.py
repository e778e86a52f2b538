"""What every benchmark does at the end: write its figures as JSON, and the bootstrap
interval the quality benchmarks report."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np


def fresh_database(maintenance_url: str) -> str:
    """A new, empty database on the PostgreSQL server of ``maintenance_url``; its URL."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return maintenance_url.rsplit("/", 1)[0] + "/" + name


def spread(values: list[float]) -> dict[str, float]:
    """Mean, min, median and max of a figure over runs, and how many runs."""
    return {
        "mean": float(np.mean(values)),
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
        "runs": len(values),
    }


def write_json(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def bootstrap_interval(values: np.ndarray, draws: int = 10_000) -> list[float]:
    """95% percentile bootstrap interval of the mean."""
    rng = np.random.default_rng(0)
    means = rng.choice(values, (draws, len(values))).mean(1)
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


def start_app(env: dict, timeout_s: float = 90) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free local port with ``env``; returns the process
    and its URL once its health endpoint answers (the browser benchmarks' app)."""
    from core.paths import PROJECT_ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)),
            *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"the app did not answer on {url} within {timeout_s:.0f} s")
