"""How much memory a generator needs for a frame, and how much there is, before running it.

Why plan instead of catching out-of-memory: on Linux an over-committed process is killed by
the kernel (SIGKILL, no exception, no message), so a fallback that waits for an error never
runs on CPU. Instead the generator is run once on a small probe input while every tensor that
enters or leaves one of its layers is tracked (weak references report when each is freed); the
peak of that live set per pixel, times the frame's pixels, is the estimate. Convolutional
generators' activations grow linearly with the pixel count, so a small probe predicts a large
frame. The estimate misses the allocator's own overhead, hence the margin in ``fits``.
"""
from __future__ import annotations

import os
import weakref
from typing import Optional

import torch
from torch import nn

# Use at most this fraction of the memory available now: the estimate is not exact, and the
# process holds other buffers (decoded images, the output being assembled).
MEMORY_FRACTION = 0.5


class _LiveBytes:
    def __init__(self) -> None:
        self.live, self.peak, self.seen = 0, 0, set()

    def track(self, tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or id(tensor) in self.seen:
            return
        size = tensor.numel() * tensor.element_size()
        key = id(tensor)
        self.seen.add(key)
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(tensor, self._freed, key, size)

    def _freed(self, key: int, size: int) -> None:
        self.seen.discard(key)
        self.live -= size


@torch.inference_mode()
def bytes_per_pixel(net: nn.Module, in_channels: int, device: torch.device, multiple: int = 1,
                    probe: int = 64) -> Optional[float]:
    """Peak bytes of activations per input pixel of ``net`` in fp32 (measured on a probe input of
    a side that divides by the net's size ``multiple``); None when the probe itself cannot run
    (then only an out-of-memory error switches to tiles)."""
    side = max(probe, -(-probe // multiple) * multiple)
    counter = _LiveBytes()

    def hook(module, inputs, output):
        for t in inputs:
            counter.track(t)
        for t in (output if isinstance(output, (tuple, list)) else (output,)):
            counter.track(t)

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        x = torch.zeros(1, in_channels, side, side, device=device)
        counter.track(x)
        out = net(x)
        counter.track(out)
        del out, x
    except RuntimeError:
        return None
    finally:
        for h in handles:
            h.remove()
    return counter.peak / (side * side)


def available_bytes(device: torch.device) -> Optional[int]:
    """Memory this process can still use on ``device``; None when it cannot be told."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    # A container's own limit (cgroup v2) is what the kernel's OOM killer enforces.
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                found.append(int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(found))


def fits(per_pixel: float, pixels: int, device: torch.device) -> tuple:
    """(fits, needed bytes, available bytes) for a frame of ``pixels`` pixels."""
    needed = int(per_pixel * pixels)
    free = available_bytes(device)
    if free is None:
        return True, needed, None
    return needed <= free * MEMORY_FRACTION, needed, free
