"""Each low-quality twin differs from its source in the intended way."""

import numpy as np
import pytest

from core.imaging.degrade import blur, compress, degrade, degrade_fixed, noise, uneven_light


@pytest.fixture
def fundus():
    """A textured 64 px image: a smooth disc with fine vessel-like detail."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64]
    disc = 150 + 60 * np.exp(-((x - 40) ** 2 + (y - 30) ** 2) / 300.0)
    detail = 25 * np.sin(x * 1.3) * np.cos(y * 1.1) + rng.normal(0, 8, (64, 64))
    grey = np.clip(disc + detail, 0, 255)
    return np.stack([grey, 0.6 * grey, 0.3 * grey], axis=-1).astype(np.uint8)


def high_frequency_energy(image: np.ndarray) -> float:
    """Share of the spectrum's energy beyond a quarter of the Nyquist frequency."""
    grey = image.astype(float).mean(axis=-1)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean()))) ** 2
    h, w = grey.shape
    fy, fx = np.mgrid[-h // 2 : h // 2, -w // 2 : w // 2]
    high = np.hypot(fy / (h / 2), fx / (w / 2)) > 0.25
    return float(spectrum[high].sum() / spectrum.sum())


def test_blur_lowers_high_frequency_energy_more_as_it_strengthens(fundus):
    energies = [high_frequency_energy(blur(fundus, s)) for s in (0.0, 0.3, 1.0)]
    assert energies[0] > 2 * energies[1] > 2 * energies[2]
    assert np.array_equal(blur(fundus, 0.0), fundus)


def test_uneven_light_brightens_one_side_and_darkens_the_other(fundus):
    flat = np.full_like(fundus, 120)
    lit = uneven_light(flat, 1.0, np.random.default_rng(1)).astype(float).mean(axis=-1)
    assert lit.max() - lit.min() > 0.8 * (2 * 0.6 * 120)  # a ramp of about +-60% of 120
    assert abs(lit.mean() - 120) < 3  # light moved, not added
    assert np.array_equal(uneven_light(flat, 0.0, np.random.default_rng(1)), flat)


def test_noise_adds_high_frequencies_with_the_intended_spread(fundus):
    flat = np.full_like(fundus, 128)
    noisy = noise(flat, 0.8, np.random.default_rng(2)).astype(float)
    assert noisy.std() == pytest.approx(25 * 0.8, rel=0.1)
    assert high_frequency_energy(noise(fundus, 0.8, np.random.default_rng(2))) > (
        high_frequency_energy(fundus)
    )


def test_stronger_compression_loses_more(fundus):
    def error(strength):
        return np.abs(compress(fundus, strength).astype(float) - fundus).mean()

    assert error(0.0) < error(0.5) < error(1.0)


def test_twins_keep_shape_and_type_and_are_reproducible(fundus):
    twin = degrade(fundus, 1.0, np.random.default_rng(3))
    again = degrade(fundus, 1.0, np.random.default_rng(3))
    assert twin.shape == fundus.shape and twin.dtype == np.uint8
    assert np.array_equal(twin, again) and not np.array_equal(twin, fundus)
    strong = degrade_fixed(fundus, 1.0, np.random.default_rng(4))
    assert high_frequency_energy(strong) < high_frequency_energy(fundus)
