"""Data-parallel training with torch.distributed.run: 2 gloo processes on CPU."""

import subprocess

import torch

from core.cli import main
from core.demo import import_cohort
from core.learning.distributed import launcher
from core.paths import PROJECT_ROOT
from core.store import Store
from core.synthetic import CohortConfig
from tests.learning import ddp_probe


def test_the_gathered_loss_and_gradients_equal_one_process_on_the_whole_batch(tmp_path):
    out = tmp_path / "rank0.pt"
    command = [*launcher(2), "-m", "tests.learning.ddp_probe", str(out)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    two = torch.load(out)
    assert two["world"] == 2

    net = ddp_probe.network()
    loss = ddp_probe.step(net, ddp_probe.batch())  # one process, no group: plain tensors
    loss.backward()

    assert torch.allclose(two["loss"], loss.detach(), atol=1e-6)
    for got, expected in zip(two["grads"], (p.grad for p in net.parameters()), strict=True):
        assert torch.allclose(got, expected, atol=1e-6)
    # without the gather each rank would see 4 of the 8 embeddings: a different loss
    local = ddp_probe.step(ddp_probe.network(), tuple(t[:4] for t in ddp_probe.batch()))
    assert not torch.allclose(local, loss, atol=1e-3)


def test_train_with_two_processes_writes_one_version_and_one_checkpoint(tmp_path, capsys):
    db = tmp_path / "app.db"
    with Store(db) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=16))
    argv = [
        "train",
        "--db",
        str(db),
        "--method",
        "simclr",
        "--nproc",
        "2",
        "--device",
        "cpu",
        "--image-size",
        "16",
        "--batch-size",
        "4",
        "--pairs",
        "8",
    ]

    assert main(argv) == 0

    with Store(db) as store:
        versions = store.models.list()
        assert [m["status"] for m in versions] == ["candidate"]
        assert store.media_path(versions[0]["checkpoint_path"]).is_file()
    assert [p.name for p in (tmp_path / "media" / "models").iterdir()] == ["model-v1.pt"]
