"""Embedding a dataset in chunks, with progress between them: the figures are those of one
pass over every image."""

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
