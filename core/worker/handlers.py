"""One function per job kind. Each reads its parameters, reports progress through the
``Reporter`` (which also tells it when the job was cancelled) and returns a result dict."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.learning.attribution_maps import attribute_version
from core.learning.checkpoint import load_checkpoint
from core.learning.data import image_set_from_rows
from core.learning.embed import trend_calls
from core.learning.from_store import embed_into_store, train_version
from core.store import Store

from .activation import judge
from .maps import project_maps
from .tracking import track_training
from .train_job import TrainJob, parent_for

PROJECTIONS = (("pca", 2), ("pca", 3), ("umap", 2), ("tsne", 2))


@dataclass(frozen=True)
class JobContext:
    """What the worker gives every handler besides the job: where and how to run it."""

    device: str  # the torch device this worker trains on
    models_dir: str  # where checkpoints are written
    db: str  # the database, as the worker opened it (for processes it starts)
    nproc: int = 1  # training processes per job
    attribution_steps: int | None = None  # Integrated Gradients' points; None: the default


class JobCancelled(Exception):
    """The user asked for this job to stop."""


class WorkerStopping(Exception):
    """The worker was asked to stop (Ctrl-C, TERM): the job goes back to the queue."""


class Reporter:
    """Throttled heartbeat and progress for one job; ``True`` means 'please cancel'.
    Raises ``WorkerStopping`` as soon as the worker itself is asked to stop."""

    def __init__(
        self,
        store: Store,
        job_id: int,
        every_seconds: float = 2.0,
        stopping: Callable[[], bool] = lambda: False,
    ):
        self.store, self.job_id, self.every = store, job_id, every_seconds
        self.stopping = stopping
        self._last, self._started = 0.0, time.monotonic()
        self._losses: list[tuple[str, int, float]] = []

    def __call__(self, fraction: float, phase: str, message: str = "", force: bool = False) -> bool:
        if self.stopping():
            raise WorkerStopping(f"the worker was stopped during {phase}")
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return False
        self._last = now
        elapsed = now - self._started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
        text = message + (f" · about {eta:.0f} s left" if eta is not None else "")
        return self.store.jobs.report(self.job_id, progress=fraction, phase=phase, message=text)

    def check(self, fraction: float, phase: str, message: str = "", force: bool = False) -> None:
        if self(fraction, phase, message, force):
            raise JobCancelled(f"cancelled during {phase}")

    def training_progress(self, record: dict) -> bool:
        """Progress, and the loss of every step (stored with each report: the curve)."""
        self._losses.append((record["phase"], int(record["step"]), float(record["loss"])))
        if record["step"] == record["steps"] or time.monotonic() - self._last >= self.every:
            self.store.jobs.add_losses(self.job_id, self._losses)
            self._losses = []
        message = (
            f"{record['phase']} step {record['step']}/{record['steps']}, loss {record['loss']:.4f}"
        )
        return self(0.9 * record["fraction"], f"training: {record['phase']}", message)


def handle_train(store: Store, job: dict, report: Reporter, context: JobContext) -> dict:
    queued = TrainJob.from_params(job["params"], store)
    config = queued.config.with_settings(device=context.device)
    parent, start = parent_for(store, queued)  # warm from it, or from scratch and why
    report(0.0, "loading images", start, force=True)
    if context.nproc > 1:
        ranked = TrainJob(config, queued.dataset_id, queued.start)
        model = _train_on_ranks(store, job["id"], ranked, parent, context, report)
    else:
        model, _ = train_version(
            store,
            config,
            context.models_dir,
            queued.dataset_id,
            report.training_progress,
            job_id=job["id"],
            parent=parent,
        )
    # the version is activated (if it is better) only once its map exists: see handle_project
    store.jobs.submit("embed", {"model_id": model["id"], "activate_if_better": True})
    tracked = track_training(store, job["id"], model["id"])  # MLflow, where the lab uses it
    return {"model_id": model["id"], "version": model["version"], "start": start, **tracked}


def _train_on_ranks(
    store: Store,
    job_id: int,
    job: TrainJob,
    parent: dict | None,
    context: JobContext,
    report: Reporter,
) -> dict:
    """The training job on ``nproc`` processes (one per GPU) through torch.distributed.run
    (``core.worker.ranks``), whose rank 0 reports this job's progress and heartbeat,
    registers the version and writes the checkpoint. A worker asked to stop
    stops the launcher (which stops its processes) and the job goes back to the queue."""
    from core.learning.distributed import launcher

    from .ranks import rank_command

    parent_id = parent["id"] if parent is not None else None
    argv = rank_command(context.db, job_id, context.models_dir, job, parent_id)
    process = subprocess.Popen([*launcher(context.nproc), *argv])
    while (status := _exit_status(process)) is None:
        if report.stopping():
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            raise WorkerStopping("the worker was stopped during training")
    if store.jobs.get(job_id)["cancel_requested"]:
        raise JobCancelled("cancelled during training")
    model = store.models.of_job(job_id)
    if status != 0 or model is None:
        raise RuntimeError(f"training on {context.nproc} processes failed (exit {status})")
    return model


def _exit_status(process: subprocess.Popen, wait: float = 1.0) -> int | None:
    try:
        return process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        return None


def handle_embed(store: Store, job: dict, report: Reporter, context: JobContext) -> dict:
    model = store.models.get(job["params"]["model_id"])
    net, anchor, space, config, _ = load_checkpoint(store.media_path(model["checkpoint_path"]))
    rows = store.images.query(dataset_id=model["dataset_id"])  # the dataset it serves
    report(0.05, "loading images", f"{len(rows)} images", force=True)
    images = image_set_from_rows(store, rows, config.image_size)
    report.check(0.3, "embedding", "vectors, and severity over flipped copies for its band")

    def progress(done: int, total: int) -> None:  # 0.3 to 0.85 of the job: the embedding
        report.check(0.3 + 0.55 * done / max(total, 1), "embedding", f"{done} of {total} images")

    embedding = embed_into_store(store, model, net, space, anchor, images, progress)
    report.check(0.85, "trend calls")
    splits = np.array([r["split"] for r in rows])
    trends = trend_calls(embedding.severity, images, splits)
    store.embeddings.save_trends(model["id"], trends.calls)
    store.models.add_metrics(model["id"], trends.figures)
    store.jobs.submit(
        "project",
        {
            "model_id": model["id"],
            "activate_if_better": bool(job["params"].get("activate_if_better")),
        },
    )
    return {"model_id": model["id"], "images": len(rows), "trend_pairs": len(trends.calls)}


def handle_project(store: Store, job: dict, report: Reporter, context: JobContext) -> dict:
    model_id = job["params"]["model_id"]
    chosen = [(str(m), int(d)) for m, d in job["params"].get("projections", PROJECTIONS)]

    def progress(number: int, method: str, dims: int) -> None:
        report.check(number / len(chosen), f"projecting: {method} {dims}-D", force=True)

    # each map laid over the active version's, so that the map stays put across versions
    alignment = project_maps(
        store, model_id, chosen, progress, bool(job["params"].get("align_maps", True))
    )
    verdict = None
    if job["params"].get("activate_if_better"):
        verdict = judge(store, store.models.get(model_id))  # against the active version
    # one transaction: whoever sees the map ready also sees the verdict and its outcome
    with store.transaction():
        if alignment:
            store.models.add_metrics(model_id, alignment)
        if verdict is not None:
            store.models.add_metrics(model_id, verdict.record)
        store.models.chain_ready(model_id)
        activated = verdict is not None and verdict.activate
        if activated:
            store.models.activate(model_id)
    # what drives each image's score: after the map, behind any training (Jobs.claim)
    store.jobs.submit("attribute", {"model_id": model_id}, trigger_key=f"attribute:{model_id}")
    return {
        "model_id": model_id,
        "projections": [f"{m}-{d}d" for m, d in chosen],
        "activated": activated,
    }


def handle_attribute(store: Store, job: dict, report: Reporter, context: JobContext) -> dict:
    """Attribution maps of a version, for every image of its dataset or for
    ``image_ids``; the pages read them, they never compute them."""
    model = store.models.get(job["params"]["model_id"])
    report(0.0, "attribution maps", "loading the version", force=True)

    def progress(done: int, total: int) -> None:
        report.check(done / max(total, 1), "attribution maps", f"{done} of {total} images")

    stored = attribute_version(
        store,
        model,
        job["params"].get("image_ids"),
        context.device,
        progress,
        steps=context.attribution_steps,
    )
    return {"model_id": model["id"], "maps": stored}


def handle_import(store: Store, job: dict, report: Reporter, context: JobContext) -> dict:
    from core.importers import import_root, import_source, inside_import_root

    params = job["params"]
    root = import_root(store.media_root)
    source = inside_import_root(root, params["src"])
    manifest = inside_import_root(root, params["manifest"]) if params.get("manifest") else None

    def progress(done: int, total: int) -> None:
        report.check(done / max(total, 1), "importing", f"{done} of {total} files")

    result = import_source(store, source, params.get("dataset"), manifest, progress)
    return {
        "counts": result.counts(),
        "rejected": [
            {"file": o.file, "reason": o.reason} for o in result.outcomes if o.status == "rejected"
        ][:200],
    }


HANDLERS = {
    "train": handle_train,
    "embed": handle_embed,
    "project": handle_project,
    "import": handle_import,
    "attribute": handle_attribute,
}
