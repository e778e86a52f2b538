"""Expected information gain of asking about a pair.

The mutual information between the answer and the two images' severities (BALD:
Houlsby, Huszar, Ghahramani and Lengyel 2011, "Bayesian active learning for
classification and preference learning", eq. (3) and its probit approximation). For a
pair whose difference in severity is believed Normal(m, v) and a rater who answers
"first is more severe" with probability Phi(d / (sqrt(2) beta)):

    I = h(Phi(m / sqrt(2 beta^2 + v))) - C / sqrt(v' + C^2) exp(-m'^2 / (2 (v' + C^2)))

with h the binary entropy in bits, m' = m / (sqrt(2) beta), v' = v / (2 beta^2) and
C = sqrt(pi ln 2 / 2). It is largest for pairs that are close (m near 0: the answer is
a coin flip) and uncertain (v large: the answer will move the beliefs).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from .beliefs import BETA

C = math.sqrt(math.pi * math.log(2) / 2)


def binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def information_gain(
    mean_difference: np.ndarray, variance: np.ndarray, beta: float = BETA
) -> np.ndarray:
    """Bits of information an answer is expected to give about the two severities."""
    m = np.asarray(mean_difference, dtype=float) / (math.sqrt(2) * beta)
    v = np.asarray(variance, dtype=float) / (2 * beta**2)
    marginal = binary_entropy(ndtr(m / np.sqrt(1 + v)))
    expected = C / np.sqrt(v + C**2) * np.exp(-(m**2) / (2 * (v + C**2)))
    return np.maximum(marginal - expected, 0.0)
