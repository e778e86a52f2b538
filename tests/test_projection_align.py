"""Aligning a new map onto the one users know (orthogonal Procrustes with scale), and how
far each image moved."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from core.projection_align import Layout, align, displacement, fit_alignment, shared_ids


def a_map(n=40, dims=2, seed=0, first_id=1):
    rng = np.random.default_rng(seed)
    return Layout(np.arange(first_id, first_id + n), rng.normal(0, 3, (n, dims)))


def orthogonal(dims, seed, reflect):
    rotation = special_ortho_group.rvs(dims, random_state=seed)
    if reflect:
        rotation = rotation @ np.diag([-1.0] + [1.0] * (dims - 1))
    return rotation


def moved(layout, rotation, scale, shift, seed=1):
    """The same map, rotated (or reflected), scaled and shifted, rows shuffled."""
    order = np.random.default_rng(seed).permutation(len(layout.ids))
    return Layout(layout.ids[order], scale * layout.coords[order] @ rotation + shift)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("reflect", [False, True])
def test_a_rotated_reflected_scaled_shifted_copy_is_aligned_back(dims, reflect):
    reference = a_map(dims=dims)
    copy = moved(reference, orthogonal(dims, 3, reflect), 0.37, np.arange(dims) * 5.0 - 2)
    aligned, fit = align(copy, reference)
    assert fit is not None and fit.shared == 40
    np.testing.assert_allclose(aligned.at(reference.ids), reference.coords, atol=1e-6, rtol=0)
    assert np.linalg.det(fit.rotation) == pytest.approx(-1.0 if reflect else 1.0)
    assert displacement(reference, aligned).max() < 1e-6
    assert displacement(reference, copy).max() > 0.1  # before alignment, far off


def test_a_hand_worked_reflection_with_scale_and_shift():
    reference = Layout([1, 2, 3], [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    # mirrored in the y axis, doubled, moved by (10, -1)
    copy = Layout([1, 2, 3], [[10.0, -1.0], [8.0, -1.0], [10.0, 3.0]])
    fit = fit_alignment(copy, reference)
    np.testing.assert_allclose(fit.rotation, [[-1, 0], [0, 1]], atol=1e-12)
    assert fit.scale == pytest.approx(0.5)
    np.testing.assert_allclose(fit.translation, [5.0, 0.5], atol=1e-12)


def test_only_shared_images_drive_the_fit_and_every_image_is_carried_along():
    reference = a_map(n=30)
    rotation = orthogonal(2, 7, reflect=True)
    extra = Layout(np.arange(500, 510), np.random.default_rng(9).normal(0, 3, (10, 2)))
    everything = Layout(
        np.concatenate([reference.ids, extra.ids]),
        np.vstack([reference.coords, extra.coords]) @ rotation + [4.0, 4.0],
    )
    aligned, fit = align(everything, reference)
    assert fit.shared == 30
    np.testing.assert_allclose(aligned.at(reference.ids), reference.coords, atol=1e-6)
    # images only the new map shows follow the same transform
    np.testing.assert_allclose(aligned.at(extra.ids), extra.coords, atol=1e-6)


def test_a_noisy_copy_is_aligned_as_well_as_a_least_squares_fit_can():
    reference = a_map(n=60)
    noise = np.random.default_rng(4).normal(0, 0.2, reference.coords.shape)
    copy = moved(Layout(reference.ids, reference.coords + noise), orthogonal(2, 5, True), 2, 9)
    aligned, fit = align(copy, reference)
    residual = np.linalg.norm(aligned.at(reference.ids) - reference.coords, axis=1)
    noise_size = np.linalg.norm(noise, axis=1)
    assert np.median(residual) < 1.5 * np.median(noise_size)
    # a least-squares fit: nudging the rotation only makes it worse
    angle = 0.02
    nudge = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    worse = fit.scale * copy.at(reference.ids) @ fit.rotation @ nudge + fit.translation
    assert ((worse - reference.coords) ** 2).sum() > (residual**2).sum()


def test_a_map_without_shared_images_is_left_as_is():
    reference = a_map(n=20, first_id=1)
    other = a_map(n=20, first_id=100, seed=5)
    aligned, fit = align(other, reference)
    assert fit is None and aligned is other
    assert align(other, None) == (other, None)


def test_too_few_shared_images_or_a_collapsed_map_leave_the_map_as_is():
    reference = a_map(n=20)
    two_shared = Layout([1, 2, 900], [[0.0, 1.0], [2.0, 3.0], [4.0, 4.0]])
    assert fit_alignment(two_shared, reference) is None  # 2-D needs 3 shared images
    collapsed = Layout(reference.ids, np.ones_like(reference.coords))
    assert fit_alignment(collapsed, reference) is None
    assert fit_alignment(reference, collapsed) is None


def test_maps_of_different_dimensions_are_refused():
    with pytest.raises(ValueError, match="same dimension"):
        fit_alignment(a_map(dims=3), a_map(dims=2))
    with pytest.raises(ValueError, match="cannot be compared"):
        displacement(a_map(dims=3), a_map(dims=2))


def test_a_layout_needs_one_row_per_distinct_image():
    with pytest.raises(ValueError, match="one row"):
        Layout([1, 2, 3], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="repeat"):
        Layout([1, 1], np.zeros((2, 2)))
    with pytest.raises(KeyError, match="not on this map"):
        a_map(n=5).at([1, 77])


def test_displacement_is_a_share_of_the_reference_maps_width():
    old = Layout([1, 2, 3, 4], [[0.0, 0.0], [10.0, 0.0], [0.0, 4.0], [5.0, 2.0]])
    new = Layout([4, 3, 2, 1, 8], [[5.0, 2.0], [0.0, 7.0], [10.0, 0.0], [1.0, 0.0], [0, 0]])
    assert old.width() == 10.0
    np.testing.assert_allclose(displacement(old, new), [0.1, 0.0, 0.3, 0.0])
    np.testing.assert_allclose(displacement(old, new, [3, 1]), [0.3, 0.1])
    assert shared_ids(old, new).tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="no width"):
        displacement(Layout([1, 2], np.zeros((2, 2))), new)


@settings(max_examples=60, deadline=None)
@given(
    dims=st.sampled_from([2, 3]),
    seed=st.integers(0, 2**31 - 1),
    reflect=st.booleans(),
    scale=st.floats(0.01, 100),
    shift=st.floats(-1e3, 1e3),
    n=st.integers(4, 60),
)
def test_any_similarity_transform_is_undone(dims, seed, reflect, scale, shift, n):
    reference = a_map(n=n, dims=dims, seed=seed % 1000)
    copy = moved(reference, orthogonal(dims, seed, reflect), scale, shift, seed=seed)
    aligned, fit = align(copy, reference)
    np.testing.assert_allclose(aligned.at(reference.ids), reference.coords, atol=1e-6, rtol=0)
    assert fit.scale == pytest.approx(1 / scale, rel=1e-6)
