"""Do warm retrains lose quality? Warm chains against retrains from scratch on the same answers.

For each seed: the synthetic cohort and the app's first model (``FIRST_MODEL``, trained
from the grades); a simulated rater (the ``sim-bench`` rater: noise 0.1, position bias
0.1, lapse 0.05) answers random pairs of training images through the store. After every
``--every`` answers (the worker's default, 50) a warm retrain continues the active
version, as the worker's automatic retrain does, and is activated only if the worker's
own activation step (``core.worker.activation.judge``) lets it. At each checkpoint a
version is also trained from scratch on the same answers. Both are scored against the
true severity on the held-out (test-split) patients' images.

The chain is warm all the way: the worker would train from scratch after every
``scratch_every`` warm generations (10), so this is the harder case for warm retrains.
Random pairs do not depend on any model, so both arms see the same answers.

Reported: per checkpoint, tau_truth of each arm (mean, min, median, max over seeds), the
paired difference warm minus scratch with a 95% interval resampling seeds and, within
each, held-out *patients*; how often a warm retrain was held back as worse than the
active version; the time of each kind of retrain.

    .venv/bin/python -m benchmarks.warm_quality --seeds 5 --checkpoints 250,500,1000

Seeds can run in separate processes (``--first-seed``, ``--seeds``, ``--threads 1``, each
with its own ``--out``) and be summarised together afterwards:

    .venv/bin/python -m benchmarks.warm_quality --merge a.json b.json --out all.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from core.experiments.sim_bench import (
    SimBenchConfig,
    held_out_ids,
    import_data,
    judge_pairs,
    paired_tau_difference,
    rater_panel,
    retrain,
)
from core.learning.config import TrainConfig
from core.learning.metrics import severity_tau
from core.learning.recipes import FIRST_MODEL
from core.simulation import truth_of
from core.store import Store
from core.worker.activation import judge

from .common import spread, write_json

ARMS = ("warm", "active", "scratch")  # the newest warm version, the active one, scratch


def run_seed(
    seed: int, checkpoints: list[int], every: int, folder: Path, recipe: TrainConfig, patients: int
) -> dict:
    sim = SimBenchConfig(
        patients=patients, strategies=("random",), judgments=checkpoints[-1], checkpoints=(every,)
    )
    train = replace(recipe, seed=seed)
    points, chain, seconds = [], [], {"warm": [], "scratch": []}
    with Store(folder / "study.db") as store:
        dataset_id = store.datasets.by_name(import_data(store, sim, seed))["id"]
        truth = truth_of(store)
        held_out = held_out_ids(store, dataset_id)
        patient = {r["id"]: r["patient_id"] for r in store.images.query(dataset_id=dataset_id)}
        pool = store.images.ids(dataset_id=dataset_id, split="train")
        first = retrain(store, train, folder / "models", dataset_id)  # activated
        panel = [(r, store.raters.ensure(r.name), share) for r, share in rater_panel(sim, seed)]
        rng, given = random.Random(seed), 0
        while given < checkpoints[-1]:
            added, _ = judge_pairs(
                store, "random", panel, pool, truth, every, rng, dataset_id, sim.serving
            )
            given += added
            parent = store.models.active(dataset_id, own_only=True)
            started = time.perf_counter()
            warm = retrain(store, train, folder / "models", dataset_id, False, parent)
            seconds["warm"].append(time.perf_counter() - started)
            store.models.chain_ready(warm["id"])
            verdict = judge(store, store.models.get(warm["id"]))  # the worker's own step
            if verdict.activate:
                store.models.activate(warm["id"])
            chain.append(
                {
                    "answers": given,
                    "parent_version": parent["version"],
                    "activated": verdict.activate,
                    **{k: v for k, v in verdict.record.items() if k.startswith("vs_active")},
                }
            )
            if given not in checkpoints:
                continue
            started = time.perf_counter()
            scratch = retrain(store, train, folder / "models", dataset_id, False)
            seconds["scratch"].append(time.perf_counter() - started)
            active = store.models.active(dataset_id, own_only=True)
            versions = {"warm": warm, "active": active, "scratch": scratch}
            point = {
                "answers": given,
                "patient": [patient[i] for i in held_out],
                "truth": [truth[i] for i in held_out],
                **{arm: _scores(store, versions[arm]["id"], held_out) for arm in ARMS},
            }
            points.append(point)
            taus = {
                arm: severity_tau(np.array(point[arm]), np.array(point["truth"])) for arm in ARMS
            }
            print(
                f"seed {seed}, {given} answers: tau_truth "
                + ", ".join(f"{arm} {tau:.3f}" for arm, tau in taus.items()),
                flush=True,
            )
        first_tau = severity_tau(
            np.array(_scores(store, first["id"], held_out)),
            np.array([truth[i] for i in held_out]),
        )
    return {
        "seed": seed,
        "first_tau_truth": first_tau,
        "points": points,
        "chain": chain,
        "seconds": seconds,
    }


def _scores(store: Store, model_id: int, images: list[int]) -> list[float]:
    scores = store.embeddings.severity_scores(model_id)
    return [scores[i][0] for i in images]


def paired_by_patient(points: list[dict], arm: str, resamples: int, seed: int = 0) -> dict:
    """tau(arm) - tau(scratch) on the same held-out images: the mean over seeds, and a 95%
    interval resampling seeds and, within each, held-out patients (all their images)."""

    def records(name: str) -> list[dict]:
        return [{"score": p[name], "truth": p["truth"], "patient": p["patient"]} for p in points]

    rng = np.random.default_rng(seed)
    return paired_tau_difference(records(arm), records("scratch"), resamples, rng, "patient")


def summarise(runs: list[dict], checkpoints: list[int], resamples: int) -> dict:
    rows = []
    for k, answers in enumerate(checkpoints):
        points = [r["points"][k] for r in runs]
        taus = {
            arm: [severity_tau(np.array(p[arm]), np.array(p["truth"])) for p in points]
            for arm in ARMS
        }
        rows.append(
            {
                "answers": answers,
                **{f"{arm}_tau_truth": spread(values) for arm, values in taus.items()},
                "warm_minus_scratch": paired_by_patient(points, "warm", resamples),
                "active_minus_scratch": paired_by_patient(points, "active", resamples),
            }
        )
    chain = [c for r in runs for c in r["chain"]]
    held_back = [c for c in chain if not c["activated"]]
    return {
        "first_model_tau_truth": spread([r["first_tau_truth"] for r in runs]),
        "checkpoints": rows,
        "warm_retrains": len(chain),
        "held_back": len(held_back),
        "held_back_at": [c["answers"] for c in held_back],
        "seconds_median": {
            kind: float(np.median([s for r in runs for s in r["seconds"][kind]]))
            for kind in ("warm", "scratch")
        },
    }


def report_of(runs: list[dict], settings: dict, checkpoints: list[int], resamples: int) -> dict:
    report = {"settings": settings, **summarise(runs, checkpoints, resamples), "runs": runs}
    for row in report["checkpoints"]:
        d = row["warm_minus_scratch"]
        print(
            f"{row['answers']} answers: warm {row['warm_tau_truth']['mean']:.3f}, scratch "
            f"{row['scratch_tau_truth']['mean']:.3f}, warm minus scratch {d['mean']:+.3f} "
            f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"
        )
    print(f"held back: {report['held_back']} of {report['warm_retrains']} warm retrains")
    return report


def merged(paths: list[str], resamples: int) -> dict:
    """The runs of several result files (complete or ``.partial``) as one report; every
    file must have been made with the same checkpoints, and a seed may appear once."""
    runs: dict[int, dict] = {}
    settings: list[dict] = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        settings.append({"file": path, **data.get("settings", {})})
        for run in data["runs"]:
            if run["seed"] in runs:
                raise SystemExit(f"seed {run['seed']} is in more than one file ({path})")
            runs[run["seed"]] = run
    same = ("every", "patients", "pairs", "config")  # what must match for runs to pool
    kinds = {json.dumps({k: s.get(k) for k in same}, sort_keys=True) for s in settings}
    if len(kinds) != 1:
        raise SystemExit(f"the files were run with different settings ({', '.join(same)})")
    points = {tuple(p["answers"] for p in run["points"]) for run in runs.values()}
    if len(points) != 1:
        raise SystemExit(f"the files were run with different checkpoints: {sorted(points)}")
    checkpoints = list(points.pop())
    ordered = [runs[seed] for seed in sorted(runs)]
    return report_of(ordered, {"merged": settings}, checkpoints, resamples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--checkpoints", default="250,500,1000")
    parser.add_argument("--every", type=int, default=50, help="answers between warm retrains")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--patients", type=int, default=120, help="synthetic cohort size")
    parser.add_argument("--pairs", type=int, help="pairs a phase (default: the recipe's)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="summarise earlier runs")
    parser.add_argument("--out", default="docs/bench/warm_quality.json")
    args = parser.parse_args()
    if args.merge:
        write_json(merged(args.merge, args.resamples), args.out)
        return
    torch.set_num_threads(args.threads)
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    if any(c % args.every for c in checkpoints):
        raise SystemExit("each checkpoint must be a multiple of --every")
    recipe = replace(FIRST_MODEL, pairs_per_phase=args.pairs) if args.pairs else FIRST_MODEL
    settings = {**vars(args), "config": recipe.to_dict()}
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        with tempfile.TemporaryDirectory() as folder:
            run = run_seed(seed, checkpoints, args.every, Path(folder), recipe, args.patients)
            runs.append(run)
        write_json({"settings": settings, "runs": runs}, args.out + ".partial")
    write_json(report_of(runs, settings, checkpoints, args.resamples), args.out)


if __name__ == "__main__":
    main()
