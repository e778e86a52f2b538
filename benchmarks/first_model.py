"""The app's first model: one model for both demo datasets, or one per dataset?

A fresh demo store (RetinaMNIST + the synthetic cohort of --patients patients) and the
worker's first-run configuration (``core.learning.recipes.FIRST_MODEL``, or --method /
--epochs), trained as the worker trains it (``train_version``), on both datasets at
once and on each on its own. Reported per dataset, on its own held-out images (the
cohort's test split; RetinaMNIST's validation split, as it ships without a test split):
``tau_truth`` on the cohort (its severity is known), ``tau_abnormal`` and ``auc_abnormal``,
and the time to train and evaluate.

    .venv/bin/python -m benchmarks.first_model --patients 120 --seeds 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from core.demo import COHORT_DATASET, RETINA_DATASET, seed_demo
from core.experiments.fair import typed_setting
from core.learning.from_store import train_version
from core.learning.recipes import FIRST_MODEL
from core.store import Store
from core.synthetic import CohortConfig

from .common import spread, write_json

ARMS = (
    ("both", "one model for both", None),
    ("cohort", "cohort only", COHORT_DATASET),
    ("retinamnist", "retinamnist only", RETINA_DATASET),
)
FIGURES = ("tau_truth", "tau_abnormal", "auc_abnormal", "tau")


def measure(store: Store, config, out: Path, dataset: str | None) -> dict:
    started = time.perf_counter()
    dataset_id = store.datasets.by_name(dataset)["id"] if dataset else None
    model, _ = train_version(store, config, out, dataset_id)
    seconds = time.perf_counter() - started
    figures = {  # each dataset on its own held-out images (test, else val)
        k: v for k, v in model["metrics"].items() if "@" in k and k.split("@")[0] in FIGURES
    }
    return {"seconds": seconds, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--method")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--pairs", type=int, help="pairs per phase (overrides the epochs)")
    parser.add_argument("--batchnorm", help="BatchNorm during PrO: train, frozen or mixed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other training setting, e.g. --set small_input=false (repeatable)",
    )
    parser.add_argument(
        "--arms", default="both,cohort,retinamnist", help="which of both,cohort,retinamnist"
    )
    parser.add_argument("--out", default="docs/bench/first_model.json")
    args = parser.parse_args()
    base = FIRST_MODEL
    if args.method:
        base = replace(base, method=args.method)
    if args.epochs:
        base = replace(base, epochs=args.epochs, pairs_per_phase=None)
    if args.pairs:
        base = replace(base, pairs_per_phase=args.pairs)
    if args.batchnorm:
        base = replace(base, pro_batchnorm=args.batchnorm)
    if args.set:
        settings = (text.partition("=") for text in args.set)
        base = base.with_settings(
            **{k.strip(): typed_setting(k.strip(), v.strip()) for k, _, v in settings}
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "demo.db") as store:
        seed_demo(store, CohortConfig(patients=args.patients))
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            config = replace(base, seed=seed)
            for key, arm, dataset in ARMS:
                if key not in args.arms.split(","):
                    continue
                row = {
                    "arm": arm,
                    "seed": seed,
                    **measure(store, config, Path(folder), dataset),
                }
                rows.append(row)
                print(row, flush=True)
    summary = {}
    for arm in dict.fromkeys(r["arm"] for r in rows):
        mine = [r for r in rows if r["arm"] == arm]
        keys = [k for k in mine[0] if k not in ("arm", "seed")]
        summary[arm] = {k: spread([r[k] for r in mine if k in r]) for k in keys}
    for arm, figures in summary.items():
        print(
            arm,
            ", ".join(
                f"{k} {v['median']:.3f} [{v['min']:.3f}, {v['max']:.3f}]"
                for k, v in figures.items()
            ),
        )
    write_json(
        {
            "config": base.to_dict(),
            "patients": args.patients,
            "threads": torch.get_num_threads(),
            "rows": rows,
            "summary": summary,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
