"""The learning curves of ``python -m core sim-bench`` reports as one PNG: held-out
tau_truth of the model (with its 95% interval) and of the Bradley-Terry ranking of the
judged images, against the number of answers, one panel per report.

    .venv/bin/python -m benchmarks.plot_learning_curves docs/bench/sim_cohort_*.json \\
        --out docs/learning_curves.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

COLOURS = {
    "random": "C0",
    "active": "C1",
    "random+reliability": "C2",
    "coverage": "C4",
    "no-answers": "C7",
}


def title(report: dict) -> str:
    config = report["config"]
    labels = "grades" if config["labels"] == "grades" else f"{config['normals']} normals"
    extra = f", guesser {config['guessing_share']:.0%}" if config.get("guessing_share") else ""
    return f"{labels}, noise {config['rater_noise']}{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--out", default="docs/learning_curves.png")
    args = parser.parse_args()
    reports = [json.loads(Path(p).read_text()) for p in args.reports]
    figure = Figure(figsize=(4.2 * len(reports), 3.6))
    axes = figure.subplots(1, len(reports), sharey=True, squeeze=False)
    for axis, report in zip(axes[0], reports, strict=True):
        for name, entry in report["strategies"].items():
            colour = COLOURS.get(name, "C3")
            curve = [row for row in entry["curve"] if "model_tau_truth" in row]  # with seeds
            x = [row["checkpoint"] for row in curve]
            model = [row["model_tau_truth"] for row in curve]
            axis.plot(x, [m["mean"] for m in model], "o-", color=colour, label=f"{name}: model")
            axis.fill_between(
                x,
                [m["ci95"][0] for m in model],
                [m["ci95"][1] for m in model],
                color=colour,
                alpha=0.15,
            )
            judged = [(r["checkpoint"], r["bradley_terry_tau_truth"]) for r in curve]
            judged = [(c, bt["mean"]) for c, bt in judged if bt]  # the control judges nothing
            if judged:
                xs, bt = zip(*judged, strict=True)
                axis.plot(xs, bt, "x--", color=colour, alpha=0.7, label=f"{name}: Bradley-Terry")
        if report.get("first_model"):
            axis.axhline(report["first_model"]["mean"], color="grey", lw=0.8, ls=":")
        axis.set_title(title(report), fontsize=10)
        axis.set_xlabel("answers")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("Kendall tau with the true severity")
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
