"""Training throughput of the real loop beside the pure forward-backward throughput of
the same model on synthetic tensors, in one run. The ratio (real / synthetic) shows
whether the input pipeline starves the device; aim at 0.8 or better.

GPU configuration (the papers'): ResNet-50 at 224 px, bf16 autocast, channels_last:
    .venv/bin/python -m benchmarks.throughput --backbone resnet50 --image-size 224
CPU smoke run:
    .venv/bin/python -m benchmarks.throughput --backbone resnet18 --image-size 32 --steps 10
Data-parallel scaling on every GPU of the machine (gloo processes on a CPU), beside one
process, in one run: the training loop's images per second on N processes over N times
one process's (the scaling efficiency):
    .venv/bin/python -m benchmarks.throughput --nproc N [...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from core.learning.config import TrainConfig, uses_small_input
from core.learning.data import load_npz_splits
from core.learning.device import autocast, prepare_model, resolve_device
from core.learning.losses import margin_contrastive_loss
from core.learning.train import build_net, train
from core.paths import RETINAMNIST_NPZ


def synthetic_images_per_second(config: TrainConfig, steps: int, warmup: int) -> float:
    """The Con step's arithmetic (2 x batch images through f and g, margin loss,
    backward, SGD) on tensors already on the device: no data loading at all."""
    device = resolve_device(config.device)
    net = prepare_model(build_net(config), device)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    batch = 2 * config.batch_size
    x = torch.randn(batch, 3, config.image_size, config.image_size, device=device)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    same = torch.randint(0, 2, (config.batch_size,), device=device)
    started = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            started = time.perf_counter()
        with autocast(device):
            c_i, c_j = net.contrastive(x).float().chunk(2)
            loss = margin_contrastive_loss(c_i, c_j, same)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()  # the real loop reads the loss every step too
    _sync(device)
    return steps * batch / (time.perf_counter() - started)


def real_images_per_second(config: TrainConfig, steps: int, warmup: int) -> float:
    """The real training loop (supcon2 = the Con step) on RetinaMNIST resized to the
    configured size: sampling pairs, gathering images, moving them, training."""
    train_set = load_npz_splits(RETINAMNIST_NPZ, config.image_size)["train"]
    run = TrainConfig(
        **{**config.to_dict(), "method": "supcon2", "pairs_per_phase": warmup * config.batch_size}
    )
    train(run, train_set)  # warm-up: cuDNN autotuning, allocator, caches
    run = TrainConfig(
        **{**config.to_dict(), "method": "supcon2", "pairs_per_phase": steps * config.batch_size}
    )
    return train(run, train_set).timings["con_images_per_second"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per step")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--nproc", type=int, default=0, help="also on N processes (DDP)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a rank of the --nproc run
    parser.add_argument("--out")
    args = parser.parse_args()
    config = TrainConfig(
        backbone=args.backbone,
        image_size=args.image_size,
        small_input=uses_small_input(args.image_size),
        batch_size=args.batch_size,
        device=args.device,
    )
    device = resolve_device(args.device)
    if args.child:
        return _child(config, args)
    if args.nproc > 1:
        return _scaling(config, args, device)
    synthetic = synthetic_images_per_second(config, args.steps, args.warmup)
    real = real_images_per_second(config, args.steps, args.warmup)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "backbone": args.backbone,
        "image_size": args.image_size,
        "images_per_step": 2 * args.batch_size,
        "steps": args.steps,
        "synthetic_images_per_second": round(synthetic, 1),
        "training_images_per_second": round(real, 1),
        "ratio": round(real / synthetic, 3),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out or f"docs/bench/throughput_{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def _child(config: TrainConfig, args: argparse.Namespace) -> None:
    """One rank: the real loop under DDP; rank 0 writes the whole run's images per
    second (every rank trains on its own batch of the same size, in step)."""
    from core.learning import distributed

    per_rank = real_images_per_second(config, args.steps, args.warmup)
    here = distributed.ranks()
    if here.is_writer:
        Path(args.child).write_text(json.dumps({"images_per_second": per_rank * here.world}))
    distributed.stop()


def _scaling(config: TrainConfig, args: argparse.Namespace, device: torch.device) -> None:
    import os
    import subprocess
    import tempfile

    from core.learning.distributed import launcher

    single = real_images_per_second(config, args.steps, args.warmup)
    env = dict(os.environ)
    if device.type == "cpu":  # the cores shared out: each rank gets its part
        env["OMP_NUM_THREADS"] = str(max(1, torch.get_num_threads() // args.nproc))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rank0.json"
        command = [*launcher(args.nproc), "-m", "benchmarks.throughput"]
        command += ["--backbone", args.backbone, "--image-size", str(args.image_size)]
        command += ["--batch-size", str(args.batch_size), "--steps", str(args.steps)]
        command += ["--warmup", str(args.warmup), "--device", args.device, "--child", str(out)]
        subprocess.run(command, check=True, env=env)
        many = json.loads(out.read_text())["images_per_second"]
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (gloo)",
        "processes": args.nproc,
        "backbone": args.backbone,
        "image_size": args.image_size,
        "images_per_step_per_process": 2 * args.batch_size,
        "one_process_images_per_second": round(single, 1),
        "n_processes_images_per_second": round(many, 1),
        "scaling_efficiency": round(many / (args.nproc * single), 3),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out or f"docs/bench/throughput_ddp_{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
