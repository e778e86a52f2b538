"""Scoring images that are not in the study with a trained version: files read and
de-identified as the importers read them (``core.importers.reading``), prepared as the
app prepares the images it embeds (``data.pictures_to_tensor``), and scored by PyTorch
with the app's own ``scoring.severity_scores``, or by onnxruntime on the version's
exported graph (``export_model``). Nothing is written to the store."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from core.importers.reading import ReadImage

from .data import pictures_to_tensor
from .device import prepare_model, resolve_device
from .export_model import INPUT_NAME, export_version, exported_onnx_of
from .scoring import severity_scores
from .versions import LoadedVersion

ENGINES = ("torch", "onnx")
BATCH = 64  # images decoded, prepared and scored together: bounds the memory


@dataclass
class ScoredImage:
    source: str  # as ``ReadImage.source``: relative, de-identified
    patient: str  # a DICOM file's pseudonym, else empty
    severity: float | None  # None when the file could not be read
    problem: str = ""  # why not, in plain words


class Engine(Protocol):
    def scores(self, images: torch.Tensor) -> np.ndarray:
        """Severity of a preprocessed batch (N, 3, H, W)."""
        ...


class TorchEngine:
    """The app's own scoring code on the version's network (bf16 autocast on a GPU, as
    when the app embeds)."""

    def __init__(self, version: LoadedVersion, device: str = "auto"):
        self.version = version
        self.net = prepare_model(version.net, resolve_device(device))

    def scores(self, images: torch.Tensor) -> np.ndarray:
        return severity_scores(self.net, images, self.version.space, self.version.anchor)


class OnnxEngine:
    """onnxruntime on the CPU, on the version's graph exported once to a scratch folder
    (or on ``model_file``, an export of the same version)."""

    def __init__(self, version: LoadedVersion, model_file: str | Path | None = None):
        try:
            import onnxruntime
        except ImportError as exc:
            raise ValueError(
                "the onnx engine needs onnxruntime (pip install -r requirements.txt)"
            ) from exc
        with tempfile.TemporaryDirectory() as scratch:
            if model_file is None:
                model_file = export_version(
                    version.net,
                    version.anchor,
                    version.space,
                    version.config,
                    version.row,
                    scratch,
                    "onnx",
                ).graph
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only
            self.session = onnxruntime.InferenceSession(
                str(model_file), options, providers=["CPUExecutionProvider"]
            )

    def scores(self, images: torch.Tensor) -> np.ndarray:
        feed = {INPUT_NAME: images.numpy().astype(np.float32, copy=False)}
        return self.session.run(["severity"], feed)[0]


def make_engine(
    version: LoadedVersion,
    engine: str = "torch",
    device: str = "auto",
    exported: str | Path | None = None,
) -> Engine:
    """``exported``: for the onnx engine, a folder that ``export-model`` wrote for this
    version, used instead of exporting the version again."""
    if engine == "torch":
        if exported is not None:
            raise ValueError("an exported model is only used by the onnx engine")
        return TorchEngine(version, device)
    if engine == "onnx":
        if device == "cuda":
            raise ValueError("the onnx engine runs on the CPU here; use --engine torch on a GPU")
        model_file = exported_onnx_of(exported, version.row["version"]) if exported else None
        return OnnxEngine(version, model_file)
    raise ValueError(f"the engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def score_images(
    images: Iterable[ReadImage], engine: Engine, image_size: int, batch: int = BATCH
) -> Iterator[ScoredImage]:
    """One ``ScoredImage`` per image read, in the order read, ``batch`` images at a time."""
    pending: list[ReadImage] = []
    readable = 0
    for image in images:
        pending.append(image)
        readable += image.pixels is not None
        if readable == batch:
            yield from _score_batch(pending, engine, image_size)
            pending, readable = [], 0
    yield from _score_batch(pending, engine, image_size)


def _score_batch(images: list[ReadImage], engine: Engine, image_size: int) -> Iterator[ScoredImage]:
    pictures = [image.pixels for image in images if image.pixels is not None]
    scores = iter(engine.scores(pictures_to_tensor(pictures, image_size)) if pictures else [])
    for image in images:
        if image.pixels is None:
            yield ScoredImage(image.source, image.patient, None, image.problem)
        else:
            yield ScoredImage(image.source, image.patient, float(next(scores)))
