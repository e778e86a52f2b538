"""LEARNER's Table 3 on the synthetic cohort: pre-train with MSE, MSE + CL or MSE + wCL
on the health score, then classify the trend between consecutive visits, split by patient."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.importers.splits import assign_split
from core.synthetic import CohortConfig, generate_cohort

from .config import TrainConfig
from .data import ImageSet, to_tensor
from .train import train
from .trend import evaluate_trend

VARIANTS = ("mse", "cl", "wcl")


def cohort_splits(cohort: CohortConfig, size: int) -> dict[str, ImageSet]:
    visits, pixels = zip(*generate_cohort(cohort), strict=True)
    images = to_tensor(np.stack(pixels), size)
    patients = np.array([v.patient_code for v in visits], dtype=object)
    full = ImageSet(
        images,
        np.array([v.grade for v in visits]),
        np.array([v.severity for v in visits]),
        np.arange(len(visits)),
        patients,
        np.array([v.visit_index for v in visits], dtype=float),
    )
    split_of = np.array([assign_split(p) for p in patients])
    return {s: full.subset(np.flatnonzero(split_of == s)) for s in ("train", "val", "test")}


def run_trend_benchmark(
    base: TrainConfig,
    cohort: CohortConfig,
    seeds: int,
    variants: tuple[str, ...] = VARIANTS,
    log=print,
) -> dict:
    splits = cohort_splits(cohort, base.image_size)
    runs = []
    for variant in variants:
        for seed in range(seeds):
            config = replace(base, method="learner", learner_loss=variant, seed=seed)
            result = train(config, splits["train"])
            metrics = evaluate_trend(
                result.net,
                splits["train"],
                splits["val"],
                splits["test"],
                config.probe_epochs,
                seed,
            )
            runs.append({"variant": variant, "seed": seed, **metrics})
            log(f"{variant} seed {seed}: trend macro-F1 {metrics['trend_macro_f1']:.3f}")
    summary = {
        v: {
            k: [
                float(np.mean([r[k] for r in runs if r["variant"] == v])),
                float(np.std([r[k] for r in runs if r["variant"] == v])),
            ]
            for k in ("trend_macro_f1", "trend_accuracy")
        }
        for v in variants
    }
    return {
        "config": base.to_dict(),
        "cohort": {"patients": cohort.patients, "seed": cohort.seed},
        "patients_per_split": {s: len(set(d.patients)) for s, d in splits.items()},
        "runs": runs,
        "summary": summary,
    }


def trend_table(report: dict) -> str:
    names = {"mse": "MSE", "cl": "MSE + CL", "wcl": "MSE + wCL"}
    lines = ["| pre-training | trend macro-F1 | trend accuracy |", "| --- | --- | --- |"]
    for variant, values in report["summary"].items():
        f1, acc = values["trend_macro_f1"], values["trend_accuracy"]
        lines.append(
            f"| {names.get(variant, variant)} | {f1[0]:.3f} ± {f1[1]:.3f} | "
            f"{acc[0]:.3f} ± {acc[1]:.3f} |"
        )
    return "\n".join(lines)
