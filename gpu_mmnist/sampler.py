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

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .config import MOTIONS, SceneConfig, span
from .rng import SPLIT_CODES, counter, philox4x32, uniform_int
from .sprites import SpriteBank

POSITION_BITS = 24
ONE = 1 << POSITION_BITS  # the far wall, in fixed-point position units
ANGLE_BITS = 16
TRIG_BITS = 30

TURN_BITS = 32  # angles and phases are in units of 2**-32 turn
TURN = 1 << TURN_BITS
ARC_TO_TURN = round(TURN / (2 * math.pi))  # radians → 2**-32 turn
Q16 = 1 << 16  # scale and resampling matrices
LIGHT_ONE = 256  # brightness 1.0 (Q8)

# Counter streams (the 8-bit ``stream`` field); every draw of a stream uses its four words.
STREAM_DIGIT = 0  # slot k: sprite id, start x, start y, direction (the classic draws)
STREAM_MOTION = 1  # slot k: motion model, speed, circle radius, circle phase
STREAM_POSE = 2  # slot k: initial angle, rotation rate, scale, scale phase
STREAM_LIGHT = 3  # slot k: brightness level, ramp end level, oscillation phase, circle sense
STREAM_COUNT = 4  # slot 0: digit count, shape count
STREAM_SHAPE = 5  # slot s, sub 0: kind, width, height, value; sub 1: start x, start y, dir, speed
STREAM_STEP = 6  # slot k, sub t: per-frame draws of the stochastic and linear models
STREAM_NOISE = 7  # slot = frame, sub = pixel // 4: pepper noise, one word per pixel

SHAPE_KINDS = ("circle", "rectangle", "triangle")


@dataclass(frozen=True)
class SceneParams:
    """Everything random about a batch of ``B`` sequences with ``K`` digit and ``S`` shape slots.

    Fixed-point units: positions and steps in ``1 / 2**24`` of the free range (``ONE`` = far
    wall), except the ``stochastic`` model's, which are whole pixels; angles and phases in
    ``2**-32`` turn; scale in ``Q16``; brightness in ``Q8`` (``256`` = 1.0). Padded slots (beyond
    a sequence's digit count) have ``active == False``, ``sprite_ids == labels == -1``.

    Attributes:
        indices: int64 ``[B]`` sequence indices.
        seed, split: the random stream (per-frame draws and noise are keyed by them).
        sprite_ids, labels: int64 ``[B, K]``.
        active: bool ``[B, K]``.
        motion: int64 ``[B, K]`` index into :data:`gpu_mmnist.config.MOTIONS`.
        start: int64 ``[B, K, 2]`` ``(x, y)`` start position (``circular``: the centre).
        heading: int64 ``[B, K]`` direction of motion; ``speed``: int64 ``[B, K]`` step length.
        velocity: int64 ``[B, K, 2]`` step per frame (``linear``: the initial one).
        radius: int64 ``[B, K]`` circle radius (``circular``).
        phase: int64 ``[B, K]`` circle phase at frame 0.
        angular: int64 ``[B, K]`` circle phase step per frame (signed).
        angle: int64 ``[B, K]`` rotation at frame 0; ``spin``: its step per frame (signed).
        scale: int64 ``[B, K]`` constant scale; ``scale_phase``: oscillation phase at frame 0.
        brightness: int64 ``[B, K, 2]`` levels (constant: ``[..., 0]``; ramp: from, to).
        light_phase: int64 ``[B, K]`` brightness oscillation phase at frame 0.
        shape_kind: int64 ``[B, S]`` index into :data:`SHAPE_KINDS`, ``-1`` for unused slots.
        shape_size: int64 ``[B, S, 2]`` ``(w, h)`` pixels; ``shape_value``: int64 ``[B, S]``.
        shape_start, shape_velocity: int64 ``[B, S, 2]`` like ``start``/``velocity``.
    """

    indices: torch.Tensor
    seed: int
    split: str
    sprite_ids: torch.Tensor
    labels: torch.Tensor
    active: torch.Tensor
    motion: torch.Tensor
    start: torch.Tensor
    heading: torch.Tensor
    speed: torch.Tensor
    velocity: torch.Tensor
    radius: torch.Tensor
    phase: torch.Tensor
    angular: torch.Tensor
    angle: torch.Tensor
    spin: torch.Tensor
    scale: torch.Tensor
    scale_phase: torch.Tensor
    brightness: torch.Tensor
    light_phase: torch.Tensor
    shape_kind: torch.Tensor
    shape_size: torch.Tensor
    shape_value: torch.Tensor
    shape_start: torch.Tensor
    shape_velocity: torch.Tensor

    @classmethod
    def placed(
        cls,
        sprite_ids: torch.Tensor,
        labels: torch.Tensor,
        start: torch.Tensor,
        velocity: torch.Tensor,
        indices: torch.Tensor | None = None,
    ) -> SceneParams:
        """Hand-made parameters for the classic motion (upright, full brightness, no shapes):
        ``sprite_ids``/``labels`` int64 ``[B, K]``, ``start``/``velocity`` int64 ``[B, K, 2]``."""
        num_seq, num_slots = sprite_ids.shape
        device = sprite_ids.device
        zeros = torch.zeros((num_seq, num_slots), dtype=torch.int64, device=device)
        no_shapes = torch.zeros((num_seq, 0), dtype=torch.int64, device=device)
        if indices is None:
            indices = torch.arange(num_seq, device=device)
        return cls(
            indices=indices,
            seed=0,
            split="train",
            sprite_ids=sprite_ids,
            labels=labels,
            active=sprite_ids >= 0,
            motion=zeros,
            start=start,
            heading=zeros,
            speed=zeros,
            velocity=velocity,
            radius=zeros,
            phase=zeros,
            angular=zeros,
            angle=zeros,
            spin=zeros,
            scale=zeros + Q16,
            scale_phase=zeros,
            brightness=torch.full((num_seq, num_slots, 2), LIGHT_ONE, device=device),
            light_phase=zeros,
            shape_kind=no_shapes,
            shape_size=no_shapes[..., None].expand(-1, -1, 2),
            shape_value=no_shapes,
            shape_start=no_shapes[..., None].expand(-1, -1, 2),
            shape_velocity=no_shapes[..., None].expand(-1, -1, 2),
        )

    def slots(self, selected: slice) -> SceneParams:
        """The same sequences with only the digit slots ``selected``."""
        per_slot = {
            name: getattr(self, name)[:, selected]
            for name in (
                "sprite_ids", "labels", "active", "motion", "start", "heading", "speed",
                "velocity", "radius", "phase", "angular", "angle", "spin", "scale",
                "scale_phase", "brightness", "light_phase",
            )
        }  # fmt: skip
        return dataclasses.replace(self, **per_slot)

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


def draw_in(word: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Integers uniform in ``[low, high]`` from 32-bit words (``high - low < 2**31``)."""
    if high == low:
        return torch.full_like(word, low)
    return low + uniform_int(word, high - low + 1)


def fixed_span(value: float | tuple[float, float], unit: float) -> tuple[int, int]:
    """``(lo, hi)`` of a config number or range, rounded to integer multiples of ``1 / unit``."""
    low, high = span(value)
    return round(low * unit), round(high * unit)


def turns(degrees: float | tuple[float, float]) -> tuple[int, int]:
    """A degree range in ``2**-16`` turn (the draw resolution of angles)."""
    return fixed_span(degrees, (1 << 16) / 360)


def directions(heading: torch.Tensor, step: torch.Tensor | int) -> torch.Tensor:
    """Step vectors ``(x, y)`` of length ``step`` for headings in ``2**-32`` turn (``[..., 2]``)."""
    unit = direction_table(heading.device)[(heading >> (TURN_BITS - ANGLE_BITS)) & 0xFFFF]
    if isinstance(step, torch.Tensor):
        step = step[..., None]
    return (unit * step + (1 << (TRIG_BITS - 1))) >> TRIG_BITS


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
    Other models and the appearance draw from their own counter streams, so adding a feature
    never changes the classic draws of the same index.
    """
    check_seed_and_split(seed, split)
    if sprites.split is not None and sprites.split != split:
        raise ValueError(
            f"split={split!r} but the sprite bank holds {sprites.source} {sprites.split!r} "
            f"sprites; load the bank with split={split!r}"
        )
    device = sprites.device
    indices = as_indices(indices, device)
    slots = torch.arange(config.max_digits, device=device)[None, :]

    def words(stream: int, slot: torch.Tensor | int, sub: int = 0) -> tuple[torch.Tensor, ...]:
        return philox4x32(*counter(indices[:, None], split, stream, slot, sub), seed)

    counts = words(STREAM_COUNT, 0)
    digits = draw_in(counts[0], *span(config.num_digits))  # [B, 1]
    active = slots < digits

    sprite_word, x_word, y_word, direction_word = words(STREAM_DIGIT, slots)
    sprite_ids = torch.where(active, uniform_int(sprite_word, len(sprites)), -1)
    labels = torch.where(active, sprites.labels[sprite_ids.clamp(min=0)], -1)
    start = torch.stack([x_word, y_word], dim=-1) >> (32 - POSITION_BITS)
    heading = direction_word << (TURN_BITS - 32)

    motion_word, speed_word, radius_word, phase_word = words(STREAM_MOTION, slots)
    codes = torch.tensor([MOTIONS.index(m) for m in config.motions], device=device)
    motion = codes[uniform_int(motion_word, len(codes))]
    speed = draw_in(speed_word, *fixed_span(config.step, ONE))
    velocity = directions(heading, speed)

    # The stochastic model works in whole pixels: its start reuses the start words, its
    # velocity the speed and radius words (which that model does not otherwise use).
    stochastic = motion == MOTIONS.index("stochastic")
    extent = torch.tensor(free_extent(config, sprites), device=device)
    pixel_start = uniform_int(torch.stack([x_word, y_word], dim=-1), extent.clamp(min=1))
    pixel_velocity = torch.stack(
        [draw_in(w, -config.max_velocity, config.max_velocity) for w in (speed_word, radius_word)],
        dim=-1,
    )
    start = torch.where(stochastic[..., None], pixel_start, start)
    velocity = torch.where(stochastic[..., None], pixel_velocity, velocity)

    radius = draw_in(radius_word, *fixed_span(config.radius, ONE))
    circular = motion == MOTIONS.index("circular")
    centre = radius[..., None] + ((ONE - 2 * radius[..., None]) * (start & (ONE - 1))) // ONE
    start = torch.where(circular[..., None], centre, start)
    angle_word, spin_word, scale_word, scale_phase_word = words(STREAM_POSE, slots)
    level_word, end_word, light_phase_word, sense_word = words(STREAM_LIGHT, slots)
    angular = (speed * ARC_TO_TURN) // radius.clamp(min=1)
    angular = torch.where((sense_word & 1) == 1, -angular, angular)

    brightness = torch.stack(
        [draw_in(w, *fixed_span(config.brightness, LIGHT_ONE)) for w in (level_word, end_word)],
        dim=-1,
    )
    shape_kind, shape_size, shape_value, shape_start, shape_velocity = _sample_shapes(
        config, indices, seed, split, counts[1]
    )
    return SceneParams(
        indices=indices,
        seed=seed,
        split=split,
        sprite_ids=sprite_ids,
        labels=labels,
        active=active,
        motion=motion,
        start=start,
        heading=heading,
        speed=speed,
        velocity=velocity,
        radius=radius,
        phase=phase_word,
        angular=angular,
        angle=draw_in(angle_word, *turns(config.angle)) << 16,
        spin=draw_in(spin_word, *turns(config.rotation)) << 16,
        scale=draw_in(scale_word, *fixed_span(config.scale, Q16)),
        scale_phase=scale_phase_word,
        brightness=brightness,
        light_phase=light_phase_word,
        shape_kind=shape_kind,
        shape_size=shape_size,
        shape_value=shape_value,
        shape_start=shape_start,
        shape_velocity=shape_velocity,
    )


def free_extent(config: SceneConfig, sprites: SpriteBank) -> tuple[int, int]:
    """``(W - w, H - h)``: how far a sprite's top-left corner can move, in pixels."""
    height, width = config.canvas
    if sprites.height > height or sprites.width > width:
        raise ValueError(
            f"sprites of {sprites.height}×{sprites.width} do not fit the canvas {height}×{width}; "
            "use a larger canvas"
        )
    return width - sprites.width, height - sprites.height


def _sample_shapes(
    config: SceneConfig, indices: torch.Tensor, seed: int, split: str, count_word: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Background shapes: kind, size ``(w, h)``, value, start and velocity per shape slot."""
    slots = torch.arange(config.max_shapes, device=indices.device)[None, :]
    kind_word, w_word, h_word, value_word = philox4x32(
        *counter(indices[:, None], split, STREAM_SHAPE, slots, 0), seed
    )
    x_word, y_word, direction_word, speed_word = philox4x32(
        *counter(indices[:, None], split, STREAM_SHAPE, slots, 1), seed
    )
    present = slots < draw_in(count_word, *span(config.num_shapes))
    kind = torch.where(present, uniform_int(kind_word, len(SHAPE_KINDS)), -1)
    size = torch.stack([draw_in(w, *config.shape_size) for w in (w_word, h_word)], dim=-1)
    value = draw_in(value_word, *fixed_span(config.shape_brightness, 255))
    start = torch.stack([x_word, y_word], dim=-1) >> (32 - POSITION_BITS)
    speed = draw_in(speed_word, *fixed_span(config.step, ONE))
    velocity = directions(direction_word << (TURN_BITS - 32), speed)
    return kind, size, value, start, velocity
