import numpy as np
import torch

from core.learning.config import TrainConfig
from core.learning.methods import StepContext, comcl_levels, comcl_step
from core.learning.patches import crop, draw_patches, patch_side, scale_lesions
from core.learning.train import build_net
from core.synthetic import CohortConfig, generate_with_lesions


def test_lesion_patches_hold_a_lesion_and_healthy_ones_hold_none():
    lesions = [np.array([[20.0, 30.0, 1.5], [40.0, 12.0, 1.0]]), np.zeros((0, 3))]
    draw = draw_patches(lesions, 64, 16, 30, np.random.default_rng(0))
    assert draw.lesion.sum() == 30 and (~draw.lesion).sum() == 30
    for i, top, left, lesion in zip(draw.image, draw.top, draw.left, draw.lesion, strict=True):
        assert 0 <= top <= 48 and 0 <= left <= 48
        inside = [
            left - r <= x < left + 16 + r and top - r <= y < top + 16 + r for x, y, r in lesions[i]
        ]
        assert any(inside) if lesion else not any(inside)


def test_no_recorded_lesion_means_no_patch_level():
    assert draw_patches([np.zeros((0, 3))] * 3, 64, 16, 4, np.random.default_rng(0)) is None
    assert comcl_levels(None) == {"comcl_patch_level": 0.0, "comcl_lesions_known": 0.0}
    assert comcl_levels([np.zeros((2, 3))])["comcl_patch_level"] == 1.0


def test_crop_takes_the_drawn_squares():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    lesions = [np.array([[4.0, 4.0, 0.5]]), np.array([[4.0, 4.0, 0.5]])]
    draw = draw_patches(lesions, 8, 4, 1, np.random.default_rng(0))
    patches = crop(images, draw, 4)
    i, top, left = draw.image[0], draw.top[0], draw.left[0]
    assert torch.equal(patches[0], images[i, :, top : top + 4, left : left + 4])
    assert patch_side(64) == 16 and patch_side(16) == 8 and patch_side(64, 12) == 12


def test_scaled_lesions_land_on_the_spots_the_generator_drew():
    (_visit, pixels, spots), *_ = [
        v for v in generate_with_lesions(CohortConfig(patients=3, image_size=128)) if v[2]
    ]
    rows = [(s.kind, s.x, s.y, s.radius) for s in spots]
    at64 = scale_lesions(rows, (128, 128), 64)
    assert np.allclose(at64[:, :2] * 2, [(s.x, s.y) for s in spots])
    spot = spots[0]
    colour = pixels[int(spot.y), int(spot.x)].astype(int)
    ring = pixels[int(spot.y), min(127, int(spot.x + spot.radius + 4))].astype(int)
    assert np.abs(colour - ring).sum() > 30  # a spot differs from the fundus beside it


def test_the_comcl_step_adds_the_patch_level_where_lesions_are_known():
    config = TrainConfig(method="comcl", image_size=32, batch_size=4, device="cpu")
    net = build_net(config)
    rng_images = torch.randn(6, 3, 32, 32)
    lesions = [np.array([[16.0, 16.0, 1.0]])] * 3 + [np.zeros((0, 3))] * 3

    def context(with_lesions):
        return StepContext(
            images=rng_images,
            grades=np.array([0, 1, 2, 0, 1, 3]),
            health=np.zeros(6),
            preference_pairs=None,
            config=config,
            rng=np.random.default_rng(0),
            generator=torch.Generator().manual_seed(0),
            device=torch.device("cpu"),
            lesions=lesions if with_lesions else None,
        )

    _, with_patches = comcl_step(net, context(True))
    _, without = comcl_step(net, context(False))
    assert "patch_loss" in with_patches and with_patches["patch_loss"] > 0
    assert "patch_loss" not in without


def test_the_store_gives_training_the_lesions_the_demo_cohort_recorded(store):
    from core.demo import import_cohort
    from core.learning.data import load_store_splits

    import_cohort(store, CohortConfig(patients=8, image_size=32))
    train = load_store_splits(store, 16)["train"]
    assert train.lesions is not None and len(train.lesions) == len(train)
    known = np.concatenate([found for found in train.lesions if len(found)])
    assert len(known) > 0 and (known[:, :2] >= 0).all() and (known[:, :2] <= 16).all()
