"""The pure-torch renderer: the specification, the CPU path and the test oracle.

Convention: x = column, y = row, origin at the top-left pixel, y grows downward; a digit's position
is its sprite's top-left corner in pixels. Trajectories are integrated in the fixed point of
:mod:`gpu_mmnist.sampler` and floored to whole pixels, so every pixel, mask and box is decided by
integer arithmetic and any other backend can match it bit for bit.

Compositing (``max``): a pixel takes the brightest digit's value; its owner (instance mask) is that
digit, ties going to the lower slot; the semantic mask is ``1 + class`` of the owner.
"""

from __future__ import annotations

import torch

from .batch import Batch
from .buffers import empty_uint8
from .config import SceneConfig
from .sampler import ONE, POSITION_BITS, SceneParams
from .sprites import SpriteBank

# Sequences are composited in chunks whose frames fit in the CPU caches; a GPU takes big chunks.
CHUNK_BYTES = {"cpu": 1 << 20}
CHUNK_BYTES_OTHER = 1 << 28


def free_range(config: SceneConfig, sprites: SpriteBank) -> tuple[int, int]:
    """``(W - w, H - h)``: how far a sprite's top-left corner can move, in pixels."""
    height, width = config.canvas
    if sprites.height > height or sprites.width > width:
        raise ValueError(
            f"sprites of {sprites.height}×{sprites.width} do not fit the canvas {height}×{width}; "
            "use a larger canvas"
        )
    return width - sprites.width, height - sprites.height


def trajectory(config: SceneConfig, params: SceneParams) -> torch.Tensor:
    """Fixed-point positions ``int64 [B, T, K, 2]`` ``(x, y)``, in ``[0, ONE]``, one per frame.

    Classic rule (Srivastava 2015): each frame first takes a step of ``velocity``; a coordinate
    that reaches ``<= 0`` or ``>= ONE`` is clamped to that wall and its velocity component negated.
    """
    position = params.start.clone()
    velocity = params.velocity.clone()
    frames = []
    for _ in range(config.num_frames):
        position += velocity
        at_wall = (position <= 0) | (position >= ONE)
        position.clamp_(0, ONE)
        velocity = torch.where(at_wall, -velocity, velocity)
        frames.append(position.clone())
    return torch.stack(frames, dim=1)


def pixel_offsets(positions: torch.Tensor, extent: tuple[int, int]) -> torch.Tensor:
    """Whole-pixel top-left corners ``int64 [..., 2]``: ``floor(free range · position)``."""
    scale = torch.tensor(extent, dtype=torch.int64, device=positions.device)
    return (positions * scale) >> POSITION_BITS


def tight_boxes(
    ink_boxes: torch.Tensor, offsets: torch.Tensor, canvas: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes of translated sprites: ``ink_boxes [B, K, 4]`` moved by ``offsets [B, T, K, 2]``.

    Returns ``(boxes int32 [B, T, K, 4], visible bool [B, T, K])``, clipped to the canvas; a
    sprite without ink or wholly outside gets ``[-1, -1, -1, -1]`` and ``visible == False``.
    """
    height, width = canvas
    box = ink_boxes[:, None].to(torch.int64) + offsets.repeat(1, 1, 1, 2)
    low = box[..., :2].clamp(min=0)
    high = torch.minimum(box[..., 2:], torch.tensor([width - 1, height - 1], device=box.device))
    visible = (ink_boxes[:, None, :, 0] >= 0) & (low <= high).all(dim=-1)
    clipped = torch.cat([low, high], dim=-1)
    return torch.where(visible[..., None], clipped, -1).to(torch.int32), visible


def _chunk_size(device: torch.device, frame_bytes: int) -> int:
    return max(1, CHUNK_BYTES.get(device.type, CHUNK_BYTES_OTHER) // frame_bytes)


def render(
    config: SceneConfig,
    params: SceneParams,
    sprites: SpriteBank,
    *,
    boxes: bool = True,
    masks: bool = True,
) -> Batch:
    """Render ``params`` with ``sprites`` (both on one device) into a :class:`Batch`.

    A digit's layer in a frame is its sprite translated to a whole-pixel offset, taken as one
    contiguous window of a zero-padded copy of the sprite whose row pitch is the canvas width
    (a gather of rows, no per-pixel indexing); layers are then max-composited slot by slot.
    """
    height, width = config.canvas
    extent = free_range(config, sprites)
    offsets = pixel_offsets(trajectory(config, params), extent)  # [B, T, K, 2]
    num_seq, num_frames, num_slots = offsets.shape[:3]
    device = offsets.device
    plane = height * width

    frames = empty_uint8((num_seq, num_frames, 1, height, width), device)
    mask_shape = (num_seq, num_frames, height, width)
    instance = empty_uint8(mask_shape, device) if masks else None
    semantic = empty_uint8(mask_shape, device) if masks else None

    # Padded sprite: rows [pad_top, pad_top + h) hold the sprite in columns [0, w), the rest is 0.
    pad_top = height - sprites.height + 1
    padded_rows = pad_top + height
    window_start = (pad_top - offsets[..., 1]) * width - offsets[..., 0]  # [B, T, K]
    sprite_images = sprites.images[params.sprite_ids]  # [B, K, h, w]
    classes = (params.labels + 1).to(torch.uint8)  # semantic value of each slot

    # Buffers reused by every chunk: fresh allocations per chunk would fault new pages each time.
    chunk = min(num_seq, _chunk_size(device, num_frames * plane))
    padded = empty_uint8((chunk, num_slots, padded_rows, width), device).zero_()
    work = empty_uint8((3 if masks else 1, chunk, num_frames * plane), device)
    for first in range(0, num_seq, chunk):
        last = min(first + chunk, num_seq)
        count = last - first
        padded[:count, :, pad_top : pad_top + sprites.height, : sprites.width] = sprite_images[
            first:last
        ]
        base = torch.arange(count * num_slots, device=device).view(count, 1, num_slots)
        _composite_max(
            padded[:count].view(-1).unfold(0, plane, 1),
            window_start[first:last] + base * (padded_rows * width),
            frames[first:last].view(count, -1),
            instance[first:last].view(count, -1) if masks else None,
            semantic[first:last].view(count, -1) if masks else None,
            classes[first:last],
            work[:, :count],
        )

    batch_boxes, visible = (None, None)
    if boxes:
        ink = sprites.ink_boxes[params.sprite_ids]
        batch_boxes, visible = tight_boxes(ink, offsets, config.canvas)
    return Batch(
        frames=frames,
        labels=params.labels,
        sprite_ids=params.sprite_ids,
        positions=offsets.to(torch.float32),
        indices=params.indices,
        boxes=batch_boxes,
        visible=visible,
        instance_masks=instance,
        semantic_masks=semantic,
    )


def _composite_max(
    windows: torch.Tensor,
    starts: torch.Tensor,
    frame: torch.Tensor,
    instance: torch.Tensor | None,
    semantic: torch.Tensor | None,
    classes: torch.Tensor,
    work: torch.Tensor,
) -> None:
    """Max-composite slot layers into ``frame`` (and the masks), all uint8 ``[C, T·H·W]`` views.

    Slot ``k``'s layer in frame ``t`` of sequence ``c`` is the row ``starts[c, t, k]`` of
    ``windows`` (an overlapping ``[*, H·W]`` view of the padded sprites); ``work`` is uint8
    ``[3, C, T·H·W]`` scratch space (``[1, C, T·H·W]`` without masks).

    Slots go in order and a later slot takes a pixel only where it is strictly brighter, so ties
    stay with the lower slot. Mask updates use uint8 arithmetic (no ``where``, which is slow):
    the owner is ``max(owner, wins · (k + 1))`` since ``k + 1`` exceeds every earlier owner, and the
    class is ``class + wins · (class_k − class)`` modulo 256.
    """
    num_slots = starts.shape[2]

    def layer_into(slot: int, out: torch.Tensor) -> None:
        rows = starts[:, :, slot].reshape(-1)
        torch.index_select(windows, 0, rows, out=out.view(rows.shape[0], windows.shape[1]))

    layer_into(0, frame)
    if instance is not None:
        torch.minimum(frame, torch.ones((), dtype=torch.uint8, device=frame.device), out=instance)
        torch.mul(instance, classes[:, :1], out=semantic)
    layer = work[0]
    if instance is not None:
        won, scratch = work[1], work[2]
        wins = won.view(torch.bool)
    for slot in range(1, num_slots):
        layer_into(slot, layer)
        if instance is not None:
            torch.gt(layer, frame, out=wins)
            torch.mul(won, slot + 1, out=scratch)
            torch.maximum(instance, scratch, out=instance)
            torch.sub(classes[:, slot : slot + 1], semantic, out=scratch)
            semantic.addcmul_(won, scratch)
        torch.maximum(frame, layer, out=frame)
