"""The pointing game and mass in lesions against hand-made maps and discs whose answers
are worked out by hand (8 x 8 images: 64 pixels, centres at half pixels)."""

import numpy as np
import pytest

from core.learning.attribution_measures import (
    disc_coverage,
    fundus_mask,
    mass_in_lesions,
    mass_ratio,
    pointing_game,
    region_shares,
    top_share,
    within_discs,
)

NONE = np.zeros((0, 3))


def peak_at(row: int, col: int, size: int = 8) -> np.ndarray:
    heat = np.full((size, size), 0.1)
    heat[row, col] = 1.0
    return heat


def test_a_peak_on_a_lesion_hits_and_one_beside_it_misses():
    maps = np.stack([peak_at(2, 5), peak_at(2, 5), peak_at(2, 5), np.zeros((8, 8))])
    lesions = [
        np.array([[5.5, 2.5, 0.4]]),  # centred on the peak pixel
        np.array([[7.0, 2.5, 0.4]]),  # 1.5 px to its right: 0.4 + 1.0 does not reach
        np.array([[0.5, 0.5, 0.4], [6.6, 2.5, 0.2]]),  # the second, 1.1 px off, does
        np.array([[3.5, 3.5, 2.0]]),  # a map without a positive value points nowhere
    ]
    assert pointing_game(maps, lesions, tolerance=1.0).hit.tolist() == [True, False, True, False]
    assert pointing_game(maps, lesions, tolerance=1.2).hit.tolist() == [True, True, True, False]


def test_the_chance_rate_is_the_share_of_pixels_that_would_hit():
    lesion = [np.array([[4.0, 4.0, 1.0]])]
    # radius 1: the 4 centres at 0.707 px; plus 0.6: also the 8 at 1.58 px (not 2.12)
    assert pointing_game(np.ones((1, 8, 8)), lesion, tolerance=0.0).chance[0] == 4 / 64
    assert pointing_game(np.ones((1, 8, 8)), lesion, tolerance=0.6).chance[0] == 12 / 64
    left = np.zeros((8, 8), bool)
    left[:, :4] = True  # two of the four centres lie in the left half
    assert pointing_game(np.ones((1, 8, 8)), lesion, 0.0, region=left).chance[0] == 2 / 32


def test_the_peak_is_sought_inside_the_region_only():
    heat = peak_at(2, 5)
    heat[6, 1] = 0.5  # the region's own peak
    region = np.zeros((8, 8), bool)
    region[4:, :] = True
    on_region_peak = [np.array([[1.5, 6.5, 0.3]])]
    assert pointing_game(heat[None], on_region_peak, 0.0).hit[0] == False  # noqa: E712
    assert pointing_game(heat[None], on_region_peak, 0.0, region=region).hit[0] == True  # noqa: E712


def test_mass_in_lesions_by_hand():
    lesion = [np.array([[4.0, 4.0, 1.0]])]  # subpixels=1: the 4 pixels rows/cols 3-4
    heat = np.zeros((8, 8))
    heat[3, 3] = 3.0  # in the disc
    heat[3, 4] = -5.0  # in the disc, but negative: not positive mass
    heat[0, :4] = 1.0  # 4 outside
    mass = mass_in_lesions(heat[None], lesion, subpixels=1)
    assert mass.inside[0] == pytest.approx(3 / 7) and mass.area[0] == 4 / 64
    assert mass_ratio(mass) == pytest.approx((3 / 7) / (4 / 64))
    left = np.zeros((8, 8), bool)
    left[:, :4] = True  # the disc's pixels (3, 3) and (4, 3), all the positive mass
    within_left = mass_in_lesions(heat[None], lesion, region=left, subpixels=1)
    assert within_left.inside[0] == pytest.approx(3 / 7) and within_left.area[0] == 2 / 32
    grown = mass_in_lesions(heat[None], lesion, margin=0.6, subpixels=1)
    assert grown.area[0] == 12 / 64


def test_an_even_map_has_a_ratio_of_one_and_an_empty_map_none():
    lesions = [np.array([[2.3, 5.1, 0.7]]), np.array([[6.0, 1.0, 1.4], [2.0, 2.0, 0.3]])]
    even = mass_in_lesions(np.ones((2, 8, 8)), lesions)
    assert np.allclose(even.inside, even.area) and mass_ratio(even) == pytest.approx(1.0)
    empty = mass_in_lesions(np.zeros((2, 8, 8)), lesions)
    assert np.isnan(empty.inside).all() and np.isnan(mass_ratio(empty))


def test_disc_coverage_measures_area_even_below_a_pixel():
    disc = np.array([[8.2, 7.9, 2.3]])
    assert disc_coverage(disc, (16, 16), subpixels=32).sum() == pytest.approx(
        np.pi * 2.3**2, rel=0.01
    )
    assert np.array_equal(disc_coverage(disc, (16, 16), subpixels=1), within_discs(disc, (16, 16)))
    speck = np.array([[4.0, 4.0, 0.3]])  # reaches no pixel centre
    assert not within_discs(speck, (8, 8)).any()
    assert disc_coverage(speck, (8, 8), subpixels=32).sum() == pytest.approx(np.pi * 0.09, rel=0.05)


def test_images_without_lesions_never_hit():
    pointing = pointing_game(np.ones((1, 8, 8)), [NONE])
    assert not pointing.hit[0] and pointing.chance[0] == 0.0
    assert mass_in_lesions(np.ones((1, 8, 8)), [NONE]).area[0] == 0.0


def test_fundus_mask_thresholds_then_erodes_each_image_alone():
    rows, cols = np.mgrid[0:12, 0:12] + 0.5
    eye = (np.hypot(cols - 6, rows - 6) < 5).astype(float) * 0.8
    pictures = np.stack([eye, np.zeros((12, 12))])
    assert np.array_equal(fundus_mask(pictures, erode=0)[0], eye > 0)
    eroded = fundus_mask(pictures, erode=1)
    inner = np.hypot(cols - 6, rows - 6) < 5
    assert eroded[0].sum() < inner.sum() and eroded[0][6, 6]
    assert not eroded[1].any()  # a black picture stays black beside an eye


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="lesions for 2"):
        pointing_game(np.ones((1, 8, 8)), [NONE, NONE])
    with pytest.raises(ValueError, match="region"):
        mass_in_lesions(np.ones((1, 8, 8)), [NONE], region=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(np.ones((1, 8, 8)), [NONE], tolerance=-1)


def block(rows: slice, cols: slice, size: int = 8) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[rows, cols] = True
    return mask


def test_a_map_all_on_the_disc_gives_the_disc_all_the_mass():
    disc, vessels = block(slice(0, 2), slice(0, 4)), block(slice(6, 8), slice(0, 8))
    lesions = block(slice(4, 5), slice(4, 5))
    shares = region_shares(
        disc * 2.0, np.ones((8, 8), bool), {"lesions": lesions, "disc": disc, "vessels": vessels}
    )
    assert shares.mass == pytest.approx({"lesions": 0, "disc": 1, "vessels": 0, "rest": 0})
    assert shares.area == pytest.approx(
        {"lesions": 1 / 64, "disc": 8 / 64, "vessels": 16 / 64, "rest": 39 / 64}
    )
    assert shares.ratio("disc") == pytest.approx(8.0) and shares.ratio("lesions") == 0.0


def test_overlaps_go_to_the_first_part_and_count_once():
    lesions = block(slice(0, 1), slice(0, 2))  # 2 pixels, both also on the disc
    disc = block(slice(0, 2), slice(0, 4))  # 8 pixels, 2 of them lesions
    vessels = block(slice(1, 3), slice(0, 8))  # 16 pixels, 4 of them on the disc
    heat = np.zeros((8, 8))
    heat[0, 0] = 1.0  # lesion and disc: the lesion's
    heat[1, 1] = 2.0  # disc and vessel: the disc's
    heat[2, 5] = 3.0  # a vessel only
    heat[7, 7] = 4.0  # none: the rest
    parts = {"lesions": lesions, "disc": disc, "vessels": vessels}
    shares = region_shares(heat, np.ones((8, 8), bool), parts)
    assert shares.mass == pytest.approx({"lesions": 0.1, "disc": 0.2, "vessels": 0.3, "rest": 0.4})
    assert shares.area == pytest.approx(
        {"lesions": 2 / 64, "disc": 6 / 64, "vessels": 12 / 64, "rest": 44 / 64}
    )
    reversed_order = region_shares(heat, np.ones((8, 8), bool), dict(reversed(parts.items())))
    assert reversed_order.mass["vessels"] == pytest.approx(0.5)  # now it takes (1, 1) too
    assert reversed_order.mass["lesions"] == pytest.approx(0.0)


def test_shares_sum_to_one_inside_the_fundus_with_masks_finer_than_the_map():
    rng = np.random.default_rng(3)
    heat = rng.random((8, 8)) - 0.2  # negative values are not mass
    fundus = block(slice(1, 7), slice(1, 7))
    fine = {  # twice as fine a side: each map pixel is 2 x 2 mask points
        "lesions": within_discs(np.array([[6.0, 6.0, 1.5]]), (16, 16)),
        "disc": within_discs(np.array([[5.0, 8.0, 3.0]]), (16, 16)),
        "vessels": rng.random((16, 16)) < 0.3,
    }
    shares = region_shares(heat, fundus, fine)
    assert sum(shares.mass.values()) == pytest.approx(1.0)
    assert sum(shares.area.values()) == pytest.approx(1.0)
    # the lesion, radius 0.75 map px at (3, 3), covers parts of four map pixels
    lesion_points = fine["lesions"].reshape(8, 2, 8, 2).mean(axis=(1, 3)) * fundus
    assert shares.area["lesions"] == pytest.approx(lesion_points.sum() / 36)
    positive = np.clip(heat, 0, None) * fundus
    assert shares.mass["lesions"] == pytest.approx(
        (positive * lesion_points).sum() / positive.sum()
    )
    outside = heat.copy()
    outside[0, :] = 100.0  # outside the fundus: changes nothing
    assert region_shares(outside, fundus, fine).mass == pytest.approx(shares.mass)


def test_region_shares_of_an_empty_map_and_bad_parts():
    shares = region_shares(
        np.zeros((8, 8)), np.ones((8, 8), bool), {"disc": block(slice(0, 1), slice(0, 1))}
    )
    assert np.isnan(shares.mass["disc"]) and shares.area["disc"] == 1 / 64
    with pytest.raises(ValueError, match="multiple"):
        region_shares(np.ones((8, 8)), np.ones((8, 8), bool), {"disc": np.ones((12, 12))})
    with pytest.raises(ValueError, match="rest"):
        region_shares(np.ones((8, 8)), np.ones((8, 8), bool), {"rest": np.ones((8, 8))})


def test_top_share_measures_concentration():
    fundus = np.ones((10, 10), bool)
    assert top_share(np.ones((10, 10)), fundus, 0.05) == pytest.approx(0.05)
    spike = np.zeros((10, 10))
    spike[3, 4] = 7.0
    assert top_share(spike, fundus, 0.05) == pytest.approx(1.0)
    spike[0, 0] = -50.0  # negative: not mass
    spike[9, 9] = 7.0 / 3
    assert top_share(spike, fundus, 0.01) == pytest.approx(0.75)  # the top pixel of 100
    assert np.isnan(top_share(np.zeros((10, 10)), fundus))
