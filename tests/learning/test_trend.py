import numpy as np
import torch

from core.learning.data import ImageSet
from core.learning.trend import SAME_WITHIN, trend_labels, visit_pairs


def test_visit_pairs_are_consecutive_within_each_patient_in_visit_order():
    patients = np.array(["a", "b", "a", "a", "b", ""], dtype=object)
    order = np.array([2.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    image_set = ImageSet(
        torch.zeros(6, 3, 4, 4), np.zeros(6, int), np.zeros(6), np.arange(6), patients, order
    )
    earlier, later = visit_pairs(image_set)
    assert sorted(zip(earlier.tolist(), later.tolist(), strict=True)) == [(1, 4), (2, 3), (3, 0)]


def test_trend_labels_follow_the_health_change():
    health = np.array([0.5, 0.2, 0.5 + SAME_WITHIN / 2, 0.9])
    labels = trend_labels(health, np.array([0, 0, 0]), np.array([1, 2, 3]))
    assert labels.tolist() == [0, 1, 2]  # improved, same, deteriorated


def test_the_score_change_caller_learns_the_three_bands_and_carries_over():
    """Changes below -0.1 are improvements and above 0.1 deteriorations: fitted on one set
    of pairs, the caller gets new pairs right away from the boundaries."""
    from core.learning.trend import ScoreChangeCaller

    rng = np.random.default_rng(0)
    changes = rng.uniform(-0.6, 0.6, 400)
    labels = np.where(changes < -SAME_WITHIN, 0, np.where(changes > SAME_WITHIN, 2, 1))
    caller = ScoreChangeCaller(changes, labels)
    new = np.array([-0.5, -0.3, 0.0, 0.02, 0.3, 0.5])
    assert caller.predict(new).tolist() == [0, 0, 1, 1, 2, 2]
    probabilities = caller.probabilities(new)
    assert probabilities.shape == (6, 3) and np.allclose(probabilities.sum(1), 1)
    only_two = ScoreChangeCaller(changes[changes > -0.05], labels[changes > -0.05])
    assert only_two.probabilities(new)[:, 0].tolist() == [0.0] * 6  # never saw "improved"
