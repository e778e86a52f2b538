"""Optional MLflow tracking of training jobs: a run with the job's parameters, figures,
loss curve, model card and ONNX export where ``MLFLOW_TRACKING_URI`` is set; nothing, and
no mlflow import, where it is not."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from core.demo import import_cohort
from core.store import Store
from core.synthetic import CohortConfig
from core.worker.tracking import metric_name, run_metrics, run_parameters
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import TINY, add_judgments, train_params


@pytest.fixture
def small_study(tmp_path):
    """A SQLite study with a few judgments and one training job queued."""
    path = tmp_path / "app.db"
    with Store(path) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=32))
        add_judgments(store, 12)
        store.jobs.submit("train", train_params())
    return path


def train_only(path) -> dict:
    """Run the queued training job (embed and project stay queued: they are not what is
    tested here); returns the finished job."""
    run_worker_until_idle(path, kinds=("train",))
    with Store(path) as store:
        (job,) = [j for j in store.jobs.list() if j["kind"] == "train"]
        return job


def test_a_training_job_logs_its_run_to_mlflow(small_study, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "retina study")
    client = MlflowClient(uri)
    # artifacts under tmp_path too (MLflow's default would be ./mlruns)
    client.create_experiment("retina study", artifact_location=(tmp_path / "artifacts").as_uri())

    job = train_only(small_study)

    assert job["status"] == "done", job["error"]
    run_id = job["result"]["mlflow_run_id"]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "retina study"
    with Store(small_study) as store:
        model = store.models.get(job["result"]["model_id"])
        curve = store.jobs.losses(job["id"])
    params = run.data.params
    assert params["method"] == "conpro" and params["version"] == str(model["version"])
    assert params["image_size"] == str(TINY.image_size)
    assert params["job_id"] == str(job["id"]) and params["start"] == "scratch"
    assert run.data.tags["severity_studio.version"] == str(model["version"])
    numeric = {k: v for k, v in model["metrics"].items() if isinstance(v, int | float)}
    assert numeric, "the version has figures to log"
    for key, value in numeric.items():
        assert run.data.metrics[metric_name(key)] == pytest.approx(float(value))
    # the loss curve: every stored point, each phase one metric with its steps
    phases = {p["phase"] for p in curve}
    logged = []
    for phase in phases:
        history = client.get_metric_history(run_id, f"loss/{phase}")
        logged += [(phase, m.step, m.value) for m in history]
    assert sorted(logged) == sorted((p["phase"], p["step"], p["loss"]) for p in curve)
    assert max(len([p for p in curve if p["phase"] == ph]) for ph in phases) >= 2
    # the model card and the ONNX export, as files
    card = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="model_card.md", dst_path=str(tmp_path / "got")
    )
    with open(card, encoding="utf-8") as handle:
        assert handle.read().startswith(f"# Model card: version {model['version']}")
    exported = {a.path for a in client.list_artifacts(run_id, "onnx")}
    assert exported == {"onnx/model.onnx", "onnx/preprocessing.json"}
    facts_file = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="onnx/preprocessing.json", dst_path=str(tmp_path / "got")
    )
    with open(facts_file, encoding="utf-8") as handle:
        assert json.load(handle)["version"] == model["version"]
    onnx_size = [a.file_size for a in client.list_artifacts(run_id, "onnx") if a.path.endswith("x")]
    assert onnx_size[0] > 10_000  # the weights are inside


def test_a_tracking_failure_leaves_the_version_and_says_why(small_study, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "no-such-scheme://anywhere")

    job = train_only(small_study)

    assert job["status"] == "done", job["error"]
    assert job["result"]["mlflow"].startswith("not logged: ")
    assert "mlflow_run_id" not in job["result"]
    with Store(small_study) as store:
        assert store.models.get(job["result"]["model_id"])["status"] == "candidate"


def test_without_the_variable_nothing_is_logged_and_mlflow_is_not_imported(small_study):
    """In a fresh process, so that no other test's import of mlflow counts."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from tests.helpers import run_worker_until_idle
        from core.store import Store
        run_worker_until_idle({str(small_study)!r}, kinds=("train",))
        with Store({str(small_study)!r}) as store:
            (job,) = [j for j in store.jobs.list() if j["kind"] == "train"]
        print(json.dumps({{"status": job["status"], "result": job["result"],
                          "mlflow_imported": "mlflow" in sys.modules}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "done"
    assert not {"mlflow", "mlflow_run_id"} & set(outcome["result"])
    assert outcome["mlflow_imported"] is False


def test_figures_and_names_as_mlflow_takes_them():
    figures = {"tau@Clinic A (2024)": 0.5, "n": 3, "ok": True, "why": "held back", "x": None}
    assert run_metrics(figures) == {"tau/Clinic A _2024_": 0.5, "n": 3.0}
    model = {
        "config": {"method": "conpro", "train": {"lr": 0.001}},
        "version": 4,
        "kind": "warm",
        "trained_through_judgment_id": 120,
    }
    assert run_parameters(model, job_id=9) == {
        "method": "conpro",
        "train.lr": "0.001",
        "version": "4",
        "job_id": "9",
        "start": "warm",
        "trained_through_judgment_id": "120",
    }
