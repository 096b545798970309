"""What recycling CPU output buffers is worth: one render call (classic, batch 256, frames + boxes
+ masks, one thread) with the buffer pool off and on, alternately, with minor page faults per call.

Usage: ``GPU_MMNIST_DATA=/path/to/mnist python benchmarks/buffer_recycling.py``
"""

from __future__ import annotations

import resource
import time

import torch

from gpu_mmnist import SceneConfig, SpriteBank, buffers, render

CALLS = 20


def median_call(config: SceneConfig, sprites: SpriteBank) -> tuple[float, int]:
    """Median milliseconds per call and minor page faults per call, fresh indices each call."""
    render(config, sprites, torch.arange(256))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for call in range(CALLS):
        start = time.perf_counter()
        render(config, sprites, torch.arange(call * 256, (call + 1) * 256))
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return sorted(times)[CALLS // 2] * 1e3, faults // CALLS


def main() -> None:
    torch.set_num_threads(1)
    sprites = SpriteBank.auto()
    config = SceneConfig.preset("classic")
    pool_bytes = buffers.MAX_IDLE_BYTES
    for capacity in (0, pool_bytes, 0, pool_bytes):
        buffers.MAX_IDLE_BYTES = capacity
        buffers._idle.clear()
        buffers._idle_bytes = 0
        millis, faults = median_call(config, sprites)
        label = "recycled buffers" if capacity else "fresh buffers   "
        print(f"{label}  {millis:6.1f} ms/call  {faults:6d} page faults/call")


if __name__ == "__main__":
    main()
