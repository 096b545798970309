"""``render``: sample a batch of sequences and draw it with the chosen backend.

Backends: ``"torch"`` (:mod:`gpu_mmnist.reference`, any device) and ``"auto"`` (the best backend
available for the device; today that is ``"torch"`` everywhere).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import reference
from .batch import Batch
from .config import SceneConfig
from .sampler import sample
from .sprites import SpriteBank

BACKENDS = ("auto", "torch")


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
    any batch, on any device. ``device`` defaults to the sprites' device (a bank on another device
    is copied for this call; keep it on the rendering device to avoid that). ``boxes`` and
    ``masks`` switch the annotations on or off (off → those fields are None).
    """
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    if not isinstance(sprites, SpriteBank):
        raise TypeError(f"sprites must be a SpriteBank, got {type(sprites).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if device is not None and torch.device(device) != sprites.device:
        sprites = sprites.to(device)
    params = sample(config, sprites, indices, seed=seed, split=split)
    return reference.render(config, params, sprites, boxes=boxes, masks=masks)
