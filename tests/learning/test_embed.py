"""What a version sees of a dataset: the normalised tensor, and the embedding in chunks
with progress between them (the figures are those of one pass over every image)."""

import numpy as np
import pytest
import torch

from core.learning import embed as embed_module
from core.learning.encoders import EncoderConfig, SeverityNet
from core.learning.scoring import severity_scores, space_vectors


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SeverityNet(EncoderConfig()).eval()


def test_chunks_give_the_one_pass_figures_and_report_progress(net, monkeypatch):
    monkeypatch.setattr(embed_module, "CHUNK", 8)
    images = torch.rand(20, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    anchor = torch.randn(256, generator=torch.Generator().manual_seed(2))
    reports: list[tuple[int, int]] = []

    result = embed_module.embed(net, images, "preference", anchor, lambda *r: reports.append(r))

    assert reports == [(8, 20), (16, 20), (20, 20)]
    # the reference: every image at once, the flips stacked as the spread's four views
    views = [images, images.flip(-1), images.flip(-2), images.flip(-1, -2)]
    scores = np.stack([severity_scores(net, v, "preference", anchor) for v in views])
    expected = space_vectors(net, images, "preference").numpy()  # its map's space
    assert result.vectors.shape == expected.shape
    np.testing.assert_allclose(result.vectors, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.severity, scores[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.severity_std, scores.std(0), rtol=1e-4, atol=1e-5)
    assert result.severity_std.max() > 0  # the flips differ: a spread that could be wrong


def test_nothing_to_embed_is_said_in_words(net):
    with pytest.raises(ValueError, match="no images"):
        embed_module.embed(net, torch.zeros(0, 3, 28, 28), "preference", torch.zeros(256))


@pytest.mark.parametrize(
    "shape, size", [((6, 32, 32, 3), 32), ((4, 40, 40, 3), 32), ((3, 20, 20), 28)]
)
def test_pictures_become_the_normalised_tensor_of_the_formula(shape, size):
    """``to_tensor`` normalises in place (one float copy of a study, not three): the
    result is the formula's, value for value, RGB or grey, resized or not."""
    from core.learning.data import MEAN, STD, to_tensor

    pixels = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    rgb = torch.as_tensor(pixels if len(shape) == 4 else np.repeat(pixels[..., None], 3, -1))
    expected = rgb.permute(0, 3, 1, 2).float() / 255.0
    if shape[1] != size:
        expected = torch.nn.functional.interpolate(
            expected, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    expected = (expected - MEAN) / STD
    result = to_tensor(pixels, size)
    assert result.shape == (shape[0], 3, size, size) and result.is_contiguous()
    assert torch.equal(result, expected)


def test_pictures_resized_in_batches_are_those_resized_one_at_a_time(monkeypatch):
    """Batches of mixed shapes and grey pictures, split across batch ends: each picture
    comes out where it went in, with the values of the one-at-a-time reference."""
    from core.learning import data

    monkeypatch.setattr(data, "SQUARE_BATCH", 4)
    rng = np.random.default_rng(3)
    shapes = [(40, 40, 3), (96, 96), (40, 40, 3), (20, 30, 3), (96, 96), (40, 40, 3), (28, 28, 3)]
    pictures = [rng.integers(0, 256, s).astype(np.uint8) for s in shapes]

    def one(picture: np.ndarray) -> np.ndarray:
        rgb = picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)
        image = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().unsqueeze(0)
        image = torch.nn.functional.interpolate(
            image, size=(28, 28), mode="bilinear", antialias=True, align_corners=False
        )
        return image[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()

    expected = data.to_tensor(np.stack([one(p) for p in pictures]), 28)
    assert torch.equal(data.pictures_to_tensor(iter(pictures), 28), expected)


def test_large_pictures_are_resized_a_few_at_a_time(monkeypatch):
    """A batch ends at its byte budget: photographs of several megapixels are never all
    held at full size (here a budget of three pictures' pixels)."""
    from core.learning import data

    pictures = [np.full((64, 64, 3), k, np.uint8) for k in range(7)]
    monkeypatch.setattr(data, "SQUARE_BYTES", 3 * pictures[0].nbytes)
    sizes: list[int] = []
    squares = data._squares
    monkeypatch.setattr(
        data, "_squares", lambda batch, size: sizes.append(len(batch)) or squares(batch, size)
    )

    result = data.pictures_to_tensor(iter(pictures), 16)

    assert sizes == [3, 3, 1]
    # a flat picture stays flat: picture k, normalised, is (k / 255 - 0.5) / 0.25
    expected = (torch.arange(7.0) / 255 - 0.5) / 0.25
    assert torch.allclose(result.mean(dim=(1, 2, 3)), expected, atol=1e-6)
