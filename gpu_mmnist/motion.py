"""Trajectories and per-frame appearance: from :class:`SceneParams` to what each frame draws.

A pure function of ``(config, params, sprite size)``, shared by every backend, so the torch
reference and the Triton kernel place, rotate, scale and light each digit identically. Per-frame
randomness (``stochastic`` and ``linear``) comes from Philox counters keyed by (index, slot,
frame), never from a batch position.

Convention: x = column, y = row (down); a digit's offset is its sprite box's top-left pixel.
Rotation is about the sprite centre, positive = counter-clockwise on screen. The resampling
matrix ``[m00, m01, m10, m11]`` (``Q16``) maps a screen offset from the centre to sprite space:
``u = m00·dx + m01·dy``, ``v = m10·dx + m11·dy``, i.e. ``R(-θ) / scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import MOTIONS, SceneConfig, span
from .rng import counter, philox4x32
from .sampler import (
    LIGHT_ONE,
    ONE,
    POSITION_BITS,
    Q16,
    STREAM_STEP,
    TRIG_BITS,
    TURN,
    TURN_BITS,
    SceneParams,
    direction_table,
    directions,
    draw_in,
    turns,
)

CLASSIC, TFDS, STOCHASTIC, REFLECT, CIRCULAR, LINEAR = range(len(MOTIONS))


@dataclass(frozen=True)
class Poses:
    """What every frame draws. ``[B, T, K]`` per digit slot, ``[B, T, S]`` per shape slot.

    Attributes:
        offsets: int64 ``[B, T, K, 2]`` top-left ``(x, y)`` pixel of each sprite box.
        matrix: int32 ``[B, T, K, 4]`` resampling matrix (``Q16``; identity = ``[Q16, 0, 0, Q16]``).
        light: int32 ``[B, T, K]`` brightness in ``Q8`` (``0 … 256``).
        shape_offsets: int64 ``[B, T, S, 2]`` top-left pixel of each shape.
    """

    offsets: torch.Tensor
    matrix: torch.Tensor
    light: torch.Tensor
    shape_offsets: torch.Tensor


def fold(position: torch.Tensor) -> torch.Tensor:
    """Exact reflection into ``[0, ONE]``: ``min(p mod 2, 2 - p mod 2)`` in fixed point."""
    wrapped = torch.remainder(position, 2 * ONE)
    return torch.minimum(wrapped, 2 * ONE - wrapped)


def floor_pixels(position: torch.Tensor, extent: torch.Tensor) -> torch.Tensor:
    """Whole pixels ``floor(extent · p)`` of fixed-point positions."""
    return (position * extent) >> POSITION_BITS


def clamp_and_flip(start: torch.Tensor, velocity: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Srivastava 2015: step before each frame; at ``<= 0`` / ``>= ONE`` clamp and negate.

    Returns ``[B, T, ..., 2]`` fixed-point positions.
    """
    position = start.clone()
    velocity = velocity.clone()
    frames = []
    for _ in range(num_frames):
        position += velocity
        at_wall = (position <= 0) | (position >= ONE)
        position.clamp_(0, ONE)
        velocity = torch.where(at_wall, -velocity, velocity)
        frames.append(position.clone())
    return torch.stack(frames, dim=1)


def _stochastic(params: SceneParams, config: SceneConfig, extent: torch.Tensor) -> torch.Tensor:
    """SVG (Denton & Fergus 2018): draw at the position, then step; before drawing, a
    coordinate below 0 is set to 0 and above ``R - 1`` to ``R - 1``, and that axis gets a new
    inward speed ``1 … v`` while the other axis gets ``-v … v`` (y is checked first, then x)."""
    top = (extent - 1).clamp(min=0)
    position = params.start.clone()
    velocity = params.velocity.clone()
    slots = torch.arange(params.num_slots, device=position.device)[None, :]
    limit = config.max_velocity
    frames = []
    for frame in range(config.num_frames):
        words = philox4x32(
            *counter(params.indices[:, None], params.split, STREAM_STEP, slots, frame),
            params.seed,
        )
        for axis, (inward_word, other_word) in ((1, words[:2]), (0, words[2:])):
            low = position[..., axis] < 0
            high = position[..., axis] > top[axis]
            speed = draw_in(inward_word, 1, limit)
            other = draw_in(other_word, -limit, limit)
            hit = (low | high)[..., None]
            new = torch.stack([other, other], dim=-1)
            new[..., axis] = torch.where(low, speed, -speed)
            velocity = torch.where(hit, new, velocity)
            position[..., axis] = position[..., axis].clamp(0, int(top[axis]))
        frames.append(position.clone())
        position = position + velocity
    return torch.stack(frames, dim=1)


def _linear(params: SceneParams, config: SceneConfig) -> torch.Tensor:
    """Straight steps whose heading turns by ``U[-p, p]`` every frame, reflected at the walls
    (integrated unfolded, then folded); the step comes before each frame."""
    speed = params.speed
    heading = params.heading
    slots = torch.arange(params.num_slots, device=speed.device)[None, :]
    _, high = turns(config.perturbation)
    position = params.start.clone()
    frames = []
    for frame in range(config.num_frames):
        word = philox4x32(
            *counter(params.indices[:, None], params.split, STREAM_STEP, slots, frame),
            params.seed,
        )[0]
        heading = heading + (draw_in(word, -high, high) << 16)
        position = position + directions(heading, speed)
        frames.append(fold(position))
    return torch.stack(frames, dim=1)


def _oscillation(phase: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """``low + (high - low) · (1 + sin φ) / 2`` in integers, for phases in ``2**-32`` turn."""
    sine = direction_table(phase.device)[(phase >> (TURN_BITS - 16)) & 0xFFFF][..., 1]
    return low + (((high - low) * ((1 << TRIG_BITS) + sine)) >> (TRIG_BITS + 1))


def positions(config: SceneConfig, params: SceneParams, extent: tuple[int, int]) -> torch.Tensor:
    """Top-left pixel ``(x, y)`` of every digit in every frame, int64 ``[B, T, K, 2]``.

    ``extent`` is the free range ``(W - w, H - h)`` in pixels; every offset lies within it.
    """
    num_frames = config.num_frames
    device = params.start.device
    scale = torch.tensor(extent, dtype=torch.int64, device=device)
    start = params.start[:, None]
    frames = torch.arange(num_frames, device=device)[None, :, None, None]
    offsets = torch.zeros(
        (params.batch_size, num_frames, params.num_slots, 2), dtype=torch.int64, device=device
    )
    for name in config.motions:
        code = MOTIONS.index(name)
        if code == CLASSIC:
            pixels = floor_pixels(clamp_and_flip(params.start, params.velocity, num_frames), scale)
        elif code == TFDS:  # frame 0 at the start, then fold and round
            folded = fold(start + params.velocity[:, None] * frames)
            pixels = (folded * scale + (ONE >> 1)) >> POSITION_BITS
        elif code == REFLECT:  # a step before each frame, then fold (any number of bounces)
            pixels = floor_pixels(fold(start + params.velocity[:, None] * (frames + 1)), scale)
        elif code == CIRCULAR:  # frame 0 at the phase; x from cos, y from sin
            phase = params.phase[:, None] + params.angular[:, None] * frames[..., 0]
            unit = direction_table(device)[(phase >> (TURN_BITS - 16)) & 0xFFFF]
            arm = (params.radius[:, None, :, None] * unit + (1 << (TRIG_BITS - 1))) >> TRIG_BITS
            pixels = floor_pixels(start + arm, scale)
        elif code == LINEAR:
            pixels = floor_pixels(_linear(params, config), scale)
        else:
            pixels = _stochastic(params, config, scale)
        offsets = torch.where((params.motion == code)[:, None, :, None], pixels, offsets)
    return offsets


def appearance(config: SceneConfig, params: SceneParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Resampling matrices int32 ``[B, T, K, 4]`` (``Q16``) and brightness int32 ``[B, T, K]``
    (``Q8``) of every digit in every frame: rotation ``angle + spin · t``, the scale (constant
    or oscillating) and the brightness (constant, ramp or oscillating), all in integers."""
    num_frames = config.num_frames
    frames = torch.arange(num_frames, device=params.start.device)[None, :, None]
    angle = params.angle[:, None] + params.spin[:, None] * frames
    unit = direction_table(angle.device)[(angle >> (TURN_BITS - 16)) & 0xFFFF]  # Q30 cos, sin
    if config.scale_period:
        rate = round(TURN / config.scale_period)
        low, high = (round(v * Q16) for v in span(config.scale))
        scale = _oscillation(params.scale_phase[:, None] + rate * frames, low, high)
    else:
        scale = params.scale[:, None].expand_as(angle)
    inverse = ((1 << 32) + (scale >> 1)) // scale  # Q16 of 1 / scale
    half = 1 << (TRIG_BITS - 1)
    cos = (unit[..., 0] * inverse + half) >> TRIG_BITS
    sin = (unit[..., 1] * inverse + half) >> TRIG_BITS
    matrix = torch.stack([cos, -sin, sin, cos], dim=-1).to(torch.int32)

    levels = params.brightness
    if config.brightness_mode == "ramp":
        light = levels[:, None, :, 0] + (
            (levels[:, None, :, 1] - levels[:, None, :, 0]) * frames
        ) // max(num_frames - 1, 1)
    elif config.brightness_mode == "oscillate":
        rate = round(TURN / config.brightness_period)
        low, high = (round(v * LIGHT_ONE) for v in span(config.brightness))
        light = _oscillation(params.light_phase[:, None] + rate * frames, low, high)
    else:
        light = levels[:, None, :, 0].expand_as(angle)
    return matrix, light.to(torch.int32).contiguous()


def shape_positions(config: SceneConfig, params: SceneParams) -> torch.Tensor:
    """Top-left pixel ``(x, y)`` of every background shape, int64 ``[B, T, S, 2]``: shapes bounce
    like ``reflect`` digits within their own free range ``(W - w, H - h)``."""
    height, width = config.canvas
    frames = torch.arange(1, config.num_frames + 1, device=params.start.device)
    frames = frames[None, :, None, None]
    extent = torch.tensor([width, height], device=frames.device) - params.shape_size[:, None]
    folded = fold(params.shape_start[:, None] + params.shape_velocity[:, None] * frames)
    return floor_pixels(folded, extent)


def poses(config: SceneConfig, params: SceneParams, extent: tuple[int, int]) -> Poses:
    """Everything a renderer needs per frame (see :class:`Poses`)."""
    matrix, light = appearance(config, params)
    return Poses(
        offsets=positions(config, params, extent),
        matrix=matrix,
        light=light,
        shape_offsets=shape_positions(config, params),
    )
