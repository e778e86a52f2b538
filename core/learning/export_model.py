"""A version as one graph that runs outside the app: the encoder with its severity score
(the distance from the stored normality anchor, or the number the method's head
computes), written as ONNX or TorchScript beside ``preprocessing.json``, which says what
the graph expects and how to read what it returns.

The graph's input is a float batch (N, 3, H, W) already preprocessed as the app does
(``data.pictures_to_tensor``: 8-bit pictures resized to the version's size, grey repeated
on three channels, then ``(x / 255 - mean) / std``); its outputs are ``severity`` (N,)
and ``embedding`` (N, D), the vectors the app draws its latent map from. The batch axis is
dynamic.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import MEAN, STD
from .encoders import SeverityNet
from .losses import severity_score
from .scoring import score_space

FORMATS = ("onnx", "torchscript")
FILE_NAMES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}
PREPROCESSING_FILE = "preprocessing.json"
INPUT_NAME, OUTPUT_NAMES = "images", ("severity", "embedding")
ONNX_OPSET = 18
TOLERANCE = 1e-4  # the largest difference in severity from PyTorch an export may show


class SeverityGraph(nn.Module):
    """A version's network and anchor, read as the app reads them
    (``scoring.severity_scores`` for the score, ``scoring.space_vectors`` of the method's
    map space for the embedding), in full precision.

    ``images``: (N, 3, H, W) float32, preprocessed -> ``(severity (N,), embedding (N, D))``.
    """

    def __init__(self, net: SeverityNet, anchor: torch.Tensor, space: str):
        super().__init__()
        self.net = net.eval()
        self.space = space
        self.anchor: torch.Tensor  # a buffer: saved with the graph, moved with it
        self.register_buffer("anchor", anchor.detach().float().clone())

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reading = score_space(self.space)
        vectors = reading.vectors(self.net, images).float()
        if reading.reduce is None:
            severity = severity_score(vectors, self.anchor)
        else:
            severity = reading.reduce(vectors)
        if reading.map_space == self.space:
            return severity, vectors
        return severity, score_space(reading.map_space).vectors(self.net, images).float()


@dataclass(frozen=True)
class ExportedModel:
    graph: Path  # model.onnx or model.torchscript.pt
    preprocessing: Path  # preprocessing.json


def preprocessing_facts(
    config: TrainConfig, anchor: torch.Tensor, space: str, version: dict, embedding_dim: int
) -> dict:
    """What ``preprocessing.json`` holds: enough to prepare images and read the outputs
    without this app."""
    anchored = score_space(space).reduce is None
    return {
        "version": int(version["version"]),
        "method": version["method"],
        "dataset": version.get("dataset"),  # None: trained on every dataset
        "image_size": config.image_size,
        "channels": 3,
        "channel_order": "RGB (grey pictures repeated on the three channels)",
        "resize": "bilinear with antialiasing to image_size x image_size, rounded to 8 bits",
        "scale": "pixel / 255",
        "mean": MEAN.flatten().tolist(),
        "std": STD.flatten().tolist(),
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, config.image_size, config.image_size]},
        "outputs": {
            "severity": ["batch"],
            "embedding": ["batch", embedding_dim],
        },
        "score_space": space,
        "score": (
            "cosine distance (1 - cos) of the score space's vector from the anchor"
            if anchored
            else "the number the method's head computes"
        ),
        "score_direction": "higher is more severe",
        "embedding_space": score_space(space).map_space,
        "anchor": anchor.detach().float().flatten().tolist() if anchored else None,
    }


def export_version(
    net: SeverityNet,
    anchor: torch.Tensor,
    space: str,
    config: TrainConfig,
    version: dict,
    out_dir: str | Path,
    fmt: str,
) -> ExportedModel:
    """Write a version's graph in ``fmt`` (``onnx`` or ``torchscript``) and its
    ``preprocessing.json`` into ``out_dir``; ``version`` is its row in the store."""
    if fmt not in FORMATS:
        raise ValueError(f"the format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graph = SeverityGraph(net.cpu(), anchor.cpu(), space).eval()
    example = torch.zeros(2, 3, config.image_size, config.image_size)
    with torch.no_grad():
        _, embedding = graph(example)
    target = out / FILE_NAMES[fmt]
    if fmt == "onnx":
        write_onnx(graph, example, target)
    else:
        write_torchscript(graph, example, target)
    difference = largest_difference(graph, target, config.image_size)
    if difference > TOLERANCE:
        target.unlink()
        raise RuntimeError(
            f"the exported {fmt} graph scores differently from PyTorch (by up to "
            f"{difference:.2g}); nothing was kept"
        )
    facts = preprocessing_facts(config, anchor, space, version, embedding.shape[1])
    facts["format"], facts["file"] = fmt, target.name
    preprocessing = out / PREPROCESSING_FILE
    preprocessing.write_text(json.dumps(facts, indent=2))
    return ExportedModel(target, preprocessing)


def exported_onnx_of(folder: str | Path, version: int) -> Path:
    """The ONNX file of an ``export_version`` folder, once its ``preprocessing.json``
    says it is ``version``'s."""
    facts_file = Path(folder) / PREPROCESSING_FILE
    if not facts_file.is_file():
        raise FileNotFoundError(f"{folder} holds no {PREPROCESSING_FILE}: is it an export?")
    facts = json.loads(facts_file.read_text())
    if facts.get("format") != "onnx" or facts.get("version") != version:
        raise ValueError(
            f"{folder} holds the {facts.get('format')} export of version "
            f"{facts.get('version')}, not the ONNX export of version {version}."
        )
    graph = Path(folder) / facts["file"]
    if not graph.is_file():
        raise FileNotFoundError(f"{graph} is missing from the export.")
    return graph


def run_exported(target: Path, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(severity, embedding)`` of a preprocessed batch by an exported graph, run as a
    user of the export would run it: onnxruntime on the CPU, or ``torch.jit.load``."""
    if target.suffix == ".onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        severity, embedding = session.run(list(OUTPUT_NAMES), {INPUT_NAME: images.numpy()})
        return severity, embedding
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        module = torch.jit.load(str(target), map_location="cpu")
    with torch.no_grad():
        severity, embedding = module(images)
    return severity.numpy(), embedding.numpy()


def largest_difference(graph: SeverityGraph, target: Path, image_size: int) -> float:
    """The largest difference in severity between the exported file and PyTorch, on a
    fixed batch of random images of an odd size (3) that the export never saw."""
    images = torch.randn(3, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = graph(images)[0].numpy()
    return float(np.abs(run_exported(target, images)[0] - expected).max())


def write_onnx(graph: SeverityGraph, example: torch.Tensor, target: Path) -> Path:
    """One self-contained ONNX file (weights inside), batch axis dynamic."""
    for package in ("onnx", "onnxscript", "onnxruntime"):
        if importlib.util.find_spec(package) is None:
            raise ValueError(
                f"exporting to ONNX needs the {package} package (pip install -r requirements.txt)"
            )
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as scratch:
        warnings.simplefilter("ignore")  # the exporter's notes are for PyTorch developers
        program = torch.onnx.export(
            graph,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: batch},),
            opset_version=ONNX_OPSET,
            external_data=False,
            artifacts_dir=scratch,
            verbose=False,
        )
        if program is None:
            raise RuntimeError("the ONNX exporter returned no program")
        program.save(str(target), external_data=False)
    return target


def write_torchscript(graph: SeverityGraph, example: torch.Tensor, target: Path) -> Path:
    """A traced TorchScript module (any batch size: a ResNet has no size-dependent
    branch), loadable with ``torch.jit.load`` without this app's code."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notices
        traced = torch.jit.trace(graph, example, check_trace=False)
        traced = torch.jit.freeze(traced.eval())
        torch.jit.save(traced, str(target))
    return target
