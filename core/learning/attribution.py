"""Which pixels drive a version's severity score: a heat map per image.

The attribution is Captum's Integrated Gradients (Sundararajan et al. 2017) of the
severity score that ``export_model.SeverityGraph`` computes, the score the app stores
(the cosine distance of the score space's vector from the normality anchor, or the
number the method's head computes), with respect to the preprocessed input:

    IG_c,i,j(x) = (x - x')_c,i,j * integral over a in [0, 1] of
                  d s(x' + a (x - x')) / d x_c,i,j da,

so that the attributions of an image add up to ``s(x) - s(x')`` (completeness).

Reference image ``x'`` ("baseline" in Captum's words, not to be confused with the trivial
comparison maps of ``comparison_map``):

- ``"blurred"`` (default): the image blurred by a Gaussian of ``blur_sigma`` pixels. The
  map then says what the image's fine detail (lesions, vessels, the disc's margin) adds to
  the score over the same eye without it; spots of a pixel or two at 32 px vanish in it.
- ``"black"``: a black picture. Its map spreads over the whole fundus (everything in the
  eye differs from black) and inherits the picture's brightness through ``x - x'``.
- a tensor broadcastable to the batch, in the preprocessed units.

Heat map, one per image, (H, W): the attributions summed over the three channels first
(the app repeats one grey picture on them, so the sum is the attribution of that pixel),
then ``"positive"`` (default) keeps what raises the score (``max(sum, 0)``), which is what
"what makes this eye look more severe" asks; ``"absolute"`` takes ``|sum|`` and
``"signed"`` keeps the sum as it is (its total over the image is ``s(x) - s(x')``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
import torchvision.transforms.functional as TF
from captum.attr import IntegratedGradients
from scipy import ndimage
from torch import nn

from .data import MEAN, STD
from .encoders import SeverityNet

METHODS = ("integrated_gradients",)
REFERENCES = ("blurred", "black")
AGGREGATES = ("positive", "absolute", "signed")
COMPARISONS = ("edges", "brightness")
STEPS = 32  # IG's integration points (Captum's Gauss-Legendre rule)
BLUR_SIGMA = 2.0  # pixels: several times a lesion's radius at 32 px
BATCH = 8  # images per Captum call (each is evaluated at STEPS points at once)


def attribute(
    model: nn.Module,
    images: torch.Tensor,
    method: str = "integrated_gradients",
    steps: int = STEPS,
    baseline: str | torch.Tensor = "blurred",
    aggregate: str = "positive",
    batch_size: int = BATCH,
    blur_sigma: float = BLUR_SIGMA,
) -> np.ndarray:
    """Heat maps (N, H, W) float32 of ``model``'s severity score for ``images`` (N, 3, H, W),
    preprocessed as the app does. ``model``: a ``SeverityGraph`` (or any module returning
    the severity (N,), alone or first of a tuple), run in eval mode on the device its
    weights are on; images travel there ``batch_size`` at a time and come back on the CPU."""
    _check(method, baseline, aggregate, steps, images)
    model.eval()
    device = next(model.parameters()).device
    explain = IntegratedGradients(_severity_of(model))
    maps = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device, torch.float32)
        reference = reference_images(batch, baseline, blur_sigma)
        with torch.enable_grad():
            attributions = explain.attribute(batch, baselines=reference, n_steps=steps)
        maps.append(_aggregate(attributions.detach().sum(dim=1), aggregate).cpu())
    return torch.cat(maps).numpy().astype(np.float32)


def reference_images(
    images: torch.Tensor, baseline: str | torch.Tensor, blur_sigma: float = BLUR_SIGMA
) -> torch.Tensor:
    """IG's reference ``x'`` for ``images`` (the module's docstring says which is which)."""
    if isinstance(baseline, torch.Tensor):
        return baseline.to(images).expand_as(images).contiguous()
    if baseline == "black":
        return ((torch.zeros_like(images) - MEAN.to(images)) / STD.to(images)).contiguous()
    if baseline == "blurred":
        kernel = 2 * int(np.ceil(3 * blur_sigma)) + 1
        return TF.gaussian_blur(images, [kernel, kernel], [blur_sigma, blur_sigma])
    raise ValueError(f"baseline must be one of {', '.join(REFERENCES)} or a tensor")


def comparison_map(images: torch.Tensor, kind: str = "edges") -> np.ndarray:
    """A trivial map that knows nothing of any model, to compare attributions with:
    ``"edges"``, the Sobel gradient magnitude ``hypot(S_x * g, S_y * g)`` of the grey
    picture ``g`` (the mean of the three channels), with ``S_x = [1, 2, 1]^T [-1, 0, 1]``
    and ``S_y`` its transpose, borders repeating the edge pixel; ``"brightness"``, ``g``
    itself. (N, 3, H, W) -> (N, H, W) float32."""
    if kind not in COMPARISONS:
        raise ValueError(f"the comparison map must be one of {', '.join(COMPARISONS)}")
    grey = images.detach().float().mean(dim=1).cpu().numpy().astype(np.float64)
    if kind == "brightness":
        return grey.astype(np.float32)
    # image by image: on the (N, H, W) stack, ``ndimage.sobel`` would smooth across images
    edges = [
        np.hypot(ndimage.sobel(g, axis=1, mode="nearest"), ndimage.sobel(g, axis=0, mode="nearest"))
        for g in grey
    ]
    return np.stack(edges).astype(np.float32) if edges else np.zeros_like(grey, np.float32)


def randomised_net(net: SeverityNet, seed: int = 0) -> SeverityNet:
    """The same network with every weight drawn afresh from its architecture's own
    initialisation (BatchNorm statistics reset too): Adebayo et al.'s (2018) full model
    randomisation. No weights file is read. In eval mode, on ``net``'s device; its anchor
    is fitted afresh as the trained one was (``scoring.fit_anchor``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = SeverityNet(replace(net.config, weights_path=None))
    return fresh.to(next(net.parameters()).device).eval()


def _severity_of(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(model, SeverityNet):  # its forward gives features, not the score
        raise ValueError("attribute a SeverityGraph (the network with its anchor), not the net")

    def severity(images: torch.Tensor) -> torch.Tensor:
        out = model(images)
        score = out[0] if isinstance(out, tuple) else out
        if score.dim() != 1:
            raise ValueError(f"the model must return one score per image, not {tuple(score.shape)}")
        return score

    return severity


def _aggregate(summed: torch.Tensor, aggregate: str) -> torch.Tensor:
    if aggregate == "positive":
        return summed.clamp(min=0)
    if aggregate == "absolute":
        return summed.abs()
    return summed


def _check(
    method: str,
    baseline: str | torch.Tensor,
    aggregate: str,
    steps: int,
    images: torch.Tensor,
) -> None:
    if method not in METHODS:
        raise ValueError(f"the attribution method must be one of {', '.join(METHODS)}")
    if isinstance(baseline, str) and baseline not in REFERENCES:
        raise ValueError(f"baseline must be one of {', '.join(REFERENCES)} or a tensor")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}")
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, H, W), not {tuple(images.shape)}")
