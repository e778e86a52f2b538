"""One code path for CPU and CUDA: device choice, autocast, memory format, seeding."""

from __future__ import annotations

import contextlib
import random
from typing import TypeVar

import numpy as np
import torch

Model = TypeVar("Model", bound=torch.nn.Module)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA GPU is available here")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; full precision on CPU (bf16 on these CPUs is slower)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_model(model: Model, device: torch.device) -> Model:
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type != "cuda":
        return images
    if not images.is_cuda:
        images = images.to(device, non_blocking=images.is_pinned())
    return images.contiguous(memory_format=torch.channels_last)


def place_dataset(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Where the training images live during training. On a GPU, a data set that fits
    comfortably (under a quarter of free memory) is moved there once, so batches are
    gathered on the device and the input pipeline cannot starve it; a larger one stays
    in pinned host memory and is copied batch by batch without blocking."""
    if device.type != "cuda":
        return images
    free, _ = torch.cuda.mem_get_info(device)
    if images.element_size() * images.nelement() < free / 4:
        return images.to(device)
    return images.pin_memory()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
