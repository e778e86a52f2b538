"""How long the Raters page takes with a large study: 20 raters, 100,000 judgments.

The store holds ``--images`` images and ``--judgments`` standing answers from 20
simulated raters (one of them guessing), 30% of them about a shared pool of pairs
that several raters answer, 5% repeats. Timed, each ``--repeats`` times:

- ``report``: every measure computed from the store (``core.raters.rater_report``);
- ``page_cold``: the page run in Streamlit's AppTest, signed in as the study lead, with
  its cache cleared (the first visit after a new answer);
- ``page_warm``: the same page again with the cached report (every other visit).

    .venv/bin/python -m benchmarks.raters_page [--judgments 100000] [--images 20000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from core.raters import rater_report
from core.simulation import SimulatedRater
from core.store import NewImage, Store
from core.store.rows import utc_now

from .common import write_json

RATERS = 20


def seed(store: Store, images: int, judgments: int) -> None:
    rng = np.random.default_rng(0)
    dataset = store.datasets.ensure("bench")
    truth = rng.random(images)
    with store.transaction():
        for i in range(images):
            store.images.add(NewImage(dataset, f"bench-{i}", "x.png", 8, 8, "train"))
    store.raters.ensure("Study lead")  # the first rater: the lead the page signs in as
    panel = [
        SimulatedRater(f"rater {r:02d}", noise=0.05 + 0.01 * r, left_bias=0.5 + 0.01 * r, seed=r)
        for r in range(RATERS - 1)
    ] + [SimulatedRater("rater guessing", lapse=1.0, seed=99)]
    rater_ids = [store.raters.ensure(r.name) for r in panel]
    shared = rng.integers(1, images + 1, (3000, 2))
    rows, mine = [], {r: [] for r in range(RATERS)}
    now = utc_now()
    for k in range(judgments):
        r = k % RATERS
        if mine[r] and rng.random() < 0.05:
            first = rows[mine[r][int(rng.integers(len(mine[r])))] - 1]
            left, right, repeat_of = first["right_image_id"], first["left_image_id"], first["id"]
        else:
            a, b = (
                shared[rng.integers(len(shared))]
                if rng.random() < 0.3
                else rng.integers(1, images + 1, 2)
            )
            if a == b:
                b = a % images + 1
            left, right, repeat_of = int(a), int(b), None
        row = {
            "id": k + 1,
            "left_image_id": left,
            "right_image_id": right,
            "outcome": panel[r].answer(truth[left - 1], truth[right - 1]),
            "rater_id": rater_ids[r],
            "created_at": now,
            "response_ms": int(rng.lognormal(np.log(4000), 0.5)),
            "strategy": "bench",
            "repeat_of": repeat_of,
        }
        rows.append(row)
        if repeat_of is None:
            mine[r].append(row["id"])
    with store.transaction():  # straight in: a benchmark's bulk load, not the page's path
        store.db.insert_all("judgments", rows)


def time_page(db: Path, clear: bool) -> float:
    from streamlit.testing.v1 import AppTest

    from core.paths import PROJECT_ROOT

    os.environ["SEVERITY_DB"] = str(db)
    app = AppTest.from_file(str(PROJECT_ROOT / "pages" / "raters.py"), default_timeout=120)
    app.run()
    app.sidebar.text_input(key="typed").input("Study lead")
    if clear:
        import streamlit as st

        st.cache_data.clear()
    started = time.perf_counter()
    app.sidebar.button(key="sign_in").click().run()
    elapsed = time.perf_counter() - started
    if app.exception or not app.dataframe:
        raise RuntimeError(f"the page did not render: {app.exception}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/bench/raters_page.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "app.db"
        with Store(db) as store:
            started = time.perf_counter()
            seed(store, args.images, args.judgments)
            print(f"seeded in {time.perf_counter() - started:.0f} s")
            report_seconds = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                report = rater_report(store)
                report_seconds.append(time.perf_counter() - started)
        cold = [time_page(db, clear=True) for _ in range(args.repeats)]
        warm = [time_page(db, clear=False) for _ in range(args.repeats)]
    result = {
        "config": {**vars(args), "raters": RATERS},
        "pairs_with_two_or_more_raters": report.alpha.n,
        "krippendorff_alpha": report.alpha.value,
        "report_s_median": statistics.median(report_seconds),
        "page_cold_s_median": statistics.median(cold),
        "page_warm_s_median": statistics.median(warm),
        "report_s": report_seconds,
        "page_cold_s": cold,
        "page_warm_s": warm,
    }
    write_json(result, args.out)
    print(
        f"report {result['report_s_median']:.2f} s; page cold {result['page_cold_s_median']:.2f} "
        f"s, warm {result['page_warm_s_median']:.2f} s (medians of {args.repeats}); alpha "
        f"{report.alpha.text()} over {report.alpha.n} shared pairs"
    )


if __name__ == "__main__":
    main()
