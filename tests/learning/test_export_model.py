"""``python -m core export-model``: a version as one ONNX / TorchScript graph that scores
as the app does, checked with onnxruntime and ``torch.jit.load`` against PyTorch and
against the severity the worker stored for the same images."""

import itertools
import json

import numpy as np
import onnxruntime
import pytest
import torch

from core.cli import main
from core.learning.config import TrainConfig
from core.learning.data import image_set_from_rows
from core.learning.export_model import SeverityGraph
from core.learning.scoring import SPACES, score_space, severity_scores, space_vectors
from core.learning.train import build_net
from core.learning.versions import choose_version, load_version
from core.store import Store

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def study_images(scoring_study):
    """A dozen images of the study, preprocessed as the worker embeds them, with the
    severity and vectors it stored for them, and the version in PyTorch."""
    with Store(scoring_study.db) as store:
        row = choose_version(store, scoring_study.version)
        version = load_version(store, row)
        rows = store.images.query()[::5][:12]
        images = image_set_from_rows(store, rows, version.config.image_size).images
        stored = store.embeddings.severity_scores(row["id"])
        ids, vectors, _ = store.embeddings.vectors(row["id"])
    position = {image_id: k for k, image_id in enumerate(ids)}
    return {
        "images": images,
        "stored": np.array([stored[r["id"]][0] for r in rows]),
        "vectors": vectors[[position[r["id"]] for r in rows]],
        "version": version,
    }


def pytorch_scores(study_images):
    version = study_images["version"]
    graph = SeverityGraph(version.net, version.anchor, version.space)
    with torch.no_grad():
        severity, embedding = graph(study_images["images"])
    return severity.numpy(), embedding.numpy()


def onnx_outputs(folder, images: torch.Tensor):
    session = onnxruntime.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    return session.run(["severity", "embedding"], {"images": images.numpy()})


def assert_same_order(first: np.ndarray, second: np.ndarray, resolution: float) -> None:
    """Every pair of images that ``first`` tells apart by more than ``resolution`` is
    ordered the same way by ``second``; most pairs must be told apart, or this proves
    nothing."""
    pairs = [
        (a, b)
        for a, b in itertools.combinations(range(len(first)), 2)
        if abs(first[a] - first[b]) > resolution
    ]
    assert len(pairs) >= 0.8 * len(first) * (len(first) - 1) / 2
    for a, b in pairs:
        assert (first[a] > first[b]) == (second[a] > second[b]), (a, b)


def test_the_pytorch_graph_scores_as_the_worker_stored(study_images):
    severity, embedding = pytorch_scores(study_images)
    np.testing.assert_allclose(severity, study_images["stored"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(embedding, study_images["vectors"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("space", sorted(SPACES))
def test_the_graph_reads_every_score_space_as_the_app_does(space):
    """Anchored distances and the heads' own numbers (LEARNER, the supervised ceiling),
    with the latent map's vectors as the embedding."""
    config = TrainConfig(method="supervised", image_size=16, small_input=True, device="cpu")
    torch.manual_seed(0)
    net = build_net(config).eval()
    images = torch.randn(6, 3, 16, 16)
    anchored = score_space(space).reduce is None
    anchor = space_vectors(net, images[:2], space).mean(0) if anchored else torch.zeros(1)
    with torch.no_grad():
        severity, embedding = SeverityGraph(net, anchor, space)(images)
    expected = severity_scores(net, images, space, anchor)
    np.testing.assert_allclose(severity.numpy(), expected, atol=1e-6, rtol=0)
    map_vectors = space_vectors(net, images, score_space(space).map_space)
    np.testing.assert_allclose(embedding.numpy(), map_vectors.numpy(), atol=1e-6, rtol=0)


def test_onnx_agrees_with_pytorch_to_1e4_in_the_same_order(exported, study_images):
    expected, expected_embedding = pytorch_scores(study_images)
    severity, embedding = onnx_outputs(exported["onnx"], study_images["images"])
    assert severity.shape == (12,) and embedding.shape == expected_embedding.shape
    assert np.abs(severity - expected).max() <= TOLERANCE
    assert np.abs(embedding - expected_embedding).max() <= TOLERANCE
    assert_same_order(expected, severity, 2 * TOLERANCE)
    # and with what the app stored for those images
    assert np.abs(severity - study_images["stored"]).max() <= TOLERANCE
    assert_same_order(study_images["stored"], severity, 2 * TOLERANCE)


def test_the_onnx_batch_axis_is_dynamic(exported, study_images):
    images = study_images["images"]
    whole, _ = onnx_outputs(exported["onnx"], images)
    one, _ = onnx_outputs(exported["onnx"], images[3:4])
    assert one.shape == (1,)
    assert abs(one[0] - whole[3]) <= 1e-5


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_agrees_with_pytorch_and_the_stored_scores(exported, study_images):
    expected, _ = pytorch_scores(study_images)
    module = torch.jit.load(str(exported["torchscript"] / "model.torchscript.pt"))
    with torch.no_grad():
        severity, _ = module(study_images["images"])
        single, _ = module(study_images["images"][:1])
    assert np.abs(severity.numpy() - expected).max() <= TOLERANCE
    assert np.abs(severity.numpy() - study_images["stored"]).max() <= TOLERANCE
    assert_same_order(expected, severity.numpy(), 2 * TOLERANCE)
    assert single.shape == (1,)


def test_preprocessing_json_is_enough_to_score_without_the_app(exported, study_images):
    facts = json.loads((exported["onnx"] / "preprocessing.json").read_text())
    version = study_images["version"]
    assert facts["version"] == version.row["version"] and facts["method"] == "conpro"
    assert facts["image_size"] == version.config.image_size and facts["channels"] == 3
    assert facts["score_direction"] == "higher is more severe"
    assert facts["format"] == "onnx" and facts["file"] == "model.onnx"
    # the documented normalisation turns the images back into 8-bit pixels
    mean = np.array(facts["mean"]).reshape(1, 3, 1, 1)
    std = np.array(facts["std"]).reshape(1, 3, 1, 1)
    pixels = (study_images["images"].numpy() * std + mean) * 255
    assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3
    np.testing.assert_allclose(pixels, pixels.round(), atol=1e-3)
    # the score is the cosine distance of the embedding from the documented anchor
    severity, embedding = onnx_outputs(exported["onnx"], study_images["images"])
    anchor = np.array(facts["anchor"])
    cosine = embedding @ anchor / (np.linalg.norm(embedding, axis=1) * np.linalg.norm(anchor))
    np.testing.assert_allclose(severity, 1 - cosine, atol=TOLERANCE)


@pytest.mark.parametrize(
    "selection, says",
    [
        (["--version", "99"], "There is no version 99"),
        (["--dataset", "nowhere"], "There is no dataset 'nowhere'"),
        (["--dataset", "clinic", "--active"], "No version is active for 'clinic'"),
        ([], "Say which version to use"),
    ],
)
def test_an_unusable_choice_is_one_line_without_traceback(
    scoring_study, tmp_path, capsys, selection, says
):
    argv = ["export-model", *selection, "--format", "onnx", "--out", str(tmp_path / "out")]
    assert main([*argv, "--db", str(scoring_study.db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "out").exists()
