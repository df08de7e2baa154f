"""torchrun integration: one process per device, gradients averaged by DDP.

Launched by ``torchrun --nproc_per_node N -m translate train ...``, each process
reads its rank from the environment torchrun sets. NCCL on CUDA, gloo on CPU.
Only rank 0 logs and writes checkpoints.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def is_main_process() -> bool:
    """Rank 0 of a torchrun job, or a plain run. Read from torchrun's environment, so it holds
    before the process group exists and after it is shut down (when commands report)."""
    return int(os.environ.get("RANK", "0")) == 0


def print_on_main(text: str) -> None:
    """``print`` once per job: under torchrun every process runs the command that prints."""
    if is_main_process():
        print(text)


def init_from_env(device_name: str) -> DistInfo:
    """Join the process group torchrun prepared; a plain run is a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(minutes=30))
    return info


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
