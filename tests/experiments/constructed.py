"""Per-seed results of the simulated-rater benchmark built by hand, whose taus are known:
scores in the truth's order on 12 held-out images (two per patient) with some adjacent
pairs swapped; each swap costs 2/66 of Kendall tau."""

from __future__ import annotations

import numpy as np

IMAGES = 12
SWAP = 2 / 66  # tau lost per swapped adjacent pair


def swapped(pairs: int) -> dict:
    """A held-out record with ``pairs`` adjacent pairs swapped (tau 1 - pairs * SWAP)."""
    truth = np.arange(float(IMAGES))
    score = truth.copy()
    for i in range(pairs):
        score[[2 * i, 2 * i + 1]] = score[[2 * i + 1, 2 * i]]
    patient = [k // 2 for k in range(IMAGES)]
    return {"score": score.tolist(), "truth": truth.tolist(), "patient": patient}


def point(checkpoint: int, pairs: int, answers: bool = True, steps: int = 10) -> dict:
    return {
        "checkpoint": checkpoint,
        "judgments": checkpoint if answers else 0,
        "model": swapped(pairs),
        "bradley_terry": swapped(pairs) if answers else {"score": [], "truth": [], "patient": []},
        "judged_images": 2 * checkpoint if answers else 0,
        "steps": {"con": 4, "pro": steps + checkpoint // 10},
        "judgments_trained_on": checkpoint if answers else 0,
        "wall_seconds": 1.0,
    }


def curve(points: list[dict], diverged: dict | None = None) -> dict:
    return {
        "points": points,
        "diverged": diverged,
        "choice_ms_median": 1.0,
        "wall_seconds": 2.0 * len(points),
    }


def run(seed: int, swaps: dict[str, list[int]], checkpoints, start: int | None = 6) -> dict:
    """A seed's result: each curve's swaps at the checkpoints (fewer swaps than
    checkpoints: the curve diverged at the next one); ``start``: the first model's."""
    curves = {}
    for name, at in swaps.items():
        answers = name != "no-answers"
        points = [point(c, s, answers) for c, s in zip(checkpoints, at, strict=False)]
        diverged = None
        if len(at) < len(checkpoints):
            diverged = {"checkpoint": checkpoints[len(at)], "diverged": True, "error": "nan"}
        curves[name] = curve(points, diverged)
    return {
        "seed": seed,
        "start": swapped(start) if start is not None else None,
        "start_steps": {"con": 4, "pro": 4} if start is not None else None,
        "curves": curves,
        "wall_seconds": {"first_model": 1.0, "total": 10.0 + seed},
        "threads": 1,
    }
