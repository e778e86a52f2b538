"""Does scaling the PrO logit make ConPro's score order true severity? The same training
per seed with the paper's loss (scale 1) and with scaled logits, on the synthetic cohort
(whose severity is known), scored on its test-split patients: Kendall tau with the true
severity over all test images and among abnormal ones. Paired by seed, with a 95%
bootstrap interval over seeds.

    .venv/bin/python -m benchmarks.preference_scale [--seeds 3] [--scales 1,5] \
        [--patients 40] [--size 32] [--pairs-per-phase 960] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from core.demo import import_cohort
from core.learning.config import TrainConfig
from core.learning.data import load_store_splits
from core.learning.metrics import severity_tau
from core.learning.scoring import severity_scores
from core.learning.train import train
from core.store import Store
from core.synthetic import CohortConfig

from .common import bootstrap_interval, write_json


def one_seed(seed: int, scales: list[float], args: argparse.Namespace) -> dict:
    store = Store.memory()
    import_cohort(store, CohortConfig(patients=args.patients, image_size=32, seed=seed))
    splits = load_store_splits(store, args.size)
    test = splits["test"]
    abnormal = test.grades > 0
    row = {}
    for scale in scales:
        config = TrainConfig(
            method="conpro",
            image_size=args.size,
            pairs_per_phase=args.pairs_per_phase,
            preference_scale=scale,
            seed=seed,
            device="cpu",
        )
        result = train(config, splits["train"])
        scores = severity_scores(result.net, test.images, result.method.score_space, result.anchor)
        row[str(scale)] = {
            "tau_truth": severity_tau(scores, test.health),
            "tau_truth_abnormal": severity_tau(scores[abnormal], test.health[abnormal]),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--scales", default="1,5")
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--pairs-per-phase", type=int, default=960)
    parser.add_argument("--out", default="docs/bench/preference_scale.json")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    started = time.monotonic()
    rows = []
    for seed in range(args.seeds):
        rows.append(one_seed(seed, scales, args))
        print(f"seed {seed}: {json.dumps(rows[-1])}", flush=True)
    baseline = str(scales[0])
    paired = {}
    for scale in map(str, scales[1:]):
        paired[scale] = {}
        for metric in rows[0][baseline]:
            difference = np.array([r[scale][metric] - r[baseline][metric] for r in rows])
            paired[scale][metric] = {
                "mean": float(np.mean([r[scale][metric] for r in rows])),
                "baseline_mean": float(np.mean([r[baseline][metric] for r in rows])),
                "difference_mean": float(difference.mean()),
                "difference_ci95": bootstrap_interval(difference),
            }
    report = {
        "settings": vars(args),
        "seconds": round(time.monotonic() - started),
        "per_seed": rows,
        "paired_against_scale_" + baseline: paired,
    }
    print(json.dumps(paired, indent=2))
    write_json(report, args.out)


if __name__ == "__main__":
    main()
