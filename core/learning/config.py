"""Training configuration: one frozen dataclass, resolved once from the CLI or the UI and
stored beside the checkpoint and in the model's database row. The settings every method
shares sit at the top; each loss's own parameters sit in a small frozen dataclass of
their own (``TrainConfig.comcl.temperature``), as pytorch-metric-learning gives each
loss its parameters.

Settings are named as fields (``epochs``), as ``section.field`` (``comcl.patch_weight``),
or by the flat names of earlier versions (``comcl_patch_weight``), which stored versions,
checkpoints and saved commands still use (``FLAT_NAMES``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

SMALL_INPUT_MAX = 64  # up to this size a 3x3 stride-1 stem replaces ImageNet's
RATER_WEIGHTINGS = ("none", "reliability")
# BatchNorm during the preference phase: "train" (the paper), "frozen" (the Con step's
# statistics), "mixed" (the anchor's normals share the pairs' batch)
PRO_BATCHNORM = ("train", "frozen", "mixed")


def uses_small_input(image_size: int) -> bool:
    return image_size <= SMALL_INPUT_MAX


@dataclass(frozen=True)
class NTXentParams:
    """NT-Xent (SimCLR, and SEMISE's self-supervised term)."""

    temperature: float = 0.5


@dataclass(frozen=True)
class SupConParams:
    temperature: float = 0.1


@dataclass(frozen=True)
class SemiseParams:
    alpha: float = 0.5  # alpha * NT-Xent + (1 - alpha) * preference


@dataclass(frozen=True)
class ComclParams:
    # the paper's temperature is lost from the extracted text; SupCon's 0.1 chosen
    temperature: float = 0.1
    keep_start: float = 0.3  # share of each anchor's negatives kept at the phase's start
    patch_weight: float = 1.0  # the patch level's weight (where lesions are known)
    patch_side: int = 0  # patch side in pixels; 0: a quarter of the image side


@dataclass(frozen=True)
class LearnerParams:
    loss: str = "wcl"  # LEARNER pre-training: mse, cl (MSE + CL) or wcl (MSE + wCL)


@dataclass(frozen=True)
class WarmParams:
    """A warm retrain: the parent version's weights, then a fixed budget of preference
    steps, so that its cost does not grow with the study."""

    # preference steps, whatever the number of answers: 25 steps of 32 pairs draw each
    # of the 50 answers that trigger a retrain about 4 times (judgment_passes) at a
    # judgment share of 0.5 and a new share of 0.5 (docs/benchmarks.md: a warm retrain's
    # chain, embedding and maps included, took under 95 s on 2 CPU cores at 32 px)
    steps: int = 25
    # of the expert pairs in each batch, this share is drawn from the answers given since
    # the parent was trained (the rest replays earlier answers)
    new_share: float = 0.5

    def __post_init__(self) -> None:
        if self.steps < 1 or not 0.0 <= self.new_share <= 1.0:
            raise ValueError("warm.steps must be at least 1 and warm.new_share in [0, 1]")


SECTIONS: dict[str, type] = {
    "ntxent": NTXentParams,
    "supcon": SupConParams,
    "semise": SemiseParams,
    "comcl": ComclParams,
    "learner": LearnerParams,
    "warm": WarmParams,
}
FLAT_NAMES = {
    "alpha": "semise.alpha",
    "temperature": "ntxent.temperature",
    "supcon_temperature": "supcon.temperature",
    "comcl_temperature": "comcl.temperature",
    "comcl_keep_start": "comcl.keep_start",
    "comcl_patch_weight": "comcl.patch_weight",
    "comcl_patch_side": "comcl.patch_side",
    "learner_loss": "learner.loss",
}


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
    pro_batchnorm: str = "train"  # BatchNorm during PrO: train (paper), frozen or mixed
    scoring_anchor: str = "first_n"  # anchor for s(x): the first anchor_n normals, or "all"
    augment_pairs: bool = False  # random views in the Con and PrO steps too
    normal_pull: float = 0.0  # weight of a PrO term keeping normal images near the anchor
    # each loss's own parameters (the other methods ignore them)
    ntxent: NTXentParams = NTXentParams()
    supcon: SupConParams = SupConParams()
    semise: SemiseParams = SemiseParams()
    comcl: ComclParams = ComclParams()
    learner: LearnerParams = LearnerParams()
    warm: WarmParams = WarmParams()
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
        """A configuration from stored settings (nested, as ``to_dict`` writes them, or
        flat, as earlier versions did)."""
        return cls().with_settings(**values)

    def with_settings(self, **settings: Any) -> TrainConfig:
        """This configuration with ``settings`` changed, each named as a field, a
        ``section.field`` or a flat name of earlier versions; a section may also be
        given whole, as its dataclass or a dict."""
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        unknown = []
        for name, value in settings.items():
            name = FLAT_NAMES.get(name, name)
            section, dot, key = name.partition(".")
            if section in SECTIONS and not dot:
                given = asdict(value) if not isinstance(value, dict) else value
                sections.setdefault(section, {}).update(given)
            elif section in SECTIONS and key in _field_names(SECTIONS[section]):
                sections.setdefault(section, {})[key] = value
            elif not dot and name in _field_names(TrainConfig):
                top[name] = value
            else:
                unknown.append(name)
        for section, values in sections.items():
            bad = set(values) - _field_names(SECTIONS[section])
            unknown += [f"{section}.{key}" for key in sorted(bad)]
            if not bad:
                top[section] = replace(getattr(self, section), **values)
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **top)

    @staticmethod
    def default_of(name: str) -> Any:
        """The default value of a setting named as ``with_settings`` accepts."""
        name = FLAT_NAMES.get(name, name)
        section, dot, key = name.partition(".")
        if dot and section in SECTIONS and key in _field_names(SECTIONS[section]):
            return getattr(SECTIONS[section](), key)
        if not dot and name in _field_names(TrainConfig) and name not in SECTIONS:
            return getattr(TrainConfig(), name)
        raise ValueError(f"unknown training setting {name!r}")


def _field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}
