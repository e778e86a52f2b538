"""Low-quality twins of fundus photographs: the clinic's blur, uneven light, sensor noise
and compression, applied to an RGB ``uint8`` array (H x W x 3).

CoMCL (``../shared/seeds/003_*``) pairs every image with a low-quality version of
itself; its data come with quality labels, ours do not, so the low-quality view is made
here. Each degradation has a strength in [0, 1] (0: unchanged, 1: the strongest we
consider realistic for a 28-224 px fundus image):

- ``blur``: Gaussian blur, sigma = 2 px x strength x (width / 64) (defocus, motion);
- ``uneven_light``: multiplied by a linear ramp in a random direction, from
  1 - 0.6 x strength to 1 + 0.6 x strength (vignetting, off-axis flash);
- ``noise``: additive Gaussian noise, SD = 25 grey levels x strength (low light);
- ``compress``: a JPEG round trip at quality 90 - 80 x strength (archived images).

``degrade`` draws each strength uniformly from [0, ``strength``] per image, so a batch
mixes mild and strong twins; ``degrade_fixed`` applies all four at one strength, for the
robustness benchmark.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

# each degradation at strength 1 (``core.learning.degrade`` applies the same to tensors)
BLUR_SIGMA_PER_64_PX = 2.0  # Gaussian sigma in pixels, for a 64-pixel-wide image
LIGHT_GAIN = 0.6  # the light ramp runs from 1 - gain to 1 + gain
NOISE_SD = 25.0  # grey levels
JPEG_QUALITY = (90, 80)  # quality 90 - 80 x strength


def blur(image: np.ndarray, strength: float) -> np.ndarray:
    sigma = BLUR_SIGMA_PER_64_PX * strength * image.shape[1] / 64
    if sigma <= 0:
        return image.copy()
    smoothed = gaussian_filter(image.astype(np.float32), sigma=(sigma, sigma, 0))
    return _to_uint8(smoothed)


def uneven_light(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (x / max(width - 1, 1) - 0.5) * np.cos(angle) + (y / max(height - 1, 1) - 0.5) * np.sin(
        angle
    )  # -0.71 .. 0.71 across the image
    gain = 1 + LIGHT_GAIN * strength * ramp / np.abs(ramp).max()
    return _to_uint8(image.astype(np.float32) * gain[..., None])


def noise(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    return _to_uint8(image.astype(np.float32) + rng.normal(0, NOISE_SD * strength, image.shape))


def compress(image: np.ndarray, strength: float) -> np.ndarray:
    buffer = io.BytesIO()
    best, span = JPEG_QUALITY
    Image.fromarray(image).save(buffer, format="JPEG", quality=round(best - span * strength))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB")).copy()


def degrade_fixed(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """All four degradations at one strength, in the order a camera and an archive apply
    them: light, blur, noise, compression."""
    out = uneven_light(image, strength, rng)
    out = blur(out, strength)
    out = noise(out, strength, rng)
    return compress(out, strength)


def degrade(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The low-quality twin for training: each degradation at its own strength, drawn
    uniformly from [0, ``strength``]."""
    light, blurred, noisy, compressed = rng.uniform(0, strength, 4)
    out = uneven_light(image, light, rng)
    out = blur(out, blurred)
    out = noise(out, noisy, rng)
    return compress(out, compressed)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
