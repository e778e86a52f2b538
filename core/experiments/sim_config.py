"""The simulated-rater benchmark's configuration (``sim_bench``), one frozen dataclass
resolved once from the command line and stored with every seed's result."""

from __future__ import annotations

from dataclasses import dataclass

from core.selection.serve import Serving

from .arms import ARMS, NO_ANSWERS

LABELS = ("grades", "normals")  # "none": without a single normal there is no anchor


@dataclass(frozen=True)
class SimBenchConfig:
    data: str = "synthetic"  # or a MedMNIST-layout .npz
    patients: int = 120
    labels: str = "grades"
    normals: int = 20  # with labels "normals": training images marked normal
    # arms (core.experiments.arms.ARMS): answering strategies and the no-answers control
    strategies: tuple[str, ...] = ("random", "active", "coverage", NO_ANSWERS)
    judgments: int = 2000
    checkpoints: tuple[int, ...] = (100, 250, 500, 1000, 2000)
    rater_noise: float = 0.1  # on the 0-1 truth (grades are divided by 4)
    position_bias: float = 0.1  # extra probability of answering "left" when unsure
    lapse: float = 0.05
    # a count (seeds 0 to n - 1) or the seeds themselves
    seeds: int | tuple[int, ...] = 2
    resamples: int = 1000
    # a guessing rater (random answers) gives this share of the answers beside the rater
    guessing_share: float = 0.0
    # training variants at each checkpoint, on the same answers: "none" (every answer
    # counts the same) and/or "reliability" (answers weighted by their rater's trust)
    weightings: tuple[str, ...] = ("none",)
    # the app's pair server also serves repeats (a share of pairs answered before, sides
    # swapped); off unless asked, as in the curves measured so far. Simulated raters
    # answer at once, so no pair is ever on another rater's screen.
    repeats: bool = False
    # a panel instead of the one rater: a rater of each of these noises, equal shares
    # (position bias and lapse as above)
    panel: tuple[float, ...] = ()

    @property
    def serving(self) -> Serving:
        return Serving(repeats=self.repeats, screens=False)

    @property
    def seed_list(self) -> tuple[int, ...]:
        if isinstance(self.seeds, int):
            return tuple(range(self.seeds))
        return tuple(self.seeds)

    @property
    def answer_arms(self) -> tuple[str, ...]:
        return tuple(s for s in self.strategies if s != NO_ANSWERS)

    def __post_init__(self) -> None:
        if self.labels not in LABELS:
            raise ValueError(
                f"--labels {self.labels} is not available yet; the benchmark trains with "
                f"{', '.join(LABELS)}"
            )
        if sorted(self.checkpoints) != list(self.checkpoints) or not self.checkpoints:
            raise ValueError("checkpoints must be given in increasing order")
        if self.checkpoints[-1] > self.judgments:
            raise ValueError("the last checkpoint cannot exceed the number of judgments")
        if not 0.0 <= self.guessing_share < 1.0:
            raise ValueError("--guessing-share is a share of the answers, in [0, 1)")
        from core.learning.config import RATER_WEIGHTINGS

        if self.weightings[:1] != ("none",) or not set(self.weightings) <= set(RATER_WEIGHTINGS):
            raise ValueError(
                "--weightings starts with none (the curve the others are paired with) "
                f"and lists some of {', '.join(RATER_WEIGHTINGS)}"
            )
        if self.labels == "normals" and self.data != "synthetic":
            raise ValueError("--labels normals needs --data synthetic (its grades are known)")
        unknown = [s for s in self.strategies if s not in ARMS]
        if unknown or len(set(self.strategies)) < len(self.strategies) or not self.strategies:
            raise ValueError(
                f"--strategies lists each of some of {', '.join(ARMS)} once (not {unknown})"
            )
        if NO_ANSWERS in self.strategies and not self.answer_arms:
            raise ValueError(f"{NO_ANSWERS} trains as long as an answer arm: name one beside it")
        if not self.seed_list or min(self.seed_list) < 0:
            raise ValueError("--seeds: at least one seed, none negative")
        if any(n < 0 for n in self.panel):
            raise ValueError("--panel lists the raters' noises, none negative")


def config_from_settings(settings: dict, seeds: tuple[int, ...], resamples: int) -> SimBenchConfig:
    """The configuration a seed's file was made with (``seed_runs.run_settings``)."""
    values = {k: v for k, v in settings.items() if k != "train"}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return SimBenchConfig(**values, seeds=seeds, resamples=resamples)
