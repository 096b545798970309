"""Triton kernel for the classic scene, and its launcher (same signature as
:func:`gpu_mmnist.reference.render`).

One program renders one frame of one sequence: it integrates every digit's trajectory up to its
frame in the fixed point of :mod:`gpu_mmnist.sampler` (clamp-and-flip, floor to pixels), then
walks the canvas in row tiles; per tile it composites the slots in order (max; a later slot wins a
pixel only when strictly brighter), writes frames and, on request, instance and semantic masks, and
reduces each slot's tight box from the pixels it drew; a slot is skipped in the tiles its sprite
does not reach. Integer arithmetic throughout, so the output
equals the reference bit for bit. Runs on CUDA, or on the CPU under ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpu_mmnist.batch import Batch
from gpu_mmnist.config import SceneConfig
from gpu_mmnist.reference import free_range
from gpu_mmnist.sampler import ONE, POSITION_BITS, SceneParams
from gpu_mmnist.sprites import SpriteBank

TILE_ELEMENTS = 4096  # pixels per tile: rows of the next power of two ≥ W


@triton.jit
def _classic_frame_kernel(
    sprites_ptr,
    sprite_ids_ptr,
    labels_ptr,
    start_ptr,
    velocity_ptr,
    frames_ptr,
    instance_ptr,
    semantic_ptr,
    boxes_ptr,
    visible_ptr,
    positions_ptr,
    num_frames,
    num_slots,
    height,
    width,
    sprite_h,
    sprite_w,
    range_x,
    range_y,
    ONE: tl.constexpr,
    POSITION_BITS: tl.constexpr,
    SLOTS: tl.constexpr,
    TILE_ROWS: tl.constexpr,
    BLOCK_W: tl.constexpr,
    WRITE_MASKS: tl.constexpr,
    WRITE_BOXES: tl.constexpr,
):
    program = tl.program_id(0).to(tl.int64)
    sequence = program // num_frames
    frame = program % num_frames
    slot = tl.arange(0, SLOTS)
    live = slot < num_slots
    entry = sequence * num_slots + slot  # [SLOTS] int64 row of the per-slot parameters

    # Trajectory: step, then clamp to a wall and flip that component (Srivastava 2015).
    px = tl.load(start_ptr + entry * 2, mask=live, other=0)
    py = tl.load(start_ptr + entry * 2 + 1, mask=live, other=0)
    vx = tl.load(velocity_ptr + entry * 2, mask=live, other=0)
    vy = tl.load(velocity_ptr + entry * 2 + 1, mask=live, other=0)
    for _ in range(frame + 1):
        px += vx
        py += vy
        vx = tl.where((px <= 0) | (px >= ONE), -vx, vx)
        vy = tl.where((py <= 0) | (py >= ONE), -vy, vy)
        px = tl.minimum(tl.maximum(px, 0), ONE)
        py = tl.minimum(tl.maximum(py, 0), ONE)
    x0 = ((px * range_x) >> POSITION_BITS).to(tl.int32)
    y0 = ((py * range_y) >> POSITION_BITS).to(tl.int32)
    out_slot = (sequence * num_frames + frame) * num_slots + slot  # [SLOTS] int64
    tl.store(positions_ptr + out_slot * 2, x0.to(tl.float32), mask=live)
    tl.store(positions_ptr + out_slot * 2 + 1, y0.to(tl.float32), mask=live)
    sprite_ids = tl.load(sprite_ids_ptr + entry, mask=live, other=0)
    classes = (tl.load(labels_ptr + entry, mask=live, other=0) + 1).to(tl.int32)

    far: tl.constexpr = 1 << 30
    box_x0 = tl.full([SLOTS], far, tl.int32)
    box_y0 = tl.full([SLOTS], far, tl.int32)
    box_x1 = tl.full([SLOTS], -1, tl.int32)
    box_y1 = tl.full([SLOTS], -1, tl.int32)
    columns = tl.arange(0, BLOCK_W)[None, :]
    frame_base = (sequence * num_frames + frame) * height * width
    for top in range(0, height, TILE_ROWS):
        rows = top + tl.arange(0, TILE_ROWS)[:, None]
        on_canvas = (rows < height) & (columns < width)
        x_grid = columns + rows * 0  # [TILE_ROWS, BLOCK_W] coordinates for the box reductions
        y_grid = rows + columns * 0
        value = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        owner = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        semantic = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        for k in range(num_slots):
            mine = slot == k
            top_k = tl.sum(tl.where(mine, y0, 0))
            if (top_k < top + TILE_ROWS) & (top_k + sprite_h > top):  # digit reaches the tile
                u = rows - top_k
                v = columns - tl.sum(tl.where(mine, x0, 0))
                inside = on_canvas & (u >= 0) & (u < sprite_h) & (v >= 0) & (v < sprite_w)
                sprite = tl.sum(tl.where(mine, sprite_ids, 0)) * sprite_h * sprite_w
                layer = tl.load(sprites_ptr + sprite + u * sprite_w + v, mask=inside, other=0)
                layer = layer.to(tl.int32)
                if WRITE_MASKS:
                    wins = layer > value
                    owner = tl.where(wins, k + 1, owner)
                    semantic = tl.where(wins, tl.sum(tl.where(mine, classes, 0)), semantic)
                value = tl.maximum(value, layer)
                if WRITE_BOXES:
                    ink = layer > 0
                    low_x = tl.min(tl.where(ink, x_grid, far))
                    low_y = tl.min(tl.where(ink, y_grid, far))
                    high_x = tl.max(tl.where(ink, x_grid, -1))
                    high_y = tl.max(tl.where(ink, y_grid, -1))
                    box_x0 = tl.where(mine, tl.minimum(box_x0, low_x), box_x0)
                    box_y0 = tl.where(mine, tl.minimum(box_y0, low_y), box_y0)
                    box_x1 = tl.where(mine, tl.maximum(box_x1, high_x), box_x1)
                    box_y1 = tl.where(mine, tl.maximum(box_y1, high_y), box_y1)
        pixel = frame_base + rows * width + columns
        tl.store(frames_ptr + pixel, value.to(tl.uint8), mask=on_canvas)
        if WRITE_MASKS:
            tl.store(instance_ptr + pixel, owner.to(tl.uint8), mask=on_canvas)
            tl.store(semantic_ptr + pixel, semantic.to(tl.uint8), mask=on_canvas)
    if WRITE_BOXES:
        visible = box_x1 >= 0
        tl.store(visible_ptr + out_slot, visible, mask=live)
        tl.store(boxes_ptr + out_slot * 4, tl.where(visible, box_x0, -1), mask=live)
        tl.store(boxes_ptr + out_slot * 4 + 1, tl.where(visible, box_y0, -1), mask=live)
        tl.store(boxes_ptr + out_slot * 4 + 2, box_x1, mask=live)
        tl.store(boxes_ptr + out_slot * 4 + 3, box_y1, mask=live)


def _empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Output allocation (tests replace it to poison outputs before the launch)."""
    return torch.empty(shape, dtype=dtype, device=device)


def render(
    config: SceneConfig,
    params: SceneParams,
    sprites: SpriteBank,
    *,
    boxes: bool = True,
    masks: bool = True,
) -> Batch:
    """Render ``params`` with ``sprites`` into a :class:`~gpu_mmnist.Batch` in one launch."""
    device = sprites.device
    if params.start.device != device:
        raise ValueError(f"params are on {params.start.device} but the sprites on {device}")
    range_x, range_y = free_range(config, sprites)
    height, width = config.canvas
    num_seq, num_slots = params.sprite_ids.shape
    num_frames = config.num_frames
    frames = _empty((num_seq, num_frames, 1, height, width), torch.uint8, device)
    mask_shape = (num_seq, num_frames, height, width)
    instance = _empty(mask_shape, torch.uint8, device) if masks else None
    semantic = _empty(mask_shape, torch.uint8, device) if masks else None
    slot_shape = (num_seq, num_frames, num_slots)
    batch_boxes = _empty((*slot_shape, 4), torch.int32, device) if boxes else None
    visible = _empty(slot_shape, torch.bool, device) if boxes else None
    positions = _empty((*slot_shape, 2), torch.float32, device)

    block_w = triton.next_power_of_2(width)
    tile_rows = min(triton.next_power_of_2(height), max(1, TILE_ELEMENTS // block_w))
    _classic_frame_kernel[(num_seq * num_frames,)](
        sprites.images,
        params.sprite_ids,
        params.labels,
        params.start,
        params.velocity,
        frames,
        instance if masks else frames,  # unused pointers when the outputs are off
        semantic if masks else frames,
        batch_boxes if boxes else positions,
        visible if boxes else positions,
        positions,
        num_frames,
        num_slots,
        height,
        width,
        sprites.height,
        sprites.width,
        range_x,
        range_y,
        ONE=ONE,
        POSITION_BITS=POSITION_BITS,
        SLOTS=triton.next_power_of_2(num_slots),
        TILE_ROWS=tile_rows,
        BLOCK_W=block_w,
        WRITE_MASKS=masks,
        WRITE_BOXES=boxes,
        num_warps=4,
    )
    return Batch(
        frames=frames,
        labels=params.labels,
        sprite_ids=params.sprite_ids,
        positions=positions,
        indices=params.indices,
        boxes=batch_boxes,
        visible=visible,
        instance_masks=instance,
        semantic_masks=semantic,
    )
