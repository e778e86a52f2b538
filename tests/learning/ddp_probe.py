"""Run by tests/learning/test_distributed.py under ``torch.distributed.run`` (gloo, CPU):
each rank takes its half of one fixed batch, gathers the embeddings of every rank and
computes the contrastive losses inside DDP; rank 0 saves the loss and the averaged
gradients for the test to compare with one process on the whole batch."""

import sys

import torch

from core.learning import distributed
from core.learning.losses import nt_xent_loss, supcon_loss


def batch():
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(8, 12, generator=generator)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return x, labels


def network():
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8))


def step(net, part):
    x, labels = part
    z = net(x)
    z_a, z_b = distributed.gather(z), distributed.gather(z.flip(1))  # two "views"
    everyone = distributed.gather_plain(labels)
    return supcon_loss(torch.cat([z_a, z_b]), everyone.repeat(2), 0.2) + nt_xent_loss(z_a, z_b)


def main(out: str) -> None:
    here, device = distributed.start(torch.device("cpu"))
    x, labels = batch()
    half = len(x) // here.world
    mine = slice(here.rank * half, (here.rank + 1) * half)
    net = network()
    model = distributed.wrap(net, device)
    loss = model(step, (x[mine], labels[mine]))
    loss.backward()
    if here.is_writer:
        grads = [p.grad.clone() for p in net.parameters()]
        torch.save({"loss": loss.detach(), "grads": grads, "world": here.world}, out)
    distributed.stop()


if __name__ == "__main__":
    main(sys.argv[1])
