import numpy as np
import pytest

from core.imaging.heat import (
    COOL,
    LOWERED,
    RAISED,
    change_overlay,
    heat_rgba,
    overlay,
    resized,
    shared_scale,
    strength,
)

GREY = np.full((8, 8, 3), 100, np.uint8)


def test_where_the_map_is_zero_the_picture_shows_through_unchanged():
    heat = np.zeros((4, 4))
    heat[0, 0] = 2.0
    drawn = overlay(GREY, heat, scale=1.0, opacity=1.0)
    assert tuple(drawn[0, 0]) == tuple(COOL[-1].astype(int))  # saturated: the palest colour
    assert (drawn[6:, 6:] == 100).all()


def test_opacity_zero_leaves_the_picture_and_opacity_blends_linearly():
    heat = np.ones((8, 8))
    assert (overlay(GREY, heat, 1.0, 0.0) == GREY).all()
    half = overlay(GREY, heat, 1.0, 0.5)[0, 0].astype(float)
    assert np.allclose(half, 0.5 * 100 + 0.5 * COOL[-1], atol=0.51)
    with pytest.raises(ValueError, match="opacity"):
        overlay(GREY, heat, 1.0, 1.5)


def test_one_scale_for_all_images_so_a_weak_map_stays_faint():
    weak, strong = np.full((8, 8), 0.04), np.full((8, 8), 1.0)
    faint = overlay(GREY, weak, 1.0, 1.0).astype(float)
    vivid = overlay(GREY, strong, 1.0, 1.0).astype(float)
    assert np.abs(faint - 100).max() < np.abs(vivid - 100).max()
    assert strength(weak, 1.0).max() == pytest.approx(0.04)
    with pytest.raises(ValueError, match="scale"):
        strength(weak, 0.0)


def test_the_shared_scale_is_a_high_quantile_of_the_positive_peaks():
    assert shared_scale(np.array([])) == 1.0
    assert shared_scale(np.array([0.0, 0.0])) == 1.0
    peaks = np.arange(1, 101, dtype=float)
    assert shared_scale(np.concatenate([peaks, [0.0, np.nan]])) == pytest.approx(90.1)


def test_the_change_map_is_green_where_the_score_rose_and_violet_where_it_fell():
    before, after = np.zeros((8, 8)), np.zeros((8, 8))
    after[0, 0] = 1.0
    before[7, 7] = 1.0
    drawn = change_overlay(GREY, before, after, scale=1.0, opacity=1.0)
    assert tuple(drawn[0, 0]) == RAISED
    assert tuple(drawn[7, 7]) == LOWERED
    assert tuple(drawn[3, 4]) == (100, 100, 100)
    with pytest.raises(ValueError, match="cannot be compared"):
        change_overlay(GREY, np.zeros((4, 4)), np.zeros((8, 8)), 1.0, 1.0)


def test_maps_are_brought_to_the_pictures_size():
    heat = np.zeros((4, 4), np.float32)
    heat[:2, :2] = 1.0
    big = resized(heat, (16, 16))
    assert big.shape == (16, 16)
    assert big[0, 0] == pytest.approx(1.0) and big[15, 15] == pytest.approx(0.0)
    assert overlay(np.full((16, 16, 3), 100, np.uint8), heat, 1.0, 1.0).shape == (16, 16, 3)


def test_the_map_alone_is_transparent_where_nothing_drives_the_score():
    heat = np.zeros((8, 8))
    heat[2, 3] = 1.0
    rgba = heat_rgba(heat, 1.0, (8, 8))
    assert rgba.shape == (8, 8, 4) and rgba.dtype == np.uint8
    assert rgba[2, 3, 3] == 255 and rgba[6, 6, 3] == 0
