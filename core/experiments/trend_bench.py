"""LEARNER's Table 3 on the synthetic cohort: pre-train with MSE, MSE + CL or MSE + wCL
on the health score, then classify the trend between consecutive visits, split by patient."""

from __future__ import annotations

import numpy as np

from core.learning.config import TrainConfig
from core.learning.metrics import severity_tau
from core.learning.scoring import severity_scores
from core.learning.train import TrainingDiverged, train
from core.learning.trend import evaluate_trend
from core.synthetic import CohortConfig

from .datasets import cohort_splits

# LEARNER's pre-training variants (its Table 3), then ConPro for the score-change calls
ARM_SETTINGS = {v: {"method": "learner", "learner.loss": v} for v in ("mse", "cl", "wcl")}
ARMS = ("mse", "cl", "wcl", "conpro")


TREND_FIGURES = (
    "trend_macro_f1",
    "trend_accuracy",
    "trend_score_change_macro_f1",
    "trend_score_change_accuracy",
    "trend_majority_accuracy",
    "tau_truth",
)


def run_trend_benchmark(
    base: TrainConfig,
    cohort: CohortConfig,
    seeds: int,
    arms: tuple[str, ...] = ARMS,
    log=print,
) -> dict:
    """Each arm (a LEARNER pre-training variant, or another method by name) trained on
    the training patients; trend figures on the test patients, both ways of calling."""
    splits = cohort_splits(cohort, base.image_size)
    runs: list[dict] = []
    for arm in arms:
        for seed in range(seeds):
            config = base.with_settings(seed=seed, **ARM_SETTINGS.get(arm, {"method": arm}))
            try:
                result = train(config, splits["train"])
            except TrainingDiverged as error:  # said and counted; it has no figures
                runs.append({"arm": arm, "seed": seed, "diverged": str(error)})
                log(f"{arm} seed {seed}: {error}")
                continue
            scores = {
                name: severity_scores(
                    result.net, part.images, result.method.score_space, result.anchor
                )
                for name, part in splits.items()
            }
            metrics = evaluate_trend(
                result.net,
                splits["train"],
                splits["val"],
                splits["test"],
                config.probe_epochs,
                seed,
                scores,
            )
            # how well the score orders the test patients' images by their true severity
            metrics["tau_truth"] = severity_tau(scores["test"], splits["test"].health)
            runs.append({"arm": arm, "seed": seed, **metrics})
            log(
                f"{arm} seed {seed}: trend macro-F1 {metrics['trend_macro_f1']:.3f} (probe), "
                f"{metrics['trend_score_change_macro_f1']:.3f} (score change)"
            )
    summary: dict[str, dict] = {}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm and "diverged" not in r]
        if not mine:
            continue
        summary[arm] = {
            k: [
                float(np.mean([r[k] for r in mine])),
                float(np.std([r[k] for r in mine], ddof=1)) if len(mine) > 1 else 0.0,
            ]
            for k in TREND_FIGURES
        }
        summary[arm]["diverged"] = len([r for r in runs if r["arm"] == arm]) - len(mine)
    return {
        "config": base.to_dict(),
        "cohort": {"patients": cohort.patients, "seed": cohort.seed},
        "patients_per_split": {s: len(set(d.patients)) for s, d in splits.items()},
        "runs": runs,
        "summary": summary,
    }


def trend_table(report: dict) -> str:
    names = {"mse": "LEARNER, MSE", "cl": "LEARNER, MSE + CL", "wcl": "LEARNER, MSE + wCL"}
    titles = ("probe macro-F1", "probe accuracy", "score-change macro-F1", "score-change accuracy")
    lines = [
        "| pre-training | " + " | ".join(titles) + " | majority accuracy | tau truth |",
        "|" + " --- |" * (len(titles) + 3),
    ]
    for arm, values in report["summary"].items():
        cells = [f"{values[k][0]:.3f} ± {values[k][1]:.3f}" for k in TREND_FIGURES[:4]]
        cells.append(f"{values['trend_majority_accuracy'][0]:.3f}")
        cells.append(f"{values['tau_truth'][0]:.3f} ± {values['tau_truth'][1]:.3f}")
        lines.append(f"| {names.get(arm, arm)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
