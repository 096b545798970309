"""Output allocation. CPU buffers are recycled: glibc hands large freed blocks back to the OS, and
faulting fresh pages in again for every batch (63 MB at batch 256 with masks) costs more than
rendering it. A recycled block returns to the pool only when the NumPy array that owns it dies,
that is after the last tensor or view of it is gone, so user-held outputs are never reused.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import torch

MAX_IDLE_BYTES = 1 << 30  # idle CPU blocks kept for reuse, in bytes (a batch of 4096 classic
# sequences with masks is 1.0e9 bytes of outputs; each DataLoader worker process has its own pool)

_idle: dict[int, list[bytearray]] = {}
_idle_bytes = 0
_lock = threading.Lock()


def empty_uint8(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """An uninitialised, contiguous uint8 tensor of ``shape`` on ``device``."""
    if device.type != "cpu":
        return torch.empty(shape, dtype=torch.uint8, device=device)
    global _idle_bytes
    size = math.prod(shape)
    with _lock:
        blocks = _idle.get(size)
        block = blocks.pop() if blocks else None
        if block is not None:
            _idle_bytes -= size
    if block is None:
        block = bytearray(size)
    array = np.frombuffer(block, dtype=np.uint8).reshape(shape)
    weakref.finalize(array, _release, block)
    return torch.from_numpy(array)


def _release(block: bytearray) -> None:
    global _idle_bytes
    with _lock:
        if _idle_bytes + len(block) <= MAX_IDLE_BYTES:
            _idle.setdefault(len(block), []).append(block)
            _idle_bytes += len(block)
