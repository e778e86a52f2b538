"""The benchmarks' reports: markdown tables of figures with their intervals, the machine
they ran on, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

from core.learning.config import TrainConfig

from .resampling import FIGURES

REFERENCE = "conpro"
CON_STEP = "conpro:con"  # ConPro scored after its Con step: SupCon-2 at the same budget
TITLES = {
    "macro_f1": "macro-F1",
    "macro_recall": "macro recall",
    "accuracy": "accuracy",
    "maee": "MAEE",
    "maee_bayes": "MAEE (Bayes)",
    "qwk": "QW kappa",
    "tau": "Kendall tau",
    "tau_abnormal": "tau abnormal",
    "auc_abnormal": "AUC abnormal",
    "tau_truth": "tau truth",
}


def machine(config: TrainConfig) -> dict:
    cuda = config.device != "cpu" and torch.cuda.is_available()
    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "platform": platform.platform(),
    }


def markdown_table(report: dict, figures: tuple[str, ...] = FIGURES) -> str:
    """Mean ± sd over seeds [95% bootstrap interval], then paired differences."""
    methods = report["methods"]
    shown = [f for f in figures if all(f in m["metrics"] for m in methods.values())]
    lines = [
        "| method | " + " | ".join(TITLES[f] for f in shown) + " | train s |",
        "|" + " --- |" * (len(shown) + 2),
    ]
    for label, summary in methods.items():
        cells = [_cell(summary["metrics"][f]) for f in shown]
        seconds = summary.get("train_seconds")
        cells.append(f"{seconds:.0f}" if seconds is not None else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for reference in (REFERENCE, CON_STEP):
        paired = {
            k: v["paired"][reference]
            for k, v in methods.items()
            if reference in v.get("paired", {})
        }
        if not paired:
            continue
        lines += [
            "",
            f"Paired differences, {reference} minus the row (mean [95% interval]):",
            "",
            "| row | " + " | ".join(TITLES[f] for f in shown) + " |",
            "|" + " --- |" * (len(shown) + 1),
        ]
        for label, figures_of in paired.items():
            cells = [
                f"{figures_of[f]['mean']:+.3f} [{figures_of[f]['ci95'][0]:+.3f}, "
                f"{figures_of[f]['ci95'][1]:+.3f}]"
                for f in shown
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(figure: dict) -> str:
    """mean ± SD over seeds [95% interval]; a paired difference has no SD column."""
    low, high = figure["ci95"]
    spread = f" ± {figure['std']:.3f}" if "std" in figure else ""
    return f"{figure['mean']:.3f}{spread} [{low:.3f}, {high:.3f}]"


def write_report(report: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2))


def robustness_table(report: dict, figures: tuple[str, ...] = ("macro_f1", "tau_abnormal")) -> str:
    """Clean and degraded figures and the paired drop, as markdown."""
    degraded = report.get("degraded")
    if not degraded:
        return ""
    header = " | ".join(f"{f} clean | {f} degraded | {f} drop" for f in figures)
    lines = [f"| method | {header} |", "| --- |" + " --- |" * (3 * len(figures))]
    for label, entry in degraded["methods"].items():
        clean = report["methods"][label]["metrics"]
        cells = []
        for f in figures:
            if f not in entry["drop"]:
                cells += ["-", "-", "-"]
                continue
            cells += [_cell(clean[f]), _cell(entry["degraded"][f]), _cell(entry["drop"][f])]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, entry in degraded["methods"].items():
        for key, differences in entry.items():
            if key.startswith("smaller_drop_than_"):
                shown = ", ".join(f"{f} {_cell(v)}" for f, v in differences.items())
                lines.append(f"- {label} loses less than {key[18:]} by: {shown}")
    return "\n".join(lines)
