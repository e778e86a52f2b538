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
