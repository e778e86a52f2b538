"""Server time on the Compare page from an answer to the next pair being ready, with
100,000 images and 100,000 judgments in the store.

Measured per answer, exactly the calls the page makes: store the answer (append-only,
with its double-submit token), then the page's own pair server
(``core.selection.serve.next_pair``: now and then a repeat; else, for the active
strategy, replay the new answer into the stored beliefs and draw the next pair from the
cached candidate ids, skipping pairs this rater already answered and pairs on other
raters' screens, sides at random), note it as on screen, fetch both image rows and
prepare both images as Streamlit sends them (decode, encode as PNG; zoom and contrast
are CSS in the browser). Streamlit's own
rendering and the browser are not included (``benchmarks/judging_latency.py`` has them).
Each strategy is measured in the same run, on the same store; the one-off build of the
beliefs (the active version's prior plus every answer replayed) is timed apart.

    .venv/bin/python -m benchmarks.compare_latency [--images 100000] [--judgments 100000]
        [--strategy random,active] [--db sqlite | postgresql | postgresql://HOST/postgres]

``--db postgresql`` runs on a throwaway PostgreSQL server (Debian's package); a URL names
a server's maintenance database, beside which a fresh database is made.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from core.imaging import save_pixels
from core.selection.serve import next_pair
from core.selection.state import catch_up
from core.selection.strategies import STRATEGIES, Scope, candidates_for
from core.store import Answer, NewImage, Store

from .common import fresh_database, write_json


def seed(store: Store, images: int, judgments: int) -> None:
    rng = np.random.default_rng(0)
    pixel_files = [
        save_pixels(store.media_root, rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))[0]
        for _ in range(16)
    ]
    dataset = store.datasets.ensure("bench")
    with store.transaction():
        for i in range(images):
            store.images.add(
                NewImage(dataset, f"bench-{i}", pixel_files[i % 16], 64, 64, "train", grade=i % 5)
            )
    raters = [store.raters.ensure(f"rater {r}") for r in range(50)]
    draw = random.Random(1)
    with store.transaction():
        made = 0
        while made < judgments:
            a, b = draw.sample(range(1, images + 1), 2)
            try:
                store.judgments.append(
                    Answer(
                        a,
                        b,
                        draw.choice(["left", "right", "equal"]),
                        raters[made % 50],
                        response_ms=1500,
                    )
                )
            except Exception:  # the rare repeated pair
                continue
            made += 1


def as_sent(path: Path) -> bytes:
    """What the page does with each image: Streamlit decodes the stored file and sends
    it as PNG (zoom and contrast are applied by the browser)."""
    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def measure(store: Store, answers: int, name: str, rater_number: int) -> list[float]:
    rater = store.raters.ensure(f"rater {rater_number}")  # has about 2,000 answers already
    dataset = store.datasets.by_name("bench")["id"]
    candidates = candidates_for(store, Scope(dataset_id=dataset))  # cached by the page
    strategy, rng = STRATEGIES[name], random.Random(2)
    pair = next_pair(store, rater, strategy, candidates, rng, dataset)
    timings = []
    for _ in range(answers):
        started = time.perf_counter()
        store.judgments.append(
            Answer(
                pair.left,
                pair.right,
                "left",
                rater,
                response_ms=900,
                strategy="repeat" if pair.repeat_of else name,
                request_token=uuid.uuid4().hex,
                repeat_of=pair.repeat_of,
            )
        )
        pair = next_pair(store, rater, strategy, candidates, rng, dataset, (pair.left, pair.right))
        store.screens.show(rater, pair.left, pair.right)
        for image_id in (pair.left, pair.right):
            row = store.images.get(image_id)
            as_sent(store.media_path(row["pixel_path"]))
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def build_beliefs(store: Store) -> float:
    """Seconds for the first build of the beliefs (what a new active version costs)."""
    started = time.perf_counter()
    catch_up(store, store.datasets.by_name("bench")["id"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--judgments", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--strategy", default="random,active", help="comma-separated")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql, or a server URL")
    parser.add_argument("--out", default="docs/bench/compare_latency.json")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.db == "sqlite":
            location = str(folder / "bench.db")
        elif args.db == "postgresql":
            from devtools.postgres import throwaway_cluster

            location = stack.enter_context(throwaway_cluster()).create_database()
        else:
            location = fresh_database(args.db)
        store = stack.enter_context(Store(location, media_root=folder / "media"))
        result = run(store, args)
        result["backend"] = store.db.dialect.name
    print(json.dumps(result, indent=2))
    write_json(result, args.out)


def run(store: Store, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    seed(store, args.images, args.judgments)
    seeded = time.perf_counter() - started
    result = {
        "images": args.images,
        "judgments": args.judgments,
        "answers": args.answers,
        "seed_seconds": round(seeded, 1),
    }
    for number, name in enumerate(args.strategy.split(",")):
        if STRATEGIES[name].needs_beliefs:
            result["belief_build_seconds"] = round(build_beliefs(store), 2)
        timings = sorted(measure(store, args.answers, name, number))
        result[name] = {
            "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 2),
            "max_ms": round(timings[-1], 2),
        }
    return result


if __name__ == "__main__":
    main()
