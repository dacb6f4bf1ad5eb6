"""Training under ``torchrun``: one process per rank, DistributedDataParallel, gloo on CPU and
NCCL on GPU.

``torchrun --nproc-per-node N $(command -v g2rec) train RUN ...`` starts N processes with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous in their environment; :func:`setup`
joins them into one process group (nothing happens in a plain single process). Then every rank
takes its share of each global batch (the same batches a single process takes), DDP averages
the gradients, each rank scores its share of the validation users and the ranks are gathered,
so every rank sees the same metrics and makes the same early-stopping decision; only rank 0
writes checkpoints, logs and the run folder's records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (``rank`` of ``world``)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files."""
        return self.rank == 0

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch (all of it when it has fewer rows than ranks)."""
        return batch if self.world == 1 or len(batch) < self.world else batch[self.rank::self.world]

    def sum(self, values: list[float]) -> list[float]:
        """``values`` summed over the ranks (float64)."""
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, part: np.ndarray) -> list[np.ndarray]:
        """Every rank's ``part``, in rank order (on every rank)."""
        if self.world == 1:
            return [part]
        parts: list = [None] * self.world
        dist.all_gather_object(parts, part)
        return parts

    def wait(self) -> None:
        """Until every rank gets here."""
        if self.world > 1:
            dist.barrier()


def setup(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join the process group ``torchrun`` set up (once; a no-op in a single process) and
    return this process's ranks and device (``cuda:LOCAL_RANK`` for a CUDA training)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size()), device


def current() -> Ranks:
    """The ranks of the process group this process has joined (one rank when none)."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()
