"""The losses of ConPro, SEMISE, LEARNER and the contrastive baselines.

Notation and the papers, in our words: ``docs/methods.md``. ``cos`` is cosine similarity and
``d(a, b) = 1 - cos(a, b)`` the cosine distance (0 = same direction, 2 = opposite).
Every loss returns the mean over the batch, so its scale does not depend on batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``1 - cos(a, b)`` row by row; ``a`` (B, D), ``b`` (B, D) or (D,) -> (B,)."""
    return 1.0 - F.cosine_similarity(a, b.expand_as(a), dim=-1, eps=1e-8)


def margin_contrastive_loss(
    c_i: torch.Tensor, c_j: torch.Tensor, same_group: torch.Tensor, margin: float = 2.0
) -> torch.Tensor:
    """ConPro's Con step, ConPro eq. (1) with the distance of eq. (2) (not squared as in
    SEMISE eq. 1):

    ``L = y * d(c_i, c_j) + (1 - y) * max(0, m - d(c_i, c_j))``

    ``c_i``, ``c_j``: (B, D) contrastive-head outputs; ``same_group``: (B,) with 1 when
    both images are normal or both abnormal; ``margin`` m in (0, 2].
    """
    _check_pair(c_i, c_j, same_group)
    if not 0 < margin <= 2:
        raise ValueError(f"margin must be in (0, 2] for cosine distance, got {margin}")
    y = same_group.to(c_i.dtype)
    distance = cosine_distance(c_i, c_j)
    return (y * distance + (1 - y) * torch.relu(margin - distance)).mean()


def severity_score(v: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """``s(x) = d(v(x), pi_0)``: distance from the normality anchor; larger = more severe."""
    if anchor.dim() != 1 or v.shape[-1] != anchor.shape[0]:
        raise ValueError(f"anchor must be ({v.shape[-1]},), got {tuple(anchor.shape)}")
    return cosine_distance(v, anchor)


def preference_loss(
    v_i: torch.Tensor,
    v_j: torch.Tensor,
    anchor: torch.Tensor,
    i_more_severe: torch.Tensor,
    scale: float = 1.0,
) -> torch.Tensor:
    """ConPro's PrO step, ConPro eq. (3)-(4) (SEMISE eq. 3): Bradley-Terry over
    distances to the normality anchor.

    ``P(i more severe than j) = sigmoid(s_i - s_j)``, ``s = d(v, pi_0)``;
    ``L = BCE(sigmoid(s_i - s_j), y)``, computed stably from the logit ``s_i - s_j``.

    ``v_i``, ``v_j``: (B, D) preference-head outputs; ``anchor``: (D,) in the same space;
    ``i_more_severe``: (B,) targets, 1 when i is more severe, 0 when j is, and 0.5 for a
    tie (same grade, or an expert's "equal"): ties pull the two scores together.
    Sign: with y = 1, moving ``v_i`` farther from the anchor lowers the loss.

    ``scale`` multiplies the logit: ``sigmoid(scale * (s_i - s_j))``. The paper's loss is
    ``scale = 1``; cosine distances lie in [0, 2], so its logits are bounded by 2 and a
    decided pair's loss never falls below 0.127: every pair keeps pulling equally and
    the ordering drifts between seeds. A larger scale (a temperature of 1/scale) lets
    decided pairs rest (see docs/benchmarks.md for the measurements).
    """
    _check_pair(v_i, v_j, i_more_severe)
    if ((i_more_severe < 0) | (i_more_severe > 1)).any():
        raise ValueError("preference targets must lie in [0, 1]")
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    logits = scale * (severity_score(v_i, anchor) - severity_score(v_j, anchor))
    return F.binary_cross_entropy_with_logits(logits, i_more_severe.to(logits.dtype))


def normal_anchor_distance(v_normal: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Mean severity score of normal images, ``mean d(v, pi_0)``: the optional term that
    keeps normals at the anchor during PrO (not in the paper: ``normal_pull``)."""
    return severity_score(v_normal, anchor).mean()


def nt_xent_loss(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's NT-Xent (SEMISE eq. 2) over 2N views: ``z_a[k]`` and ``z_b[k]`` are two
    views of image k.

    For each of the 2N views i with twin p(i):
    ``l_i = -log( exp(cos(z_i, z_p)/t) / sum_{k != i} exp(cos(z_i, z_k)/t) )``; mean over i.
    """
    if z_a.shape != z_b.shape or z_a.dim() != 2 or z_a.shape[0] < 2:
        raise ValueError("z_a and z_b must both be (N, D) with N >= 2")
    _check_temperature(temperature)
    z = F.normalize(torch.cat([z_a, z_b]), dim=1)
    n = z_a.shape[0]
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    twins = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, twins)


def supcon_loss(
    features: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020, L_out), on normalised features.

    For each anchor i with positives P(i) (same label, not i):
    ``l_i = -1/|P(i)| sum_{p in P(i)} log( exp(z_i.z_p/t) / sum_{a != i} exp(z_i.z_a/t) )``;
    the mean is over anchors that have at least one positive.
    ``features`` (B, D), ``labels`` (B,) integer classes.
    """
    if features.dim() != 2 or labels.shape != (features.shape[0],):
        raise ValueError("features must be (B, D) and labels (B,)")
    _check_temperature(temperature)
    z = F.normalize(features, dim=1)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    log_prob = torch.log_softmax((z @ z.T / temperature).masked_fill(eye, float("-inf")), dim=1)
    positives = (labels[:, None] == labels[None, :]) & ~eye
    counts = positives.sum(1)
    has_positive = counts > 0
    if not has_positive.any():
        return features.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~positives, 0.0)).sum(1)[has_positive]
    return (per_anchor / counts[has_positive]).mean()


def learner_contrastive_loss(
    u: torch.Tensor, health_score: torch.Tensor, weighted: bool = True, eps: float = 0.1
) -> torch.Tensor:
    """LEARNER's contrastive term, LEARNER eq. (2)-(3) (CL, or wCL when ``weighted``).

    For each anchor i of a batch of B, the other B - 1 samples are ranked by
    ``|HS_i - HS_j|`` (ties by index): the ``B // 2`` closest are positives, the rest
    negatives. Similarity ``sim_ij = (1 + cos(u_i, u_j)) / 2`` lies in [0, 1] so that its
    log exists (clamped at 1e-4). With ``w_ij = |HS_i - HS_j| + eps`` (1 when unweighted):

    ``l_i = mean_{j in neg(i)} w_ij * log(sim_ij) - mean_{j in pos(i)} log(sim_ij) / w_ij``

    and the loss is the mean of ``l_i``: positives are pulled together (more so when their
    scores are close), negatives pushed apart (more so when their scores are far apart).
    ``u`` (B, D), ``health_score`` (B,), B >= 3.
    """
    if u.dim() != 2 or health_score.shape != (u.shape[0],) or u.shape[0] < 3:
        raise ValueError("u must be (B, D) and health_score (B,), with B >= 3")
    batch = u.shape[0]
    z = F.normalize(u, dim=1)
    sim = ((1 + z @ z.T) / 2).clamp(min=1e-4)
    gap = (health_score[:, None] - health_score[None, :]).abs().to(u.dtype)
    weight = gap + eps if weighted else torch.ones_like(gap)
    # rank the others by score gap; the anchor itself sorts last
    order_key = gap.masked_fill(torch.eye(batch, dtype=torch.bool, device=u.device), float("inf"))
    ranks = order_key.argsort(dim=1, stable=True).argsort(dim=1)
    positive = ranks < batch // 2
    negative = (ranks >= batch // 2) & (ranks < batch - 1)
    log_sim = sim.log()
    pos_term = (log_sim / weight).masked_fill(~positive, 0).sum(1) / positive.sum(1)
    neg_term = (weight * log_sim).masked_fill(~negative, 0).sum(1) / negative.sum(1).clamp(min=1)
    return (neg_term - pos_term).mean()


def _check_pair(a: torch.Tensor, b: torch.Tensor, target: torch.Tensor) -> None:
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"expected two (B, D) tensors, got {tuple(a.shape)}, {tuple(b.shape)}")
    if target.shape != (a.shape[0],):
        raise ValueError(f"targets must be ({a.shape[0]},), got {tuple(target.shape)}")


def _check_temperature(temperature: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


def self_paced_keep(
    logits: torch.Tensor, negatives: torch.Tensor, keep_fraction: float
) -> torch.Tensor:
    """CoMCL's self-paced choice of negatives: for each anchor (row), keep the negatives
    whose loss term is largest, ``ceil(keep_fraction x |negatives|)`` of them.

    A negative k of anchor i enters the loss as ``exp(l_ik)``, so its share of the loss
    rises with the logit ``l_ik``; "loss above a threshold lambda" is ``l_ik >= lambda_i``
    with ``lambda_i`` the row's ``(1 - keep_fraction)`` quantile. The decision uses the
    logits before this step's update (detached), as self-paced learning fixes ``v``
    from the current parameters before updating them. Returns a boolean (B, B) mask."""
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must lie in (0, 1], not {keep_fraction}")
    scores = logits.detach().masked_fill(~negatives, float("-inf"))
    counts = negatives.sum(1)
    kept = torch.ceil(counts.float() * keep_fraction).long()
    order = scores.argsort(dim=1, descending=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    return negatives & (rank < kept[:, None])


def comcl_loss(
    z_clean: torch.Tensor,
    z_low: torch.Tensor,
    abnormal: torch.Tensor,
    temperature: float = 0.1,
    keep_fraction: float = 1.0,
) -> torch.Tensor:
    """CoMCL's image-level multi-level contrastive loss (our reading, ``docs/methods.md``).

    ``z_clean`` and ``z_low`` (B, D) embed the same B images at high and low quality;
    ``abnormal`` (B,) says which show lesions. Over the 2B views, anchor i's positive is
    its own other-quality twin p(i) (quality level: a low-quality factor is not a
    feature); its negatives N(i) are the views of the other class, at either quality
    (lesion level, across quality); views of its own class are neither (no false
    negatives). With ``l_ik = cos(z_i, z_k) / t`` and the self-paced keep mask v:

        loss_i = -l_ip + log( exp(l_ip) + sum_{k in N(i)} v_ik exp(l_ik) )

    averaged over the anchors that have a negative.
    """
    if z_clean.shape != z_low.shape or z_clean.dim() != 2 or abnormal.shape != z_clean.shape[:1]:
        raise ValueError("z_clean and z_low must be (B, D) and abnormal (B,)")
    _check_temperature(temperature)
    z = F.normalize(torch.cat([z_clean, z_low]), dim=1)
    label = torch.cat([abnormal, abnormal]).bool()
    n = z_clean.shape[0]
    logits = z @ z.T / temperature
    twin = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    negatives = label[:, None] != label[None, :]
    kept = self_paced_keep(logits, negatives, keep_fraction)
    has_negative = kept.any(1)
    if not has_negative.any():
        return z_clean.sum() * 0.0
    positive = logits.gather(1, twin[:, None])
    candidates = logits.masked_fill(~kept, float("-inf"))
    denominator = torch.logsumexp(torch.cat([positive, candidates], dim=1), dim=1)
    return (denominator - positive.squeeze(1))[has_negative].mean()
