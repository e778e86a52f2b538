"""Optional MLflow tracking, for labs that keep their runs there.

When ``MLFLOW_TRACKING_URI`` is set, each training job that registered a version logs one
MLflow run: the job's settings as parameters, the version's figures as metrics, its loss
curve (``loss/PHASE``, one step per training step), its model card (``model_card.md``)
and its ONNX export (``onnx/model.onnx`` with ``onnx/preprocessing.json``). The run is
in the experiment ``$MLFLOW_EXPERIMENT_NAME``, else "Severity Studio".

Without the variable nothing happens and mlflow is never imported: it is not in
requirements.txt (``pip install mlflow-skinny``, the client without the server). A
failure to log does not fail the job: the version stands, and the job's result and the
worker's log say why nothing was logged."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from core.store import Store

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
EXPERIMENT_VARIABLE = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "Severity Studio"
MODEL_CARD_ARTIFACT = "model_card.md"
ONNX_ARTIFACT_DIR = "onnx"
BATCH_LIMIT = 1000  # MLflow's log_batch takes at most 1,000 metrics (and 100 params)
PARAM_BATCH_LIMIT = 100
PARAM_VALUE_LIMIT = 6000  # longer values are cut (MLflow refuses them)

logger = logging.getLogger(__name__)


def tracking_enabled() -> bool:
    return bool(os.environ.get(TRACKING_URI_VARIABLE))


def track_training(store: Store, job_id: int, model_id: int) -> dict[str, str]:
    """What a training job's result says about MLflow: nothing when tracking is off,
    else the run's id, or why the run was not logged."""
    if not tracking_enabled():
        return {}
    try:
        run_id = log_training_run(store, job_id, model_id)
    except Exception as error:  # tracking is optional: the version stands without it
        logger.warning("training job %s was not logged to MLflow: %s", job_id, error)
        return {"mlflow": f"not logged: {type(error).__name__}: {error}"}
    return {"mlflow_run_id": run_id}


def log_training_run(store: Store, job_id: int, model_id: int) -> str:
    """Log version ``model_id`` (trained by job ``job_id``) as one MLflow run at
    ``$MLFLOW_TRACKING_URI``; returns the run's id. Raises what mlflow raises."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    model = store.models.get(model_id)
    client = MlflowClient()  # reads MLFLOW_TRACKING_URI itself
    experiment_id = _experiment_id(client)
    tags = {
        "severity_studio.version": str(model["version"]),
        "severity_studio.job_id": str(job_id),
        "severity_studio.method": model["method"],
        "severity_studio.dataset": model.get("dataset") or "every dataset",
        "severity_studio.kind": model["kind"],
    }
    run = client.create_run(experiment_id, run_name=f"v{model['version']} {model['method']}")
    run_id = run.info.run_id
    try:
        _beat(store, job_id, "parameters, figures and loss curve")
        now = int(time.time() * 1000)
        params = [Param(k, v) for k, v in run_parameters(model, job_id).items()]
        for start in range(0, len(params), PARAM_BATCH_LIMIT):
            client.log_batch(run_id, params=params[start : start + PARAM_BATCH_LIMIT])
        figures = [Metric(k, v, now, 0) for k, v in run_metrics(model["metrics"]).items()]
        curve = [Metric(k, v, now, step) for k, step, v in loss_points(store, job_id)]
        everything = figures + curve
        for start in range(0, len(everything), BATCH_LIMIT):
            client.log_batch(run_id, metrics=everything[start : start + BATCH_LIMIT])
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        _log_card_and_export(client, run_id, store, job_id, model)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def run_parameters(model: dict, job_id: int) -> dict[str, str]:
    """The version's recipe, flattened (``section.field``), with its lineage."""
    params = {key: _param_value(value) for key, value in _flatten(model["config"])}
    params.update(
        {
            "version": str(model["version"]),
            "job_id": str(job_id),
            "start": model["kind"],
            "trained_through_judgment_id": str(model["trained_through_judgment_id"]),
        }
    )
    return params


def run_metrics(figures: dict[str, Any]) -> dict[str, float]:
    """The version's numeric figures; text figures (reasons, labels) are left to the card."""
    return {
        metric_name(key): float(value)
        for key, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def loss_points(store: Store, job_id: int) -> Iterator[tuple[str, int, float]]:
    """``(metric name, step, loss)`` of the job's loss curve, one metric per phase."""
    for point in store.jobs.losses(job_id):
        yield metric_name(f"loss/{point['phase']}"), int(point["step"]), float(point["loss"])


def metric_name(key: str) -> str:
    """``key`` as MLflow accepts it (letters, digits, ``_ - . / :`` and spaces): per-dataset
    figures (``tau_abnormal@Clinic A``) become ``tau_abnormal/Clinic A``."""
    return re.sub(r"[^\w\-. /:]", "_", key.replace("@", "/"))


def _experiment_id(client: Any) -> str:
    name = os.environ.get(EXPERIMENT_VARIABLE) or DEFAULT_EXPERIMENT
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(client.create_experiment(name))


def _log_card_and_export(client: Any, run_id: str, store: Store, job_id: int, model: dict) -> None:
    from core.exports import model_card
    from core.learning.checkpoint import load_checkpoint
    from core.learning.export_model import export_version

    _beat(store, job_id, "model card")
    client.log_text(run_id, model_card(store, model["version"]), MODEL_CARD_ARTIFACT)
    _beat(store, job_id, "ONNX export")
    net, anchor, space, config, _ = load_checkpoint(store.media_path(model["checkpoint_path"]))
    with tempfile.TemporaryDirectory() as folder:
        export_version(net, anchor, space, config, model, folder, "onnx")
        _beat(store, job_id, "ONNX export upload")
        client.log_artifacts(run_id, folder, ONNX_ARTIFACT_DIR)


def _beat(store: Store, job_id: int, what: str) -> None:
    """The job's heartbeat between steps, so that no worker takes it for dead (and trains
    the version again). Straight to the store, not the job's ``Reporter``: a worker asked
    to stop now must not re-queue a job whose version is registered."""
    store.jobs.report(job_id, progress=0.95, phase="logging to MLflow", message=what)


def _flatten(values: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield metric_name(f"{prefix}{key}"), value


def _param_value(value: Any) -> str:
    return str(value)[:PARAM_VALUE_LIMIT]
