"""Why the default recipe uses "mixed" BatchNorm in the preference phase: on the toy of
``tests/learning/test_train.py`` (brightness encodes the grade), the tau with the grade
per seed of the app's recipe (``FIRST_MODEL``) at the toy's size and budget, with each
BatchNorm mode during PrO: ``train`` (the paper: the pairs' batch statistics, while the
anchor is read in eval mode), ``frozen`` (the Con step's statistics) and ``mixed`` (the
anchor's normals share the pairs' batch); and, as the control, the same network
untrained (method ``random``). Run it at 1 and at 2 threads:

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.toy_batchnorm --threads 1
    .venv/bin/python -m benchmarks.toy_batchnorm --threads 2
"""

from __future__ import annotations

import argparse

import torch

from core.learning.config import PRO_BATCHNORM
from core.learning.metrics import severity_tau
from core.learning.recipes import FIRST_MODEL
from core.learning.scoring import severity_scores
from core.learning.train import train
from tests.learning.test_train import TINY, toy_set

from .common import write_json


def toy_tau(seed: int, **settings) -> float:
    data = toy_set(n=60, seed=seed)
    base = {**TINY, "pairs_per_phase": 400, "batch_size": 8, "anchor_n": 6, "seed": seed}
    result = train(FIRST_MODEL.with_settings(**base, **settings), data)
    scores = severity_scores(result.net, data.images, result.method.score_space, result.anchor)
    return round(severity_tau(scores, data.grades), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--modes", default=",".join(PRO_BATCHNORM))
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {"threads": args.threads, "ceiling": "0.90 (grades tie)"}
    for mode in args.modes.split(","):
        report[mode] = [toy_tau(seed, pro_batchnorm=mode) for seed in range(args.seeds)]
        print(f"BatchNorm {mode} during PrO: tau per seed {report[mode]}", flush=True)
    # the control: the same network untrained, which sees the toy's brightness too
    report["untrained"] = [toy_tau(seed, method="random") for seed in range(args.seeds)]
    print(f"untrained (method random): tau per seed {report['untrained']}", flush=True)
    write_json(report, args.out or f"docs/bench/toy_batchnorm_{args.threads}thread.json")


if __name__ == "__main__":
    main()
