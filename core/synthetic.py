"""A synthetic longitudinal cohort: patients on latent severity trajectories, each visit
rendered as a fundus-like image in which severity shows, but subtly.

Severity s in [0, 1] drives: optic-disc swelling and blurred margins, haemorrhage-like
dark spots (and exudate-like bright ones when s is high), and vessel tortuosity.
Acquisition varies independently: blur, uneven illumination, noise, exposure.
Everything is drawn from one seed, so the same seed gives the same cohort, pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from PIL import Image, ImageFilter

TRAJECTORIES = ("improving", "stable", "worsening", "fluctuating")
GRADE_THRESHOLDS = (0.2, 0.4, 0.6, 0.8)  # severity cut points for grades 1..4


@dataclass(frozen=True)
class CohortConfig:
    patients: int = 60  # number of synthetic patients
    min_visits: int = 3  # visits per patient, inclusive range
    max_visits: int = 8
    image_size: int = 96  # rendered side length in pixels
    seed: int = 2024  # one seed for the whole cohort
    first_visit: date = date(2019, 1, 7)  # earliest possible first visit


@dataclass(frozen=True)
class Visit:
    patient_code: str
    trajectory: str
    visit_index: int
    visit_date: date
    severity: float  # ground truth in [0, 1]
    grade: int  # 0..4 from GRADE_THRESHOLDS
    laterality: str
    quality: float  # 1 = pristine acquisition, 0 = poor


def severity_to_grade(severity: float) -> int:
    return int(np.searchsorted(GRADE_THRESHOLDS, severity, side="right"))


def plan_cohort(config: CohortConfig) -> list[Visit]:
    """Patients, their trajectories and visit schedule (no pixels yet)."""
    root = np.random.SeedSequence(config.seed)
    visits = []
    for number, seed in enumerate(root.spawn(config.patients), start=1):
        rng = np.random.default_rng(seed)
        trajectory = TRAJECTORIES[(number - 1) % len(TRAJECTORIES)]
        count = int(rng.integers(config.min_visits, config.max_visits + 1))
        curve = _trajectory(trajectory, count, rng)
        day = config.first_visit + timedelta(days=int(rng.integers(0, 900)))
        laterality = "R" if rng.random() < 0.5 else "L"
        for index, severity in enumerate(curve):
            visits.append(
                Visit(
                    patient_code=f"SYN-{number:04d}",
                    trajectory=trajectory,
                    visit_index=index,
                    visit_date=day,
                    severity=float(severity),
                    grade=severity_to_grade(severity),
                    laterality=laterality,
                    quality=float(rng.beta(5, 1.6)),
                )
            )
            day += timedelta(days=int(rng.integers(60, 220)))
    return visits


def _trajectory(kind: str, count: int, rng: np.random.Generator) -> np.ndarray:
    t = np.linspace(0.0, 1.0, count)
    if kind == "improving":
        start = rng.uniform(0.5, 0.95)
        curve = start - rng.uniform(0.3, 0.5) * t
    elif kind == "worsening":
        start = rng.uniform(0.0, 0.45)
        curve = start + rng.uniform(0.3, 0.55) * t
    elif kind == "stable":
        curve = np.full(count, rng.uniform(0.0, 0.8))
    else:  # fluctuating
        curve = rng.uniform(0.3, 0.6) + rng.uniform(0.15, 0.25) * np.sin(
            2 * np.pi * rng.uniform(0.8, 1.6) * t + rng.uniform(0, 2 * np.pi)
        )
    return np.clip(curve + rng.normal(0, 0.03, count), 0.0, 1.0)


@dataclass(frozen=True)
class Lesion:
    """Where the generator drew a lesion, in pixels of the rendered image."""

    kind: str  # "haemorrhage" (dark) or "exudate" (bright)
    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class Anatomy:
    """Where the generator drew the optic disc and the vessels, in pixels of the rendered
    image (pixel (row i, column j) covers ``[j, j + 1) x [i, i + 1)``, as for lesions).

    The disc is blended in with weight ``1 / (1 + exp((d - disc_r) / edge))`` at distance
    ``d`` from its centre: half at ``disc_r``, about 12% at ``disc_r + 2 * edge``;
    ``edge`` grows with severity (a swollen disc loses its sharp margin)."""

    disc_x: float
    disc_y: float
    disc_r: float
    edge: float
    vessels: np.ndarray  # (size, size) bool: the union of the vessels as drawn


def render_fundus(
    visit: Visit,
    size: int,
    seed: int,
    lesions: list[Lesion] | None = None,
    anatomy: list[Anatomy] | None = None,
) -> np.ndarray:
    """An H x W x 3 uint8 fundus-like picture of ``visit``. With ``lesions``, every spot
    drawn is appended to it; with ``anatomy``, the disc and vessels drawn (one
    ``Anatomy``). The picture, and every random draw, is the same either way."""
    rng = np.random.default_rng([seed, int(visit.patient_code[4:]), visit.visit_index])
    s = visit.severity
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    centre = size / 2
    radius = np.hypot(xx - centre, yy - centre)
    fundus = radius < 0.47 * size
    image = np.zeros((size, size, 3))
    shade = 1.0 - 0.45 * (radius / (0.47 * size)) ** 2
    image[...] = np.array([196.0, 82.0, 42.0]) * shade[..., None]

    side = 1 if visit.laterality == "R" else -1
    disc_x, disc_y = centre - side * 0.18 * size, centre + rng.normal(0, 0.02) * size
    disc_r = 0.075 * size * (1 + 0.55 * s)
    edge = 0.4 + 2.8 * s  # swollen discs lose their sharp margin
    disc_dist = np.hypot(xx - disc_x, yy - disc_y)
    disc = 1 / (1 + np.exp((disc_dist - disc_r) / edge))
    image = image * (1 - disc[..., None]) + np.array([250.0, 215.0, 150.0]) * disc[..., None]

    angle = np.arctan2(yy - disc_y, xx - disc_x)
    vessels = np.zeros((size, size), bool)
    for k in range(7):
        base = 2 * np.pi * k / 7 + rng.normal(0, 0.15)
        wobble = (0.02 + 0.22 * s) * np.sin(disc_dist / (0.06 * size) + rng.uniform(0, 6.3))
        offset = np.angle(np.exp(1j * (angle - base - wobble)))
        width = (1.3 if k % 2 else 0.9) * size / 96
        vessel = (np.abs(offset) * disc_dist < width) & (disc_dist > disc_r * 0.6)
        image[vessel] = image[vessel] * 0.55 + np.array([120.0, 20.0, 20.0]) * 0.45
        vessels |= vessel
    if anatomy is not None:
        anatomy.append(Anatomy(float(disc_x), float(disc_y), float(disc_r), float(edge), vessels))

    drawn = [] if lesions is None else lesions
    for _ in range(rng.poisson(14 * s**1.6)):
        drawn.append(_spot(image, rng, size, (90.0, 10.0, 10.0), 2.6, "haemorrhage"))
    for _ in range(rng.poisson(10 * max(0.0, s - 0.5) ** 1.2)):
        drawn.append(_spot(image, rng, size, (245.0, 230.0, 140.0), 1.6, "exudate"))

    image = _acquire(image, visit.quality, rng, xx, yy, size)
    image[~fundus] = 0
    return image.round().clip(0, 255).astype(np.uint8)


def _spot(
    image: np.ndarray,
    rng: np.random.Generator,
    size: int,
    colour: tuple[float, float, float],
    max_radius: float,
    kind: str,
) -> Lesion:
    r, a = 0.4 * size * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
    cx, cy = size / 2 + r * np.cos(a), size / 2 + r * np.sin(a)
    radius = rng.uniform(0.8, max_radius) * size / 96
    yy, xx = np.ogrid[0:size, 0:size]
    mask = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 < radius**2
    image[mask] = image[mask] * 0.3 + np.array(colour) * 0.7
    return Lesion(kind, float(cx), float(cy), float(radius))


def _acquire(
    image: np.ndarray,
    quality: float,
    rng: np.random.Generator,
    xx: np.ndarray,
    yy: np.ndarray,
    size: int,
) -> np.ndarray:
    """Camera effects that have nothing to do with disease: blur, light, noise."""
    tilt = rng.uniform(-1, 1, 2) * (1 - quality) * 0.6
    light = 1 + tilt[0] * (xx / size - 0.5) + tilt[1] * (yy / size - 0.5)
    image = image * light[..., None] * rng.uniform(0.85, 1.1)
    blurred = Image.fromarray(image.clip(0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(radius=0.3 + 1.4 * (1 - quality))
    )
    image = np.asarray(blurred).astype(np.float64)
    return image + rng.normal(0, 2 + 8 * (1 - quality), image.shape)


def generate_with_lesions(
    config: CohortConfig = CohortConfig(),
) -> Iterator[tuple[Visit, np.ndarray, list[Lesion]]]:
    """Each visit, its picture, and the lesions drawn in it (centres and radii in pixels,
    at ``config.image_size``; render larger, say 128 px, for patch-level work)."""
    for visit in plan_cohort(config):
        lesions: list[Lesion] = []
        yield visit, render_fundus(visit, config.image_size, config.seed, lesions), lesions


def generate_with_anatomy(
    config: CohortConfig = CohortConfig(),
) -> Iterator[tuple[Visit, np.ndarray, list[Lesion], Anatomy]]:
    """As ``generate_with_lesions`` (the same pictures, pixel for pixel), with where each
    picture's optic disc and vessels were drawn."""
    for visit in plan_cohort(config):
        lesions: list[Lesion] = []
        anatomy: list[Anatomy] = []
        pixels = render_fundus(visit, config.image_size, config.seed, lesions, anatomy)
        yield visit, pixels, lesions, anatomy[0]
