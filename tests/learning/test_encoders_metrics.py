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


def test_ordering_metrics_separate_normal_vs_abnormal_from_order_among_abnormal():
    from core.learning.metrics import severity_ordering

    grade = np.array([0, 0, 0, 1, 2, 3, 4])
    # knows normal from abnormal perfectly, but orders the abnormal grades backwards
    score = np.array([0.0, 0.1, 0.2, 0.9, 0.8, 0.7, 0.6])
    figures = severity_ordering(score, grade, truth=np.array([0, 0.1, 0.1, 0.3, 0.5, 0.7, 0.9]))
    assert figures["auc_abnormal"] == 1.0
    assert figures["tau_abnormal"] == pytest.approx(-1.0)
    assert figures["tau"] > 0  # tau alone would call this a decent severity score
    assert figures["tau_truth"] == pytest.approx(
        severity_tau(score, np.array([0, 0.1, 0.1, 0.3, 0.5, 0.7, 0.9]))
    )
    assert "auc_abnormal" not in severity_ordering(score[3:], grade[3:])  # no normals
    assert "tau_truth" not in severity_ordering(score, grade, np.full(7, np.nan))


def test_bayes_decision_minimises_expected_maee_not_the_argmax():
    from core.learning.metrics import bayes_maee_decision, constant_maee

    # argmax says 0, but a 45% chance of grade 4 makes 0 very costly: 2 is cheaper
    probabilities = np.array([[0.55, 0.0, 0.0, 0.0, 0.45]])
    costs = [
        sum(p * math.exp(abs(c - k)) for c, p in enumerate(probabilities[0])) for k in range(5)
    ]
    assert bayes_maee_decision(probabilities)[0] == int(np.argmin(costs)) == 2
    assert bayes_maee_decision(np.eye(5)).tolist() == [0, 1, 2, 3, 4]
    # training grades 0, 0, 0, 1, 4: always answering 1 costs least in expectation
    floor = constant_maee(np.array([0, 0, 0, 1, 4]), np.array([0, 4]))
    assert floor["constant_grade"] == 1 and floor["maee"] == pytest.approx((math.e + math.e**3) / 2)
