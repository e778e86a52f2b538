"""Encoder ``f`` (a torchvision ResNet), contrastive head ``g`` and preference head ``h``.

No weights are ever downloaded: torchvision models are built with ``weights=None``; a
local state-dict file may be given and is loaded with ``weights_only=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models

BACKBONES = {"resnet18": (models.resnet18, 512), "resnet50": (models.resnet50, 2048)}
HEAD_DIM = 256


@dataclass(frozen=True)
class EncoderConfig:
    backbone: str = "resnet18"  # resnet18 (CPU default) or resnet50 (the papers, GPU)
    small_input: bool = True  # 3x3 stride-1 stem without max-pool, for 28-64 px images
    weights_path: str | None = None  # optional local torchvision state dict (no downloads)
    classes: int = 0  # grade classifier head (the supervised baseline only), 0 = none


class SeverityNet(nn.Module):
    """``f`` then ``g`` (Linear to 256-d) then ``h`` (ReLU, Linear, keeps 256-d)."""

    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        if config.backbone not in BACKBONES:
            raise ValueError(
                f"unknown backbone {config.backbone!r}; expected one of {', '.join(BACKBONES)}"
            )
        build, feature_dim = BACKBONES[config.backbone]
        encoder = build(weights=None)
        if config.weights_path:
            state = torch.load(Path(config.weights_path), map_location="cpu", weights_only=True)
            encoder.load_state_dict(state)
        if config.small_input:
            encoder.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            encoder.maxpool = nn.Identity()
        encoder.fc = nn.Identity()
        self.config = config
        self.feature_dim = feature_dim
        self.f = encoder
        self.g = nn.Linear(feature_dim, HEAD_DIM)
        self.h = nn.Sequential(nn.ReLU(), nn.Linear(HEAD_DIM, HEAD_DIM))
        self.regressor = nn.Linear(HEAD_DIM, 1)  # LEARNER's health-score head
        if config.classes:
            self.classifier = nn.Linear(feature_dim, config.classes)  # supervised baseline

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder features, what the probe and the latent map use."""
        return self.f(x)

    def contrastive(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(self.f(x))

    def preference(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(self.g(self.f(x)))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Grade logits (the supervised baseline's head)."""
        return self.classifier(self.f(x))


@torch.no_grad()
def normality_anchor(net: SeverityNet, normal_images: torch.Tensor) -> torch.Tensor:
    """``pi_0``: the mean of the normal images' vectors in the preference head's space.

    Computed in eval mode and without gradients, so the anchor batch neither updates
    BatchNorm running statistics nor receives gradients (two defects of the public
    ConPro code). ``normal_images``: (n, C, H, W), n = 1, 10 or 20 in the paper.
    """
    if normal_images.dim() != 4 or len(normal_images) == 0:
        raise ValueError("normal_images must be a non-empty (n, C, H, W) batch")
    modes = [(module, module.training) for module in net.modules()]
    net.eval()
    try:
        return net.preference(normal_images).float().mean(dim=0)
    finally:
        for module, training in modes:  # each its own: frozen BatchNorm stays frozen
            module.training = training
