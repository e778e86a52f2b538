"""Data-parallel training on several processes (one per GPU, or CPU processes with gloo),
launched by PyTorch's own ``torch.distributed.run``.

How the pieces fit:

- ``python -m core train ... --nproc N`` starts ``torch.distributed.run`` with N copies
  of the same command; each reads its rank from the environment the launcher sets.
- Every rank builds the network from the same seed, and DistributedDataParallel
  (``DDP``) broadcasts rank 0's weights at start and averages the gradients after each
  backward. A step calls the network several times (two views, the normal anchor, a
  head), so the whole step runs inside one DDP forward (``StepModule``): DDP needs one
  forward per backward to know which parameters took part.
- Each rank draws its own pairs and views (``rank_seed``).
- Contrastive negatives come from every rank: ``gather`` concatenates the ranks'
  embeddings with their gradients (``torch.distributed.nn.functional.all_gather``), so
  each rank computes the loss of the whole global batch, equal to the loss one process
  would compute on it. The backward of that all-gather *sums* the gradients that every
  rank's copy of the loss sends to a rank's embeddings (world-size times the gradient of
  the one global loss); DDP then *averages* parameter gradients over the ranks, dividing
  by the world size again: together, exactly the single-process gradient.
- Only rank 0 writes the checkpoint and the store rows (``is_writer``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def ranks() -> Ranks:
    """This process's place, from ``torch.distributed.run``'s environment (1 process
    without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    return Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def start(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join the process group when launched by ``torch.distributed.run`` (NCCL on CUDA,
    gloo on CPU); returns the ranks and this rank's device."""
    here = ranks()
    if not here.active:
        return here, device
    if device.type == "cuda":
        torch.cuda.set_device(here.local_rank)
        device = torch.device("cuda", here.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return here, device


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_seed(seed: int, here: Ranks) -> int:
    """Each rank draws different pairs and views; rank 0 draws what one process would."""
    return seed + 1_000_003 * here.rank


def _grouped() -> bool:
    """Whether this process is one of several in a process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather(x: torch.Tensor) -> torch.Tensor:
    """Every rank's ``x`` concatenated along the batch, in rank order, with gradients
    flowing back to each rank's own part; ``x`` itself with one process."""
    if not _grouped():
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()))


def gather_plain(x: torch.Tensor) -> torch.Tensor:
    """``gather`` for tensors without gradients (labels, targets)."""
    if not _grouped():
        return x
    sent = x.to(torch.uint8) if x.dtype == torch.bool else x  # gloo has no bool
    parts = [torch.empty_like(sent) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, sent.contiguous())
    return torch.cat(parts).to(x.dtype)


def agree(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (a cancel must stop all of them together)."""
    return bool(share(int(flag)))


def share(value: int) -> int:
    """Rank 0's ``value`` on every rank (what it read from the store, say)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    sent = torch.tensor([value], dtype=torch.long)
    if dist.get_backend() == "nccl":
        sent = sent.cuda()
    dist.broadcast(sent, 0)
    return int(sent.item())


class StepModule(nn.Module):
    """A whole training step as one forward: ``StepModule(net)(step, ctx)`` is
    ``step(net, ctx)``, so that DDP sees one forward per backward."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, step, ctx):
        return step(self.net, ctx)


def wrap(net: nn.Module, device: torch.device) -> nn.Module:
    """The step module in DDP (parameters unused by a phase's heads are allowed)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(StepModule(net), device_ids=ids, find_unused_parameters=True)


def launcher(nproc: int) -> list[str]:
    """``python -m torch.distributed.run`` for ``nproc`` processes on this machine, its
    ranks meeting on 127.0.0.1 at a free port (a fixed address: no name lookup, no
    rendezvous server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--node-rank=0",
        "--master-addr=127.0.0.1",
        f"--master-port={port}",
        f"--nproc-per-node={nproc}",
    ]


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m core <argv>`` on ``nproc`` processes (one machine); returns the
    launcher's exit status."""
    return subprocess.run([*launcher(nproc), "-m", "core", *argv], check=False).returncode
