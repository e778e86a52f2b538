import math

import numpy as np
import pytest
import torch

from core.learning.encoders import EncoderConfig, SeverityNet, normality_anchor
from core.learning.metrics import classification_metrics, judgment_agreement, maee, severity_tau


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SeverityNet(EncoderConfig())


def test_heads_have_the_papers_shapes(net):
    x = torch.randn(4, 3, 28, 28)
    assert net(x).shape == (4, 512)
    assert net.contrastive(x).shape == (4, 256)
    assert net.preference(x).shape == (4, 256)


@pytest.mark.parametrize("n", [1, 10, 20])
def test_anchor_is_the_mean_preference_vector_and_leaves_batchnorm_alone(net, n):
    net.train()
    images = torch.randn(n, 3, 28, 28) + 3.0  # a batch that would shift BN statistics
    before = {k: v.clone() for k, v in net.state_dict().items()}
    anchor = normality_anchor(net, images)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert net.training  # mode restored
    net.eval()
    with torch.no_grad():
        expected = net.preference(images).mean(0)
    net.train()
    assert anchor.shape == (256,)
    assert not anchor.requires_grad
    assert torch.allclose(anchor, expected, atol=1e-5)


def test_local_weights_file_is_loaded_without_any_download(tmp_path):
    from torchvision.models import resnet18

    reference = resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "r18.pt")
    net = SeverityNet(EncoderConfig(small_input=False, weights_path=str(tmp_path / "r18.pt")))
    assert torch.equal(net.f.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)


def test_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="unknown backbone"):
        SeverityNet(EncoderConfig(backbone="vgg"))


def test_maee_hand_worked():
    assert maee([0, 1, 2], [0, 1, 2]) == 1.0
    assert maee([0, 0], [2, 0]) == pytest.approx((math.e**2 + 1) / 2)


def test_classification_metrics_on_a_known_confusion():
    y_true, y_pred = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(y_true, y_pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["maee"] == pytest.approx((4 * 1 + math.e + math.e**2) / 6)
    assert -1 <= m["qwk"] < 1


def test_tau_and_agreement():
    assert severity_tau(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2])) == pytest.approx(1.0)
    assert severity_tau(np.array([0.3, 0.2, 0.1]), np.array([0, 1, 2])) == pytest.approx(-1.0)
    agree = judgment_agreement(
        np.array([0.9, 0.1, 0.5]), np.array([0.1, 0.9, 0.5]), ["left", "left", "equal"]
    )
    assert agree == 0.5
