"""``render``: sample a batch of sequences and draw it with the chosen backend.

Backends: ``"torch"`` (:mod:`gpu_mmnist.reference`, any device), ``"triton"``
(:mod:`gpu_mmnist.kernels.render`: CUDA tensors, or the CPU under ``TRITON_INTERPRET=1``, slow,
for tests) and ``"auto"`` (Triton for CUDA tensors when it is installed, else torch). Both give
the same bytes. Triton is imported only when the Triton backend runs.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import torch

from . import reference
from .batch import Batch
from .config import SceneConfig
from .sampler import sample
from .sprites import SpriteBank

BACKENDS = ("auto", "torch", "triton")


def triton_available() -> bool:
    """Whether the ``triton`` package is installed (it is not imported here)."""
    return importlib.util.find_spec("triton") is not None


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend (``"torch"`` or ``"triton"``) for ``backend`` on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "auto":
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if backend == "triton":
        if not triton_available():
            raise ValueError("backend='triton' needs the triton package: pip install triton")
        if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
            raise ValueError(
                f"backend='triton' renders CUDA tensors, but the sprites are on {device}; use "
                "backend='torch' there (or set TRITON_INTERPRET=1 before importing triton to run "
                "the kernel on the CPU, slowly, for tests)"
            )
    return backend


def render(
    config: SceneConfig,
    sprites: SpriteBank,
    indices: torch.Tensor | Sequence[int] | range,
    seed: int = 0,
    split: str = "train",
    device: torch.device | str | None = None,
    backend: str = "torch",
    *,
    boxes: bool = True,
    masks: bool = True,
) -> Batch:
    """Render sequences ``indices`` of the scene family ``config``.

    Sequence ``i`` is a pure function of ``(config, sprites, seed, split, i)``: the same bytes in
    any batch, on any device and backend. ``device`` defaults to the sprites' device (a bank on
    another device is copied for this call; keep it on the rendering device to avoid that).
    ``boxes`` and ``masks`` switch the annotations on or off (off → those fields are None, and
    nothing is computed or written for them).
    """
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    if not isinstance(sprites, SpriteBank):
        raise TypeError(f"sprites must be a SpriteBank, got {type(sprites).__name__}")
    if device is not None and torch.device(device) != sprites.device:
        sprites = sprites.to(device)
    chosen = resolve_backend(backend, sprites.device)
    params = sample(config, sprites, indices, seed=seed, split=split)
    if chosen == "triton":
        from .kernels import render as kernel  # imports triton

        return kernel.render(config, params, sprites, boxes=boxes, masks=masks)
    return reference.render(config, params, sprites, boxes=boxes, masks=masks)
