"""Per-sequence scene parameters drawn from the counter-based random stream.

Every draw is Philox4x32-10 keyed by the seed, with the counter built from (sequence index, split,
stream, digit slot) — see :func:`gpu_mmnist.rng.counter` — so sequence ``i`` gets the same
parameters whatever the batch it is drawn in, on any device.

Convention (fixed point): positions and velocities are integers in units of ``1 / 2**24`` of the
free range ``(W - w, H - h)``; ``ONE = 2**24`` is the far wall. Components are ordered ``(x, y)``
(x = column, y = row, growing down). Directions come from a table of ``2**16`` angles whose cos/sin
are computed once on the CPU in float64 and rounded to ``Q30``, so velocities are identical on
every device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .config import SceneConfig
from .rng import SPLIT_CODES, counter, philox4x32, uniform_int
from .sprites import SpriteBank

POSITION_BITS = 24
ONE = 1 << POSITION_BITS  # the far wall, in fixed-point position units
ANGLE_BITS = 16
TRIG_BITS = 30

STREAM_DIGIT = 0  # words: sprite id, start x, start y, direction


@dataclass(frozen=True)
class SceneParams:
    """Everything random about a batch of ``B`` sequences with ``K`` digit slots.

    Attributes:
        indices: int64 ``[B]`` sequence indices.
        sprite_ids: int64 ``[B, K]`` rows of the sprite bank.
        labels: int64 ``[B, K]`` class of each slot's sprite.
        start: int64 ``[B, K, 2]`` position ``(x, y)`` before the first step, ``[0, ONE)``.
        velocity: int64 ``[B, K, 2]`` step per frame ``(x, y)`` in position units.
    """

    indices: torch.Tensor
    sprite_ids: torch.Tensor
    labels: torch.Tensor
    start: torch.Tensor
    velocity: torch.Tensor

    @property
    def batch_size(self) -> int:
        return self.indices.shape[0]

    @property
    def num_slots(self) -> int:
        return self.sprite_ids.shape[1]


@functools.lru_cache(maxsize=8)
def direction_table(device: torch.device) -> torch.Tensor:
    """int64 ``[2**ANGLE_BITS, 2]`` of ``(cos, sin)`` in ``Q30``, for angle ``2π·a / 2**16``."""
    angles = torch.arange(1 << ANGLE_BITS, dtype=torch.float64) * (2 * math.pi / (1 << ANGLE_BITS))
    table = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * (1 << TRIG_BITS)
    return torch.round(table).to(torch.int64).to(device)


def as_indices(indices: torch.Tensor | Sequence[int] | range, device: torch.device) -> torch.Tensor:
    """Validate sequence indices and return them as a 1-D int64 tensor on ``device``."""
    if isinstance(indices, torch.Tensor):
        if (
            indices.dtype.is_floating_point
            or indices.dtype.is_complex
            or indices.dtype == torch.bool
        ):
            raise TypeError(f"indices must be an integer tensor, got dtype {indices.dtype}")
        tensor = indices.to(device=device, dtype=torch.int64)
    else:
        values = list(indices)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise TypeError("indices must be a tensor, range or sequence of ints")
        tensor = torch.tensor(values, dtype=torch.int64, device=device)
    if tensor.dim() != 1 or tensor.numel() == 0:
        raise ValueError(
            f"indices must be a non-empty 1-D sequence, got shape {tuple(tensor.shape)}"
        )
    return tensor


def check_seed_and_split(seed: int, split: str) -> None:
    """Raise a clear error for a seed outside ``[0, 2**64)`` or an unknown split."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_CODES)}; got {split!r}")


def sample(
    config: SceneConfig,
    sprites: SpriteBank,
    indices: torch.Tensor | Sequence[int] | range,
    seed: int = 0,
    split: str = "train",
) -> SceneParams:
    """Draw the parameters of sequences ``indices`` on the sprites' device.

    Classic rule (Srivastava 2015): start ``U[0, 1)²`` of the free range, direction
    ``θ ~ U[0, 2π)`` with ``x`` from ``cos θ`` and ``y`` from ``sin θ``, speed ``config.step``.
    """
    check_seed_and_split(seed, split)
    if sprites.split is not None and sprites.split != split:
        raise ValueError(
            f"split={split!r} but the sprite bank holds {sprites.source} {sprites.split!r} "
            f"sprites; load the bank with split={split!r}"
        )
    device = sprites.device
    indices = as_indices(indices, device)
    slots = torch.arange(config.num_digits, device=device)
    words = philox4x32(*counter(indices[:, None], split, STREAM_DIGIT, slots[None, :], 0), seed)
    sprite_ids = uniform_int(words[0], len(sprites))
    start = torch.stack([words[1], words[2]], dim=-1) >> (32 - POSITION_BITS)
    direction = direction_table(device)[words[3] >> (32 - ANGLE_BITS)]  # [B, K, 2] (cos, sin)
    step = round(config.step * ONE)
    half = 1 << (TRIG_BITS - 1)
    velocity = (direction * step + half) >> TRIG_BITS
    return SceneParams(
        indices=indices,
        sprite_ids=sprite_ids,
        labels=sprites.labels[sprite_ids],
        start=start,
        velocity=velocity,
    )
