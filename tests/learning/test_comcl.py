"""CoMCL: the loss against a naive loop written from its equation, the self-paced
choice of negatives, and the low-quality twins of a training batch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.learning.degrade import degrade_batch
from core.learning.losses import comcl_loss, self_paced_keep


def naive_comcl(z_clean, z_low, abnormal, temperature, keep_fraction):
    """loss_i = -l_ip + log(exp(l_ip) + sum over kept negatives exp(l_ik)), one anchor
    at a time; negatives are the other class's views, the hardest ceil(f |N|) kept."""
    z = [F.normalize(v, dim=0) for v in torch.cat([z_clean, z_low])]
    label = [bool(a) for a in abnormal] * 2
    n = len(z_clean)
    losses = []
    for i in range(2 * n):
        twin = i + n if i < n else i - n
        logit = {k: float(z[i] @ z[k]) / temperature for k in range(2 * n) if k != i}
        negatives = sorted(
            (k for k in logit if label[k] != label[i]), key=lambda k: logit[k], reverse=True
        )
        kept = negatives[: math.ceil(len(negatives) * keep_fraction)]
        if not kept:
            continue
        total = math.exp(logit[twin]) + sum(math.exp(logit[k]) for k in kept)
        losses.append(-logit[twin] + math.log(total))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("keep_fraction", [1.0, 0.5, 0.2])
def test_the_loss_matches_the_naive_loop(keep_fraction):
    generator = torch.Generator().manual_seed(0)
    z_clean, z_low = torch.randn(6, 5, generator=generator), torch.randn(6, 5, generator=generator)
    abnormal = torch.tensor([1, 0, 1, 1, 0, 0])
    expected = naive_comcl(z_clean, z_low, abnormal, 0.2, keep_fraction)
    assert comcl_loss(z_clean, z_low, abnormal, 0.2, keep_fraction).item() == pytest.approx(
        expected, rel=1e-5
    )


def test_a_batch_of_one_class_has_no_negatives_and_no_loss():
    z = torch.randn(4, 3, requires_grad=True)
    loss = comcl_loss(z, z.detach() + 0.1, torch.ones(4, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()  # still a graph: the training loop can step on it


def test_twins_closer_than_the_other_class_give_a_lower_loss():
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(8, 16, generator=generator)
    abnormal = torch.tensor([0, 1] * 4)
    near = comcl_loss(base, base + 0.01 * torch.randn(8, 16, generator=generator), abnormal)
    far = comcl_loss(base, torch.randn(8, 16, generator=generator), abnormal)
    assert near < far


def test_self_paced_keeps_exactly_the_negatives_above_the_threshold_and_more_with_pace():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(10, 10, generator=generator)
    negatives = torch.rand(10, 10, generator=generator) < 0.6
    negatives.fill_diagonal_(False)
    counts = []
    for fraction in (0.2, 0.5, 1.0):
        kept = self_paced_keep(logits, negatives, fraction)
        assert not (kept & ~negatives).any()
        for row in range(10):
            candidates = logits[row][negatives[row]]
            if len(candidates) == 0:
                continue
            wanted = math.ceil(len(candidates) * fraction)
            threshold = candidates.sort(descending=True).values[wanted - 1]
            expected = negatives[row] & (logits[row] >= threshold)
            assert torch.equal(kept[row], expected)
        counts.append(int(kept.sum()))
    assert counts[0] < counts[1] < counts[2] == int(negatives.sum())
    with pytest.raises(ValueError, match="keep_fraction"):
        self_paced_keep(logits, negatives, 0.0)


def _high_frequency(images: torch.Tensor) -> float:
    grey = images.mean(1)
    spectrum = torch.fft.fftshift(torch.fft.fft2(grey - grey.mean()), dim=(-2, -1)).abs() ** 2
    h, w = grey.shape[-2:]
    fy, fx = np.mgrid[-h // 2 : h // 2, -w // 2 : w // 2]
    high = torch.as_tensor(np.hypot(fy / (h / 2), fx / (w / 2)) > 0.5)
    return float(spectrum[..., high].sum() / spectrum.sum())


def test_low_quality_twins_change_the_image_but_keep_it_recognisable():
    x = torch.linspace(0, 12 * math.pi, 64)
    stripes = (torch.sin(x)[None, :] * torch.cos(x)[:, None]).expand(4, 3, 64, 64).clone()
    twins = degrade_batch(stripes, torch.Generator().manual_seed(4), strength=1.0)
    again = degrade_batch(stripes, torch.Generator().manual_seed(4), strength=1.0)
    assert twins.shape == stripes.shape and torch.equal(twins, again)
    untouched = degrade_batch(stripes, torch.Generator().manual_seed(3), strength=0.0)
    assert torch.allclose(untouched, stripes, atol=1e-5)  # strength 0: the same image
    correlations = [
        float(torch.corrcoef(torch.stack([twin.flatten(), source.flatten()]))[0, 1])
        for twin, source in zip(twins, stripes, strict=True)
    ]
    assert all(0.2 < c < 0.999 for c in correlations)  # changed, still the same picture


def test_the_twins_blur_removes_fine_detail():
    from core.learning.degrade import _blur

    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2).float()
    image = checker.expand(3, 64, 64).clone()
    blurred = _blur(image, 2.0)
    assert blurred.std() < 0.01 * image.std()  # a pixel-scale checkerboard averages out
    assert blurred.mean() == pytest.approx(image.mean(), abs=1e-3)
    assert torch.equal(_blur(image, 0.05), image)
