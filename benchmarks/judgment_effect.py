"""Do judgments change the model? The same training twice per seed, without and then
with a simulated rater's answers (core.simulation, from the synthetic cohort's known
severity), paired by seed: agreement with the answers it was trained on, agreement with
answers about validation images it never saw, and Kendall tau against the true severity
of the validation images. Paired differences with a 95% bootstrap interval over seeds.

    .venv/bin/python -m benchmarks.judgment_effect [--seeds 5] [--answers 200] \
        [--patients 60] [--size 32] [--pairs-per-phase 960] [--share 0.5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
from scipy.stats import kendalltau

from core.demo import import_cohort
from core.learning.config import TrainConfig
from core.learning.data import load_store_splits
from core.learning.scoring import severity_scores
from core.learning.train import train
from core.simulation import SimulatedRater, judge_pairs, truth_of
from core.store import Store
from core.synthetic import CohortConfig

from .common import bootstrap_interval, write_json


def agreement(scores: np.ndarray, position: dict, judged: list[dict]) -> float:
    decided = [j for j in judged if j["outcome"] in ("left", "right")]
    hits = [
        (scores[position[j["left_image_id"]]] > scores[position[j["right_image_id"]]])
        == (j["outcome"] == "left")
        for j in decided
    ]
    return float(np.mean(hits))


def random_pairs(ids: list[int], count: int, rng: np.random.Generator) -> list[tuple]:
    every = list(itertools.combinations(ids, 2))
    return [every[k] for k in rng.choice(len(every), min(count, len(every)), replace=False)]


def one_seed(seed: int, args: argparse.Namespace) -> dict:
    store = Store.memory()
    import_cohort(store, CohortConfig(patients=args.patients, image_size=args.size, seed=seed))
    rng = np.random.default_rng(seed)
    truth = truth_of(store)
    on_train = random_pairs(store.images.ids(split="train"), args.answers, rng)
    on_val = random_pairs(store.images.ids(split="val"), args.answers // 4, rng)
    judge_pairs(store, SimulatedRater(noise=0.05, seed=seed), on_train + on_val, truth)
    answers = store.judgments.effective()
    splits = load_store_splits(store, args.size, None)
    config = TrainConfig(
        method="conpro",
        image_size=args.size,
        pairs_per_phase=args.pairs_per_phase,
        judgment_share=args.share,
        seed=seed,
        device="cpu",
    )
    row = {}
    for name, given in (("without", None), ("with", answers)):
        result = train(config, splits["train"], given)
        figures = {}
        for split in ("train", "val"):
            images = splits[split]
            scores = severity_scores(
                result.net, images.images, result.method.score_space, result.anchor
            )
            position = {int(i): k for k, i in enumerate(images.image_ids)}
            usable = [
                j
                for j in answers
                if j["left_image_id"] in position and j["right_image_id"] in position
            ]
            figures[f"agreement_{split}"] = agreement(scores, position, usable)
            if split == "val":
                figures["tau_truth_val"] = float(kendalltau(scores, images.health).statistic)
        row[name] = figures
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--pairs-per-phase", type=int, default=960)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--out", default="docs/bench/judgment_effect.json")
    args = parser.parse_args()
    started = time.monotonic()
    rows = []
    for seed in range(args.seeds):
        rows.append(one_seed(seed, args))
        print(f"seed {seed}: {json.dumps(rows[-1])}", flush=True)
    summary = {}
    for metric in rows[0]["with"]:
        without = np.array([r["without"][metric] for r in rows])
        with_ = np.array([r["with"][metric] for r in rows])
        difference = with_ - without
        summary[metric] = {
            "without_mean": float(without.mean()),
            "with_mean": float(with_.mean()),
            "difference_mean": float(difference.mean()),
            "difference_std": float(difference.std(ddof=1)) if len(rows) > 1 else 0.0,
            "difference_ci95": bootstrap_interval(difference),
        }
    result = {
        "settings": vars(args),
        "seconds": round(time.monotonic() - started),
        "per_seed": rows,
        "paired": summary,
    }
    print(json.dumps(summary, indent=2))
    write_json(result, args.out)


if __name__ == "__main__":
    main()
