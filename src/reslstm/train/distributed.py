"""torch.distributed set-up for ``torchrun`` (NCCL on GPUs, gloo on CPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from reslstm.runtime import die_with_parent


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_kind: str) -> DistInfo:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    die_with_parent()  # a killed torchrun agent takes its ranks with it (no orphan writers)
    dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return info


def all_true(flag: bool, info: DistInfo) -> bool:
    """True only if ``flag`` holds on every rank (keeps ranks in lock-step)."""
    if not info.enabled:
        return flag
    device = f"cuda:{info.local_rank}" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def gather_objects(obj: object, info: DistInfo) -> list:
    """``obj`` of every rank, in rank order (``[obj]`` without DDP); call on all ranks."""
    if not info.enabled:
        return [obj]
    gathered: list = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled:
        dist.destroy_process_group()
