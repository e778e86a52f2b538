"""Methods by name. A method is a list of phases plus the space its severity score is
read in; each phase is one step function with the common signature
``step(net, ctx) -> (loss, logs)``. One training loop (``train.py``) runs them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .data import augment
from .degrade import degrade_batch
from .distributed import gather, gather_plain
from .encoders import SeverityNet, normality_anchor
from .losses import (
    comcl_loss,
    learner_contrastive_loss,
    margin_contrastive_loss,
    normal_anchor_distance,
    nt_xent_loss,
    preference_loss,
    supcon_loss,
)
from .method_info import METHOD_INFO
from .pairs import PairMixture, PairSource, binary_pairs
from .patches import crop, draw_patches, patch_side

Step = Callable[[SeverityNet, "StepContext"], tuple[torch.Tensor, dict[str, float]]]
# what a run could use, for its record, from the training images' recorded lesions
Notes = Callable[[list[np.ndarray] | None], dict[str, float]]


@dataclass
class StepContext:
    """What a step may use: the training set, its pairs, randomness and the device."""

    images: torch.Tensor  # (N, 3, H, W) on the CPU
    grades: np.ndarray
    health: np.ndarray
    preference_pairs: PairSource | PairMixture | None  # None without a PrO step
    config: TrainConfig
    rng: np.random.Generator
    generator: torch.Generator
    device: torch.device
    phase_progress: float = 0.0  # share of the current phase's steps already taken
    lesions: list[np.ndarray] | None = None  # recorded lesions per image (CoMCL patches)

    def batch(self, index: np.ndarray) -> torch.Tensor:
        from .device import to_device

        pick = torch.as_tensor(index, dtype=torch.long, device=self.images.device)
        return to_device(self.images[pick], self.device)

    def views(self, index: np.ndarray) -> torch.Tensor:
        """The images at ``index``: as they are, or as random views (``augment_pairs``)."""
        images = self.batch(index)
        return augment(images, self.generator) if self.config.augment_pairs else images

    def preferences(self) -> PairSource | PairMixture:
        if self.preference_pairs is None:
            raise ValueError("this method has no preference pairs to draw from")
        return self.preference_pairs

    def normals(self) -> torch.Tensor:
        normal = np.flatnonzero(self.grades == 0)
        return self.batch(
            self.rng.choice(normal, min(self.config.anchor_n, len(normal)), replace=False)
        )


def con_step(net: SeverityNet, ctx: StepContext):
    i, j, same = binary_pairs(ctx.grades, ctx.config.batch_size, ctx.rng)
    c = net.contrastive(ctx.views(np.concatenate([i, j])))
    c_i, c_j = (gather(half) for half in c.float().chunk(2))
    same_class = gather_plain(torch.as_tensor(same, device=c.device))
    loss = margin_contrastive_loss(c_i, c_j, same_class, ctx.config.margin)
    return loss, {}


def _preference(net: SeverityNet, ctx: StepContext) -> torch.Tensor:
    normals = ctx.normals()
    pairs = ctx.preferences().sample(ctx.config.batch_size, ctx.rng)
    pair_views = ctx.views(np.concatenate([pairs.i, pairs.j]))
    if ctx.config.pro_batchnorm == "mixed":
        anchor, v = _mixed_forward(net, normals, pair_views)
    else:
        anchor, v = normality_anchor(net, normals), net.preference(pair_views).float()
    v_i, v_j = v.chunk(2)
    loss = preference_loss(
        v_i,
        v_j,
        anchor,
        torch.as_tensor(pairs.target, device=v.device),
        ctx.config.preference_scale,
    )
    if ctx.config.normal_pull > 0:
        # a departure from the paper: normal images (not those of the anchor) are kept
        # near the anchor, so that PrO cannot move grade 1 into the normal cluster
        normals = net.preference(ctx.views(_normal_sample(ctx))).float()
        loss = loss + ctx.config.normal_pull * normal_anchor_distance(normals, anchor)
    return loss


def _mixed_forward(
    net: SeverityNet, normals: torch.Tensor, pair_views: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The anchor and the pairs' vectors from one forward pass. A departure from the
    paper: BatchNorm normalises anchor and pairs by the same (mixed) batch statistics.
    The anchor is detached, as the paper means it."""
    v = net.preference(torch.cat([normals, pair_views])).float()
    return v[: len(normals)].mean(dim=0).detach(), v[len(normals) :]


def _normal_sample(ctx: StepContext) -> np.ndarray:
    return ctx.rng.choice(np.flatnonzero(ctx.grades == 0), ctx.config.batch_size)


def pro_step(net: SeverityNet, ctx: StepContext):
    return _preference(net, ctx), {}


def _two_views(net: SeverityNet, ctx: StepContext, index: np.ndarray) -> torch.Tensor:
    images = ctx.batch(index)
    views = torch.cat([augment(images, ctx.generator), augment(images, ctx.generator)])
    return net.contrastive(views).float()


def _ntxent(net: SeverityNet, ctx: StepContext) -> torch.Tensor:
    index = ctx.rng.integers(0, len(ctx.images), ctx.config.batch_size)
    z_a, z_b = (gather(z) for z in _two_views(net, ctx, index).chunk(2))
    return nt_xent_loss(z_a, z_b, ctx.config.ntxent.temperature)


def semise_step(net: SeverityNet, ctx: StepContext):
    contrastive, preference = _ntxent(net, ctx), _preference(net, ctx)
    alpha = ctx.config.semise.alpha
    loss = alpha * contrastive + (1 - alpha) * preference
    return loss, {"ntxent": contrastive.item(), "preference": preference.item()}


def simclr_step(net: SeverityNet, ctx: StepContext):
    return _ntxent(net, ctx), {}


def supconn_step(net: SeverityNet, ctx: StepContext):
    labelled = np.flatnonzero(ctx.grades >= 0)
    index = ctx.rng.choice(labelled, ctx.config.batch_size)
    labels = torch.as_tensor(np.tile(ctx.grades[index], 2), device=ctx.device)
    features = gather(_two_views(net, ctx, index))
    return supcon_loss(features, gather_plain(labels), ctx.config.supcon.temperature), {}


def comcl_step(net: SeverityNet, ctx: StepContext):
    """CoMCL: the image level, plus the patch level where lesions are known.

    Image level: each graded image against its own low-quality twin, the other class's
    views (both qualities) as negatives, the hardest first: the share of negatives kept
    grows linearly from ``comcl.keep_start`` to all over the phase. Patch level (weight
    ``comcl.patch_weight``): lesion patches against healthy patches, the same loss with
    "lesion" as the class, each patch against its own low-quality twin."""
    loss, logs = _comcl_images(net, ctx)
    draw = _patch_draw(ctx)
    if draw is not None and ctx.config.comcl.patch_weight > 0:
        patches = _comcl_patches(net, ctx, draw, logs["negatives_kept"])
        loss = loss + ctx.config.comcl.patch_weight * patches
        logs["patch_loss"] = patches.item()
    return loss, logs


def comcl_levels(lesions: list[np.ndarray] | None) -> dict[str, float]:
    """What a CoMCL run could use, for its record: 1 when lesion locations were known
    (image and patch levels), 0 when it fell back to the image level alone."""
    known = 0 if lesions is None else sum(len(found) for found in lesions)
    return {"comcl_patch_level": float(known > 0), "comcl_lesions_known": float(known)}


def _patch_draw(ctx: StepContext):
    if ctx.lesions is None:
        return None
    size = ctx.images.shape[-1]
    side = patch_side(size, ctx.config.comcl.patch_side)
    return draw_patches(ctx.lesions, size, side, max(2, ctx.config.batch_size // 2), ctx.rng)


def _comcl_patches(net: SeverityNet, ctx: StepContext, draw, keep: float) -> torch.Tensor:
    from .device import to_device

    side = patch_side(ctx.images.shape[-1], ctx.config.comcl.patch_side)
    patches = to_device(crop(ctx.images, draw, side), ctx.device)
    clean = augment(patches, ctx.generator)
    low = degrade_batch(augment(patches, ctx.generator), ctx.generator)
    z_clean, z_low = (gather(z) for z in net.contrastive(torch.cat([clean, low])).float().chunk(2))
    lesion = gather_plain(torch.as_tensor(draw.lesion, device=z_clean.device))
    return comcl_loss(z_clean, z_low, lesion, ctx.config.comcl.temperature, keep)


def _comcl_images(net: SeverityNet, ctx: StepContext):
    labelled = np.flatnonzero(ctx.grades >= 0)
    index = ctx.rng.choice(labelled, ctx.config.batch_size)
    images = ctx.batch(index)
    clean = augment(images, ctx.generator)
    low = degrade_batch(augment(images, ctx.generator), ctx.generator)
    z_clean, z_low = (gather(z) for z in net.contrastive(torch.cat([clean, low])).float().chunk(2))
    start = ctx.config.comcl.keep_start
    keep = start + (1 - start) * ctx.phase_progress
    abnormal = gather_plain(torch.as_tensor(ctx.grades[index] > 0, device=z_clean.device))
    loss = comcl_loss(z_clean, z_low, abnormal, ctx.config.comcl.temperature, keep)
    return loss, {"negatives_kept": keep}


def supervised_step(net: SeverityNet, ctx: StepContext):
    """The ceiling: cross-entropy on the grades, end to end, inverse-frequency weights."""
    labelled = np.flatnonzero(ctx.grades >= 0)
    index = ctx.rng.choice(labelled, 2 * ctx.config.batch_size)
    labels = torch.as_tensor(ctx.grades[index], dtype=torch.long, device=ctx.device)
    logits = net.classify(ctx.views(index)).float()
    weights = grade_weights(ctx.grades[labelled], logits.shape[1]).to(logits.device)
    return F.cross_entropy(logits, labels, weight=weights), {}


def grade_weights(grades: np.ndarray, classes: int) -> torch.Tensor:
    """Inverse-frequency class weights (0 for a class with no image)."""
    counts = np.bincount(grades, minlength=classes).astype(float)
    weights = np.where(counts > 0, counts.sum() / (classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def learner_step(net: SeverityNet, ctx: StepContext):
    scored = np.flatnonzero(np.isfinite(ctx.health))
    index = ctx.rng.choice(scored, 2 * ctx.config.batch_size)
    target = torch.as_tensor(ctx.health[index], dtype=torch.float32, device=ctx.device)
    u = net.contrastive(ctx.batch(index)).float()
    mse = F.mse_loss(net.regressor(u).squeeze(1), target)
    if ctx.config.learner.loss == "mse":
        return mse, {"mse": mse.item()}
    cl = learner_contrastive_loss(
        gather(u), gather_plain(target), weighted=ctx.config.learner.loss == "wcl"
    )
    return mse + cl, {"mse": mse.item(), "cl": cl.item()}


@dataclass(frozen=True)
class Method:
    name: str
    phases: tuple[tuple[str, Step], ...]
    score_space: str  # preference | contrastive | features | regression
    needs_preferences: bool = False
    description: str = ""
    grade_classes: int = 0  # a classification head over the grades (the supervised ceiling)
    notes: Notes | None = None  # said in the run's record (CoMCL: patch level or not)


STEPS: dict[str, tuple[tuple[str, Step], ...]] = {
    "conpro": (("con", con_step), ("pro", pro_step)),
    "semise": (("con", con_step), ("semise", semise_step)),
    # SEMISE without its Con step, for data without grades: nothing says which images
    # are abnormal, so the encoder starts self-supervised
    "selfpro": (("simclr", simclr_step), ("semise", semise_step)),
    "learner": (("learner", learner_step),),
    "supcon2": (("con", con_step),),
    "comcl": (("comcl", comcl_step),),
    "supconn": (("supcon", supconn_step),),
    "simclr": (("simclr", simclr_step),),
    "supervised": (("supervised", supervised_step),),
    "random": (),
}

# names, descriptions and score spaces live in the torch-free catalog (the UI lists them)
GRADES = 5  # the supervised baseline's classes: grades 0-4
METHODS: dict[str, Method] = {
    name: Method(
        name,
        STEPS[name],
        info.score_space,
        info.needs_preferences,
        info.description,
        grade_classes=GRADES if name == "supervised" else 0,
        notes=comcl_levels if name == "comcl" else None,
    )
    for name, info in METHOD_INFO.items()
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
    return METHODS[name]
