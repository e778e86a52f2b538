"""How well heat maps point at known lesions: pure functions over maps and lesion discs.

Lesions are ``(x, y, radius)`` rows in the pixels of the maps' images (the generator's
records scaled with ``patches.scale_lesions``); pixel (row i, column j) covers
``[j, j + 1) x [i, i + 1)``, so its centre is ``(j + 0.5, i + 0.5)``, as the generator
draws. ``region`` restricts both measures to a boolean (H, W) mask (the fundus); without
it the whole image counts.

- *Pointing game* (Zhang et al. 2018): an image is a hit when the centre of its map's peak
  pixel (the highest value in the region; the first in row-major order on ties) lies
  within ``radius + tolerance`` of a lesion's centre. A map with no positive value in the
  region points nowhere: a miss. Chance: the share of region pixels whose centres would
  be hits, what a peak drawn uniformly from the region scores.
- *Mass in lesions*: the share of a map's positive mass in the region that falls inside
  the lesion discs (grown by ``margin`` pixels), each pixel weighted by the share of its
  area the discs cover (lesions at 32 px are often smaller than a pixel), against the
  share of the region's area they cover. Their ratio is 1 for a map spread evenly, or
  placed at random.
- *Region shares* (``region_shares``): where a map's mass goes instead, region by region
  (lesions, optic disc, vessels, the rest of the fundus), against each region's share of
  the fundus's area; and how concentrated it is (``top_share``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

TOLERANCE = 1.0  # pixels of the map, beyond a lesion's radius; 3 px of a 96 px picture at 32
SUBPIXELS = 8  # samples a side per pixel when measuring the area discs cover


@dataclass(frozen=True)
class Pointing:
    hit: np.ndarray  # (N,) bool: the peak lies within a lesion (plus the tolerance)
    chance: np.ndarray  # (N,) the share of region pixels that would be hits


@dataclass(frozen=True)
class Mass:
    inside: np.ndarray  # (N,) share of the positive mass inside the discs; NaN: no mass
    area: np.ndarray  # (N,) share of the region's area the discs cover


def pointing_game(
    maps: np.ndarray,
    lesions: list[np.ndarray],
    tolerance: float = TOLERANCE,
    region: np.ndarray | None = None,
) -> Pointing:
    """Per image, whether the peak of ``maps`` (N, H, W) lands on one of its ``lesions``
    (N arrays of (x, y, radius) rows), and the chance rate of such a hit."""
    maps, regions = _checked(maps, lesions, region)
    if tolerance < 0:
        raise ValueError("the tolerance must not be negative")
    hits, chances = np.zeros(len(maps), bool), np.zeros(len(maps))
    for k, (heat, found, inside) in enumerate(zip(maps, lesions, regions, strict=True)):
        near = within_discs(found, heat.shape, tolerance)
        chances[k] = near[inside].mean() if inside.any() else 0.0
        values = np.where(inside, heat, -np.inf)
        peak = np.unravel_index(np.argmax(values), heat.shape)
        hits[k] = bool(values[peak] > 0 and near[peak])
    return Pointing(hits, chances)


def mass_in_lesions(
    maps: np.ndarray,
    lesions: list[np.ndarray],
    margin: float = 0.0,
    region: np.ndarray | None = None,
    subpixels: int = SUBPIXELS,
) -> Mass:
    """Per image, the share of the positive part of ``maps`` (N, H, W) inside the lesion
    discs grown by ``margin`` pixels, and the share of the region's area they cover."""
    maps, regions = _checked(maps, lesions, region)
    if margin < 0:
        raise ValueError("the margin must not be negative")
    inside, area = np.full(len(maps), np.nan), np.zeros(len(maps))
    for k, (heat, found, mask) in enumerate(zip(maps, lesions, regions, strict=True)):
        cover = disc_coverage(found, heat.shape, margin, subpixels) * mask
        area[k] = cover.sum() / mask.sum() if mask.any() else 0.0
        positive = np.clip(heat, 0, None) * mask
        if positive.sum() > 0:
            inside[k] = (positive * cover).sum() / positive.sum()
    return Mass(inside, area)


def mass_ratio(mass: Mass) -> float:
    """The images' mean share of mass in lesions over their mean share of area (images
    with no positive mass, or no lesion area, left out): above 1, the maps favour the
    lesions."""
    kept = np.isfinite(mass.inside) & (mass.area > 0)
    if not kept.any():
        return float("nan")
    return float(mass.inside[kept].mean() / mass.area[kept].mean())


REST = "rest"  # what no named region claims: the rest of the fundus


@dataclass(frozen=True)
class Regions:
    mass: dict[str, float]  # each region's share of the map's positive mass; NaN: no mass
    area: dict[str, float]  # each region's share of the region's (fundus's) area

    def ratio(self, name: str) -> float:
        """Mass share over area share: 1 for a map spread evenly; NaN for an empty region."""
        area = self.area[name]
        return self.mass[name] / area if area > 0 else float("nan")


def region_shares(
    heat: np.ndarray, region: np.ndarray, parts: dict[str, np.ndarray], rest: str = REST
) -> Regions:
    """How the positive part of one map ``heat`` (H, W) falls into named ``parts`` of
    ``region`` (H, W bool, the fundus less its rim), each part's share of the mass against
    its share of the area; what no part claims is ``rest``.

    A part is a mask, bool or coverage in [0, 1], either at the map's resolution or ``k``
    times finer a side (``(k H, k W)``, the same ``k`` for all parts, so that sub-pixel
    shapes, a lesion of 1 px or a vessel at 32 px, are not rounded to whole pixels).
    Overlaps go by **precedence, the order of** ``parts``: at each point of the masks'
    grid the first part claims what it covers, the next what it covers of what is left
    (for bool masks: the first part whose mask is set takes the point); then each map
    pixel's k x k points are averaged. The shares therefore sum to 1 (mass and area
    alike) and a pixel counts once, for example lesion > disc > vessels > rest."""
    heat = np.asarray(heat, dtype=float)
    region = np.asarray(region, dtype=bool)
    if heat.ndim != 2 or region.shape != heat.shape:
        raise ValueError(
            f"heat and region must be the same (H, W), not {heat.shape}, {region.shape}"
        )
    if rest in parts:
        raise ValueError(f"{rest!r} names what the parts leave; call no part that")
    height, width = heat.shape
    left: np.ndarray | None = None
    claimed: dict[str, np.ndarray] = {}
    for name, mask in parts.items():
        cover = np.clip(np.asarray(mask, dtype=float), 0.0, 1.0)
        k = cover.shape[0] // height if cover.ndim == 2 and height else 0
        if k < 1 or cover.shape != (k * height, k * width):
            raise ValueError(f"part {name!r} is {cover.shape}, not a multiple of {heat.shape}")
        if left is None:
            left = np.ones_like(cover)
        elif left.shape != cover.shape:
            raise ValueError("every part must be at the same resolution")
        take = np.minimum(cover, left)
        left = left - take
        claimed[name] = take.reshape(height, k, width, k).mean(axis=(1, 3))
    pixels = {name: share * region for name, share in claimed.items()}
    pixels[rest] = region.astype(float) - sum(pixels.values(), np.zeros(heat.shape))
    positive = np.clip(heat, 0, None) * region
    total_mass, total_area = positive.sum(), float(region.sum())
    mass = {
        name: float((positive * share).sum() / total_mass) if total_mass > 0 else float("nan")
        for name, share in pixels.items()
    }
    area = {
        name: float(share.sum() / total_area) if total_area > 0 else 0.0
        for name, share in pixels.items()
    }
    return Regions(mass, area)


def top_share(heat: np.ndarray, region: np.ndarray, fraction: float = 0.05) -> float:
    """The share of the positive part of ``heat`` in ``region`` that its highest
    ``fraction`` of the region's pixels hold (at least one pixel): ``fraction`` for a map
    spread evenly, 1 for one all on so few pixels. NaN: no positive mass."""
    if not 0 < fraction <= 1:
        raise ValueError("the fraction must be in (0, 1]")
    values = np.clip(np.asarray(heat, dtype=float)[np.asarray(region, dtype=bool)], 0, None)
    if values.sum() <= 0:
        return float("nan")
    count = max(1, round(fraction * len(values)))
    return float(np.sort(values)[::-1][:count].sum() / values.sum())


def within_discs(lesions: np.ndarray, shape: tuple[int, ...], grow: float = 0.0) -> np.ndarray:
    """(H, W) bool: pixels whose centre lies within ``radius + grow`` of a lesion's centre."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    near = np.zeros(shape[:2], bool)
    for x, y, radius in np.reshape(lesions, (-1, 3)):
        near |= np.hypot(cols - x, rows - y) <= radius + grow
    return near


def disc_coverage(
    lesions: np.ndarray, shape: tuple[int, ...], grow: float = 0.0, subpixels: int = SUBPIXELS
) -> np.ndarray:
    """(H, W) in [0, 1]: the share of each pixel's area inside the union of the discs
    (radius + ``grow``), measured on ``subpixels`` x ``subpixels`` points per pixel."""
    if subpixels < 1:
        raise ValueError("subpixels must be at least 1")
    height, width = shape[:2]
    offsets = (np.arange(subpixels) + 0.5) / subpixels
    ys = (np.arange(height)[:, None] + offsets[None, :]).reshape(-1)
    xs = (np.arange(width)[:, None] + offsets[None, :]).reshape(-1)
    inside = np.zeros((len(ys), len(xs)), bool)
    for x, y, radius in np.reshape(lesions, (-1, 3)):
        inside |= np.hypot(xs[None, :] - x, ys[:, None] - y) <= radius + grow
    return inside.reshape(height, subpixels, width, subpixels).mean(axis=(1, 3))


def fundus_mask(brightness: np.ndarray, threshold: float = 0.05, erode: int = 2) -> np.ndarray:
    """(N, H, W) bool: where a fundus picture (brightness in [0, 1], black outside the
    eye) is brighter than ``threshold``, shrunk by ``erode`` pixels so that the eye's rim,
    the strongest edge of every picture, is not counted."""
    mask = np.asarray(brightness) > threshold
    if erode <= 0:
        return mask
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # within each image only
    return ndimage.binary_erosion(mask, structure, iterations=erode)


def _checked(
    maps: np.ndarray, lesions: list[np.ndarray], region: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, H, W), not {maps.shape}")
    if len(lesions) != len(maps):
        raise ValueError(f"{len(maps)} maps but lesions for {len(lesions)} images")
    if region is None:
        return maps, np.ones(maps.shape, bool)
    region = np.asarray(region, dtype=bool)
    if region.shape == maps.shape[1:]:
        region = np.broadcast_to(region, maps.shape)
    if region.shape != maps.shape:
        raise ValueError(f"region must be (H, W) or (N, H, W) like the maps, not {region.shape}")
    return maps, region
