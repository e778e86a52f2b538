"""``core.imaging.degrade.degrade`` for a normalised training batch on the device: the
low-quality twins CoMCL trains with.

The same degradations at the same strengths (the constants of ``core.imaging.degrade``):
uneven light (a linear ramp in a random direction), Gaussian blur and sensor noise, each
strength drawn uniformly per image from [0, ``strength``]. JPEG compression is left out
here: it needs an encoder round trip on the CPU per image, and the robustness benchmark
applies it to the test images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.imaging.degrade import BLUR_SIGMA_PER_64_PX, LIGHT_GAIN, NOISE_SD

from .data import MEAN, STD


def degrade_batch(
    images: torch.Tensor, generator: torch.Generator, strength: float = 1.0
) -> torch.Tensor:
    """``images`` (N, 3, H, W), normalised as the training set is; returns their twins."""
    n, _, h, w = images.shape
    draws = torch.rand(n, 4, generator=generator) * strength
    mean, std = MEAN.to(images), STD.to(images)
    pixels = images * std + mean  # back to [0, 1] intensities

    angle = torch.rand(n, generator=generator) * 2 * torch.pi
    y = torch.linspace(-0.5, 0.5, h, device=images.device).view(1, h, 1)
    x = torch.linspace(-0.5, 0.5, w, device=images.device).view(1, 1, w)
    ramp = x * torch.cos(angle).to(images).view(n, 1, 1) + y * torch.sin(angle).to(images).view(
        n, 1, 1
    )
    ramp = ramp / ramp.abs().amax(dim=(1, 2), keepdim=True).clamp(min=1e-6)
    pixels = pixels * (1 + LIGHT_GAIN * draws[:, 0].to(images).view(n, 1, 1) * ramp).unsqueeze(1)

    sigmas = BLUR_SIGMA_PER_64_PX * draws[:, 1] * w / 64
    pixels = torch.stack([_blur(image, float(s)) for image, s in zip(pixels, sigmas, strict=True)])

    noise = torch.randn(pixels.shape, generator=generator).to(images)
    pixels = pixels + noise * (NOISE_SD / 255) * draws[:, 2].to(images).view(n, 1, 1, 1)
    return (pixels.clamp(0, 1) - mean) / std


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma < 0.1:
        return image
    radius = max(1, int(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = image.shape[0]
    padded = F.pad(image.unsqueeze(0), (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    both = F.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return both.squeeze(0)
