"""Each loss against a deliberately naive loop written from the paper's equation,
plus hand-worked values, sign properties and library cross-checks."""

import math

import pytest
import torch
from pytorch_metric_learning.losses import NTXentLoss, SupConLoss

from core.learning.losses import (
    learner_contrastive_loss,
    margin_contrastive_loss,
    nt_xent_loss,
    preference_loss,
    severity_score,
    supcon_loss,
)

SHAPES = [(2, 3), (5, 8), (16, 32), (33, 256)]


def cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


def rows(t):
    return t.double().tolist()


@pytest.mark.parametrize(("batch", "dim"), SHAPES)
def test_margin_contrastive_matches_the_equation(batch, dim):
    torch.manual_seed(batch * dim)
    c_i, c_j = torch.randn(batch, dim), torch.randn(batch, dim)
    y = torch.randint(0, 2, (batch,))
    total = 0.0
    for a, b, same in zip(rows(c_i), rows(c_j), y.tolist(), strict=True):
        d = 1 - cos(a, b)
        total += same * d + (1 - same) * max(0.0, 1.5 - d)
    expected = total / batch
    assert margin_contrastive_loss(c_i, c_j, y, margin=1.5).item() == pytest.approx(
        expected, rel=1e-5
    )


def test_margin_contrastive_hand_worked_value():
    c_i = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    c_j = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # orthogonal: d = 1
    y = torch.tensor([1, 0])
    # positive pays d = 1; negative pays max(0, 2 - 1) = 1
    assert margin_contrastive_loss(c_i, c_j, y).item() == pytest.approx(1.0)


@pytest.mark.parametrize(("batch", "dim"), SHAPES)
@pytest.mark.parametrize("scale", [1.0, 5.0])
def test_preference_loss_matches_the_equation(batch, dim, scale):
    torch.manual_seed(batch + dim)
    v_i, v_j, anchor = torch.randn(batch, dim), torch.randn(batch, dim), torch.randn(dim)
    y = torch.tensor([[0.0, 0.5, 1.0][k % 3] for k in range(batch)])
    total = 0.0
    for a, b, target in zip(rows(v_i), rows(v_j), y.tolist(), strict=True):
        s_i, s_j = 1 - cos(a, anchor.tolist()), 1 - cos(b, anchor.tolist())
        p = 1 / (1 + math.exp(-scale * (s_i - s_j)))
        total += -(target * math.log(p) + (1 - target) * math.log(1 - p))
    loss = preference_loss(v_i, v_j, anchor, y, scale=scale)
    assert loss.item() == pytest.approx(total / batch, rel=1e-5)


def test_preference_scale_lets_a_decided_pair_rest():
    """Cosine distances lie in [0, 2]: at scale 1 a perfectly decided pair still pays
    log(1 + e^-2) = 0.127; a larger scale lets its loss go to almost nothing."""
    anchor = torch.tensor([1.0, 0.0])
    far, near = torch.tensor([[-1.0, 0.0]]), torch.tensor([[1.0, 0.0]])  # s = 2 and s = 0
    y = torch.tensor([1.0])
    assert preference_loss(far, near, anchor, y).item() == pytest.approx(math.log1p(math.e**-2))
    assert preference_loss(far, near, anchor, y, scale=5.0).item() < 1e-4
    with pytest.raises(ValueError, match="scale"):
        preference_loss(far, near, anchor, y, scale=0.0)


def test_preference_sign_moving_the_more_severe_image_away_from_normal_lowers_the_loss():
    anchor = torch.tensor([1.0, 0.0])
    v_j = torch.tensor([[1.0, 0.5]])
    y = torch.tensor([1.0])  # i is the more severe image
    near = preference_loss(torch.tensor([[1.0, 0.2]]), v_j, anchor, y)
    far = preference_loss(torch.tensor([[1.0, 2.0]]), v_j, anchor, y)
    farther = preference_loss(torch.tensor([[-1.0, 0.3]]), v_j, anchor, y)
    assert far < near and farther < far
    # and the gradient on v_i points away from the anchor (loss falls as s_i grows)
    v_i = torch.tensor([[1.0, 0.2]], requires_grad=True)
    preference_loss(v_i, v_j, anchor, y).backward()
    step = v_i.detach() - 0.1 * v_i.grad
    assert severity_score(step, anchor) > severity_score(v_i.detach(), anchor)


def test_preference_tie_is_minimised_by_equal_scores():
    anchor = torch.tensor([1.0, 0.0])
    v = torch.tensor([[1.0, 1.0]])
    tie = torch.tensor([0.5])
    assert preference_loss(v, v, anchor, tie) < preference_loss(
        v, torch.tensor([[1.0, 0.0]]), anchor, tie
    )


@pytest.mark.parametrize(("batch", "dim"), SHAPES)
def test_nt_xent_matches_the_equation_and_pytorch_metric_learning(batch, dim):
    torch.manual_seed(7 * batch + dim)
    z_a, z_b, t = torch.randn(batch, dim), torch.randn(batch, dim), 0.3
    views = rows(torch.cat([z_a, z_b]))
    total = 0.0
    for i in range(2 * batch):
        twin = (i + batch) % (2 * batch)
        denominator = sum(math.exp(cos(views[i], views[k]) / t) for k in range(2 * batch) if k != i)
        total += -math.log(math.exp(cos(views[i], views[twin]) / t) / denominator)
    ours = nt_xent_loss(z_a, z_b, temperature=t).item()
    assert ours == pytest.approx(total / (2 * batch), rel=1e-5)
    labels = torch.arange(batch).repeat(2)
    reference = NTXentLoss(temperature=t)(torch.cat([z_a, z_b]), labels).item()
    assert ours == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize(("batch", "dim"), SHAPES[1:])
def test_supcon_matches_the_equation_and_pytorch_metric_learning(batch, dim):
    torch.manual_seed(batch * 3 + dim)
    features, labels, t = torch.randn(batch, dim), torch.randint(0, 3, (batch,)), 0.2
    z, y = rows(features), labels.tolist()
    losses = []
    for i in range(batch):
        positives = [p for p in range(batch) if p != i and y[p] == y[i]]
        if not positives:
            continue
        denominator = sum(math.exp(cos(z[i], z[a]) / t) for a in range(batch) if a != i)
        losses.append(
            -sum(math.log(math.exp(cos(z[i], z[p]) / t) / denominator) for p in positives)
            / len(positives)
        )
    ours = supcon_loss(features, labels, temperature=t).item()
    assert ours == pytest.approx(sum(losses) / len(losses), rel=1e-5)
    assert ours == pytest.approx(SupConLoss(temperature=t)(features, labels).item(), rel=1e-4)


def naive_learner(u, hs, weighted, eps=0.1):
    z, s = rows(u), hs.double().tolist()
    batch, total = len(z), 0.0
    for i in range(batch):
        others = sorted((j for j in range(batch) if j != i), key=lambda j: (abs(s[i] - s[j]), j))
        positives, negatives = others[: batch // 2], others[batch // 2 :]

        def sim(j, i=i):
            return max((1 + cos(z[i], z[j])) / 2, 1e-4)

        def weight(j, i=i):
            return abs(s[i] - s[j]) + eps if weighted else 1.0

        neg = sum(weight(j) * math.log(sim(j)) for j in negatives) / max(len(negatives), 1)
        pos = sum(math.log(sim(j)) / weight(j) for j in positives) / len(positives)
        total += neg - pos
    return total / batch


@pytest.mark.parametrize(("batch", "dim"), [(3, 4), (6, 8), (16, 32), (31, 64)])
@pytest.mark.parametrize("weighted", [True, False])
def test_learner_contrastive_matches_the_equation(batch, dim, weighted):
    torch.manual_seed(batch * dim + weighted)
    u, hs = torch.randn(batch, dim), torch.rand(batch) * 4
    ours = learner_contrastive_loss(u, hs, weighted=weighted).item()
    assert ours == pytest.approx(naive_learner(u, hs, weighted), rel=1e-5, abs=1e-6)


def test_learner_contrastive_prefers_embeddings_ordered_like_the_score():
    hs = torch.tensor([0.0, 0.1, 0.2, 3.0, 3.1, 3.2])
    aligned = torch.tensor([[1.0, 0.0]] * 3 + [[-1.0, 0.0]] * 3) + 0.01 * torch.randn(6, 2)
    shuffled = aligned[torch.tensor([0, 3, 1, 4, 2, 5])]
    for weighted in (True, False):
        assert learner_contrastive_loss(aligned, hs, weighted) < learner_contrastive_loss(
            shuffled, hs, weighted
        )


@pytest.mark.parametrize(
    "call",
    [
        lambda: margin_contrastive_loss(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2), 3.0),
        lambda: margin_contrastive_loss(torch.ones(2, 3), torch.ones(3, 3), torch.ones(2)),
        lambda: preference_loss(torch.ones(2, 3), torch.ones(2, 3), torch.ones(4), torch.ones(2)),
        lambda: preference_loss(
            torch.ones(2, 3), torch.ones(2, 3), torch.ones(3), torch.tensor([2.0, 0.0])
        ),
        lambda: nt_xent_loss(torch.ones(2, 3), torch.ones(2, 3), temperature=0),
        lambda: supcon_loss(torch.ones(2, 3), torch.ones(3)),
        lambda: learner_contrastive_loss(torch.ones(2, 3), torch.ones(2)),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
