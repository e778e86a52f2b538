"""Training configuration: one frozen dataclass, resolved once from the CLI or the UI and
stored beside the checkpoint and in the model's database row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

SMALL_INPUT_MAX = 64  # up to this size a 3x3 stride-1 stem replaces ImageNet's
RATER_WEIGHTINGS = ("none", "reliability")


def uses_small_input(image_size: int) -> bool:
    return image_size <= SMALL_INPUT_MAX


@dataclass(frozen=True)
class TrainConfig:
    method: str = "conpro"  # a name from core.learning.methods.METHODS
    backbone: str = "resnet18"  # resnet18 (CPU default) or resnet50 (the papers, GPU)
    image_size: int = 32  # images are resized to this square size
    small_input: bool = True  # 3x3 stride-1 stem, no max-pool: right for 28-64 px
    weights_path: str | None = None  # optional local torchvision weights (never downloaded)
    epochs: float = 8.0  # passes over the training images in *each* phase, same for all
    pairs_per_phase: int | None = None  # the paper samples 1e5 pairs; overrides epochs
    batch_size: int = 32  # pairs (or pairs of views) per step: 2 x batch_size images
    optimizer: str = "sgd"  # sgd with momentum 0.9 as in the paper, or adam
    encoder_lr: float = 1e-2  # the paper: 1e-3 with ImageNet-scale data; see docs
    head_lr: float = 1e-2  # the paper: 1e-2
    weight_decay: float = 5e-4
    margin: float = 2.0  # Con step margin m in (0, 2]
    preference_scale: float = 1.0  # logit scale in the PrO loss; the paper: 1
    anchor_n: int = 10  # normal images averaged into the normality anchor (1, 10, 20)
    # Departures from the paper, each measured in docs/benchmarks.md (defaults = paper)
    pro_pairs: int | None = None  # pairs in the preference phase alone; overrides its budget
    pro_batchnorm: str = "train"  # BatchNorm during PrO: train (paper) or frozen statistics
    scoring_anchor: str = "first_n"  # anchor for s(x): the first anchor_n normals, or "all"
    augment_pairs: bool = False  # random views in the Con and PrO steps too
    normal_pull: float = 0.0  # weight of a PrO term keeping normal images near the anchor
    alpha: float = 0.5  # SEMISE: alpha * NT-Xent + (1 - alpha) * preference
    temperature: float = 0.5  # NT-Xent temperature
    supcon_temperature: float = 0.1  # SupCon temperature
    # CoMCL: temperature (the paper's value is lost from the extracted text; SupCon's
    # 0.1 chosen) and the share of each anchor's negatives kept at the phase's start
    comcl_temperature: float = 0.1
    comcl_keep_start: float = 0.3
    comcl_patch_weight: float = 1.0  # the patch level's weight (where lesions are known)
    comcl_patch_side: int = 0  # patch side in pixels; 0: a quarter of the image side
    learner_loss: str = "wcl"  # LEARNER pre-training: mse, cl (MSE + CL) or wcl (MSE + wCL)
    use_grade_pairs: bool = True  # preference pairs derived from grades
    use_judgments: bool = True  # preference pairs from expert judgments in the store
    judgment_share: float = 0.5  # share of each preference batch drawn from judgments
    # the preference phase runs long enough for each expert answer to be drawn about this
    # many times (more steps only when the answers need them): a few hundred pairs a
    # phase would otherwise show each of 2,000 answers once in ten retrains
    judgment_passes: float = 4.0
    # "reliability": each rater's answers are drawn in proportion to their Crowd-BT
    # trust (core.raters.reliability); "none": every answer counts the same
    rater_weighting: str = "none"
    seed: int = 0
    device: str = "auto"  # auto, cpu or cuda
    probe_epochs: int = 60  # MLP probe epochs (model selection on validation macro-F1)

    def __post_init__(self) -> None:
        if self.rater_weighting not in RATER_WEIGHTINGS:
            raise ValueError(
                f"rater_weighting must be one of {', '.join(RATER_WEIGHTINGS)}, "
                f"not {self.rater_weighting!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)
