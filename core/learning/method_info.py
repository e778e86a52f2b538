"""What the UI needs to know about learning, without importing torch: the training
methods by name (a dropdown, a description) and the trend classes. The pages must not
load the deep-learning stack into the app."""

from __future__ import annotations

from dataclasses import dataclass

TRENDS = ("improved", "same", "deteriorated")  # the trend probe's classes, in this order
PREFERENCE_PHASES = ("pro", "semise")  # the phases that learn from preference pairs


@dataclass(frozen=True)
class MethodInfo:
    name: str
    description: str
    score_space: str  # preference | contrastive | features | regression | classifier
    needs_preferences: bool  # trains on preference pairs (grades, expert answers)
    phases: tuple[str, ...]


METHOD_INFO: dict[str, MethodInfo] = {
    m.name: m
    for m in (
        MethodInfo(
            "conpro",
            "ConPro: binary margin contrastive, then Bradley-Terry preference",
            "preference",
            True,
            ("con", "pro"),
        ),
        MethodInfo(
            "semise",
            "SEMISE: Con, then alpha NT-Xent + (1 - alpha) preference",
            "preference",
            True,
            ("con", "semise"),
        ),
        MethodInfo(
            "selfpro",
            "Cold start: SimCLR on the unlabelled images, then SEMISE's NT-Xent + preference "
            "from expert answers, anchored at a handful of images marked normal (no grades)",
            "preference",
            True,
            ("simclr", "semise"),
        ),
        MethodInfo(
            "learner",
            "LEARNER: MSE on the health score + (weighted) score-ranked contrastive",
            "regression",
            False,
            ("learner",),
        ),
        MethodInfo(
            "comcl",
            "CoMCL (image level): each image against its low-quality twin, the other "
            "class's views as negatives, hardest first with a self-paced share that grows "
            "over training (patch level not built yet)",
            "contrastive",
            False,
            ("comcl",),
        ),
        MethodInfo(
            "supcon2",
            "SupCon-2: the Con step alone (normal vs abnormal)",
            "contrastive",
            False,
            ("con",),
        ),
        MethodInfo(
            "supconn",
            "SupCon-n: supervised contrastive over all grades",
            "contrastive",
            False,
            ("supcon",),
        ),
        MethodInfo(
            "simclr",
            "SimCLR: NT-Xent on augmented views, no labels",
            "contrastive",
            False,
            ("simclr",),
        ),
        MethodInfo(
            "supervised",
            "Supervised ResNet: cross-entropy on the grades, end to end (the ceiling)",
            "classifier",
            False,
            ("supervised",),
        ),
        MethodInfo("random", "Untrained encoder (random init)", "features", False, ()),
    )
}
