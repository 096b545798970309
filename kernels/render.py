"""Triton kernel for every scene, and its launcher (same signature as
:func:`gpu_mmnist.reference.render`, whose module docstring is the specification).

One program renders one frame of one sequence. Per-frame poses (offsets, resampling matrices,
brightness) come from :func:`gpu_mmnist.motion.poses`, shared with the reference. The program
walks the canvas in row tiles; per tile it draws the background (shapes, then Philox pepper
noise), then composites the digit slots in order (``max``, ``sum`` or ``over``; a slot is skipped
in tiles its window does not reach), resampling rotated/scaled digits bilinearly in fixed point,
writes frames and, on request, instance and semantic masks, and reduces each slot's tight box
(and, for ``over``, its modal box) in the program. Integer arithmetic throughout, so the output
equals the reference bit for bit. Runs on CUDA, or on the CPU under ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpu_mmnist.batch import Batch
from gpu_mmnist.config import SceneConfig
from gpu_mmnist.motion import poses
from gpu_mmnist.reference import COMPOSITING_CODES, noise_levels, resample_window
from gpu_mmnist.rng import SPLIT_CODES
from gpu_mmnist.sampler import STREAM_NOISE, SceneParams, free_extent
from gpu_mmnist.sprites import SpriteBank

TILE_ELEMENTS = 4096  # pixels per tile: rows of the next power of two ≥ W


@triton.jit
def _tile_box(ink, x_grid, y_grid, mine, x0, y0, x1, y1, far: tl.constexpr):
    """Grow slot ``mine``'s box ``(x0, y0, x1, y1)`` ``[SLOTS]`` by the tile pixels ``ink``."""
    x0 = tl.where(mine, tl.minimum(x0, tl.min(tl.where(ink, x_grid, far))), x0)
    y0 = tl.where(mine, tl.minimum(y0, tl.min(tl.where(ink, y_grid, far))), y0)
    x1 = tl.where(mine, tl.maximum(x1, tl.max(tl.where(ink, x_grid, -1))), x1)
    y1 = tl.where(mine, tl.maximum(y1, tl.max(tl.where(ink, y_grid, -1))), y1)
    return x0, y0, x1, y1


@triton.jit
def _store_boxes(boxes_ptr, out_slot, live, x0, y0, x1, y1):
    """Store boxes ``[SLOTS]``; a slot without pixels (``x1 < 0``) gets ``[-1, -1, -1, -1]``."""
    visible = x1 >= 0
    tl.store(boxes_ptr + out_slot * 4, tl.where(visible, x0, -1), mask=live)
    tl.store(boxes_ptr + out_slot * 4 + 1, tl.where(visible, y0, -1), mask=live)
    tl.store(boxes_ptr + out_slot * 4 + 2, x1, mask=live)
    tl.store(boxes_ptr + out_slot * 4 + 3, y1, mask=live)


@triton.jit
def _scene_frame_kernel(
    sprites_ptr,
    sprite_ids_ptr,
    labels_ptr,
    offsets_ptr,
    matrix_ptr,
    light_ptr,
    indices_ptr,
    shape_kind_ptr,
    shape_size_ptr,
    shape_value_ptr,
    shape_offsets_ptr,
    frames_ptr,
    instance_ptr,
    semantic_ptr,
    boxes_ptr,
    visible_ptr,
    modal_ptr,
    seed,
    noise_code,
    noise_threshold,
    noise_low,
    noise_span,
    num_frames,
    num_slots,
    num_shapes,
    height,
    width,
    sprite_h,
    sprite_w,
    window_left,
    window_top,
    window_w,
    window_h,
    SLOTS: tl.constexpr,
    TILE_ROWS: tl.constexpr,
    BLOCK_W: tl.constexpr,
    TRANSFORMED: tl.constexpr,
    COMPOSITING: tl.constexpr,
    SHAPES: tl.constexpr,
    NOISE: tl.constexpr,
    WRITE_MASKS: tl.constexpr,
    WRITE_BOXES: tl.constexpr,
    WRITE_MODAL: tl.constexpr,
):
    program = tl.program_id(0).to(tl.int64)
    sequence = program // num_frames
    frame = program % num_frames
    slot = tl.arange(0, SLOTS)
    live = slot < num_slots
    out_slot = (sequence * num_frames + frame) * num_slots + slot  # [SLOTS] int64
    sprite_ids = tl.load(sprite_ids_ptr + sequence * num_slots + slot, mask=live, other=-1)
    classes = (tl.load(labels_ptr + sequence * num_slots + slot, mask=live, other=0) + 1).to(
        tl.int32
    )

    far: tl.constexpr = 1 << 30
    box_x0 = tl.full([SLOTS], far, tl.int32)
    box_y0 = tl.full([SLOTS], far, tl.int32)
    box_x1 = tl.full([SLOTS], -1, tl.int32)
    box_y1 = tl.full([SLOTS], -1, tl.int32)
    modal_x0 = tl.full([SLOTS], far, tl.int32)
    modal_y0 = tl.full([SLOTS], far, tl.int32)
    modal_x1 = tl.full([SLOTS], -1, tl.int32)
    modal_y1 = tl.full([SLOTS], -1, tl.int32)
    columns = tl.arange(0, BLOCK_W)[None, :]
    frame_base = (sequence * num_frames + frame) * height * width
    for top in range(0, height, TILE_ROWS):
        rows = top + tl.arange(0, TILE_ROWS)[:, None]
        on_canvas = (rows < height) & (columns < width)
        x_grid = columns + rows * 0  # [TILE_ROWS, BLOCK_W] coordinates for the box reductions
        y_grid = rows + columns * 0

        # Background: shapes (maximum), then pepper noise (maximum).
        back = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        if SHAPES:
            for s in range(num_shapes):
                entry = sequence * num_shapes + s
                kind = tl.load(shape_kind_ptr + entry)
                at = ((sequence * num_frames + frame) * num_shapes + s) * 2
                i = rows - tl.load(shape_offsets_ptr + at + 1).to(tl.int32)
                j = columns - tl.load(shape_offsets_ptr + at).to(tl.int32)
                w = tl.load(shape_size_ptr + entry * 2).to(tl.int32)
                h = tl.load(shape_size_ptr + entry * 2 + 1).to(tl.int32)
                col = 2 * j + 1
                row = 2 * i + 1
                inside = (i >= 0) & (j >= 0) & (col <= 2 * w) & (row <= 2 * h) & on_canvas
                circle = (col - w) * (col - w) * h * h + (row - h) * (row - h) * w * w <= (
                    w * w * h * h
                )
                triangle = 2 * tl.abs(col - w) * h <= w * row
                fill = inside & ((kind == 1) | ((kind == 0) & circle) | ((kind == 2) & triangle))
                value = tl.load(shape_value_ptr + entry).to(tl.int32)
                back = tl.maximum(back, tl.where(fill, value, 0))
        if NOISE:
            pixel = rows * width + columns
            block = pixel >> 2
            lane = pixel & 3
            index = tl.load(indices_ptr + sequence)
            zero = block * 0
            c0 = (zero + (index & 0xFFFFFFFF)).to(tl.uint32)
            c1 = (zero + ((index >> 32) & 0xFFFFFFFF)).to(tl.uint32)
            c2 = (zero + (noise_code + frame)).to(tl.uint32)
            r0, r1, r2, r3 = tl.philox(seed, c0, c1, c2, block.to(tl.uint32))
            word = tl.where(lane == 0, r0, tl.where(lane == 1, r1, tl.where(lane == 2, r2, r3)))
            word = word.to(tl.int64)
            noisy = (word >> 8) < noise_threshold
            pepper = noise_low + (((word & 255) * noise_span) >> 8)
            back = tl.maximum(back, tl.where(noisy & on_canvas, pepper.to(tl.int32), 0))

        best = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)  # brightest digit so far (max, sum)
        total = back  # sum: running total; over: everything below
        owner = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        semantic = tl.zeros([TILE_ROWS, BLOCK_W], tl.int32)
        for k in range(num_slots):
            mine = slot == k
            sprite_id = tl.sum(tl.where(mine, sprite_ids, 0))
            at = ((sequence * num_frames + frame) * num_slots + k) * 2
            x0 = tl.load(offsets_ptr + at).to(tl.int32)
            y0 = tl.load(offsets_ptr + at + 1).to(tl.int32)
            reach_top = y0 + window_top
            if (sprite_id >= 0) & (reach_top < top + TILE_ROWS) & (reach_top + window_h > top):
                dx = columns - x0
                dy = rows - y0
                sprite = sprites_ptr + sprite_id.to(tl.int64) * sprite_h * sprite_w
                if TRANSFORMED:
                    pose = ((sequence * num_frames + frame) * num_slots + k) * 4
                    m00 = tl.load(matrix_ptr + pose)
                    m01 = tl.load(matrix_ptr + pose + 1)
                    m10 = tl.load(matrix_ptr + pose + 2)
                    m11 = tl.load(matrix_ptr + pose + 3)
                    light = tl.load(light_ptr + pose // 4)
                    in_window = (
                        on_canvas
                        & (dx >= window_left)
                        & (dx < window_left + window_w)
                        & (dy >= window_top)
                        & (dy < window_top + window_h)
                    )
                    x2 = 2 * dx - (sprite_w - 1)
                    y2 = 2 * dy - (sprite_h - 1)
                    u8 = ((m00 * x2 + (sprite_w - 1) * 65536) >> 9) + ((m01 * y2) >> 9)
                    v8 = ((m10 * x2) >> 9) + ((m11 * y2 + (sprite_h - 1) * 65536) >> 9)
                    iu = u8 >> 8
                    iv = v8 >> 8
                    fu = u8 & 255
                    fv = v8 & 255
                    u_in = (iu >= 0) & (iu < sprite_w)
                    u1_in = (iu >= -1) & (iu < sprite_w - 1)
                    v_in = in_window & (iv >= 0) & (iv < sprite_h)
                    v1_in = in_window & (iv >= -1) & (iv < sprite_h - 1)
                    tap = sprite + iv * sprite_w + iu
                    p00 = tl.load(tap, mask=v_in & u_in, other=0).to(tl.int32)
                    p01 = tl.load(tap + 1, mask=v_in & u1_in, other=0).to(tl.int32)
                    p10 = tl.load(tap + sprite_w, mask=v1_in & u_in, other=0).to(tl.int32)
                    p11 = tl.load(tap + sprite_w + 1, mask=v1_in & u1_in, other=0).to(tl.int32)
                    upper = p00 * (256 - fu) + p01 * fu
                    lower = p10 * (256 - fu) + p11 * fu
                    alpha = (upper * (256 - fv) + lower * fv + 32768) >> 16
                    layer = (alpha * light + 128) >> 8
                else:
                    inside = on_canvas & (dy >= 0) & (dy < sprite_h) & (dx >= 0) & (dx < sprite_w)
                    alpha = tl.load(sprite + dy * sprite_w + dx, mask=inside, other=0)
                    alpha = alpha.to(tl.int32)
                    layer = alpha
                if COMPOSITING == 2:  # over: topmost drawn digit owns the pixel
                    total = layer + ((255 - alpha) * total + 127) // 255
                    wins = layer > 0
                else:
                    wins = layer > best
                    best = tl.maximum(best, layer)
                    if COMPOSITING == 1:
                        total = total + layer
                if WRITE_MASKS or WRITE_MODAL:
                    owner = tl.where(wins, k + 1, owner)
                    semantic = tl.where(wins, tl.sum(tl.where(mine, classes, 0)), semantic)
                if WRITE_BOXES:
                    box_x0, box_y0, box_x1, box_y1 = _tile_box(
                        layer > 0, x_grid, y_grid, mine, box_x0, box_y0, box_x1, box_y1, far
                    )
        if COMPOSITING == 0:
            value = tl.maximum(best, back)
        elif COMPOSITING == 1:
            value = tl.minimum(total, 255)
        else:
            value = total
        pixel = frame_base + rows * width + columns
        tl.store(frames_ptr + pixel, value.to(tl.uint8), mask=on_canvas)
        if WRITE_MASKS:
            tl.store(instance_ptr + pixel, owner.to(tl.uint8), mask=on_canvas)
            tl.store(semantic_ptr + pixel, semantic.to(tl.uint8), mask=on_canvas)
        if WRITE_MODAL:
            for k in range(num_slots):
                modal_x0, modal_y0, modal_x1, modal_y1 = _tile_box(
                    (owner == k + 1) & on_canvas, x_grid, y_grid, slot == k,
                    modal_x0, modal_y0, modal_x1, modal_y1, far,
                )  # fmt: skip
    if WRITE_BOXES:
        tl.store(visible_ptr + out_slot, box_x1 >= 0, mask=live)
        _store_boxes(boxes_ptr, out_slot, live, box_x0, box_y0, box_x1, box_y1)
    if WRITE_MODAL:
        _store_boxes(modal_ptr, out_slot, live, modal_x0, modal_y0, modal_x1, modal_y1)


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
    pose = poses(config, params, free_extent(config, sprites))
    height, width = config.canvas
    num_seq, num_slots = params.sprite_ids.shape
    num_frames = config.num_frames
    modal = boxes and config.compositing == "over"
    frames = _empty((num_seq, num_frames, 1, height, width), torch.uint8, device)
    mask_shape = (num_seq, num_frames, height, width)
    instance = _empty(mask_shape, torch.uint8, device) if masks else None
    semantic = _empty(mask_shape, torch.uint8, device) if masks else None
    slot_shape = (num_seq, num_frames, num_slots)
    batch_boxes = _empty((*slot_shape, 4), torch.int32, device) if boxes else None
    visible = _empty(slot_shape, torch.bool, device) if boxes else None
    visible_boxes = _empty((*slot_shape, 4), torch.int32, device) if modal else None

    left, top, window_w, window_h = resample_window(config, sprites)
    threshold, low, spread = noise_levels(config)
    block_w = triton.next_power_of_2(width)
    tile_rows = min(triton.next_power_of_2(height), max(1, TILE_ELEMENTS // block_w))
    num_shapes = params.shape_kind.shape[1]
    unused = frames  # pointers of outputs that are off
    _scene_frame_kernel[(num_seq * num_frames,)](
        sprites.images,
        params.sprite_ids,
        params.labels,
        pose.offsets,
        pose.matrix,
        pose.light,
        params.indices,
        params.shape_kind if num_shapes else unused,
        params.shape_size.contiguous() if num_shapes else unused,
        params.shape_value if num_shapes else unused,
        pose.shape_offsets.contiguous() if num_shapes else unused,
        frames,
        instance if masks else unused,
        semantic if masks else unused,
        batch_boxes if boxes else unused,
        visible if boxes else unused,
        visible_boxes if modal else unused,
        params.seed,
        (SPLIT_CODES[params.split] << 24) | (STREAM_NOISE << 16),
        threshold,
        low,
        spread,
        num_frames,
        num_slots,
        num_shapes,
        height,
        width,
        sprites.height,
        sprites.width,
        left,
        top,
        window_w,
        window_h,
        SLOTS=triton.next_power_of_2(num_slots),
        TILE_ROWS=tile_rows,
        BLOCK_W=block_w,
        TRANSFORMED=config.transformed,
        COMPOSITING=COMPOSITING_CODES[config.compositing],
        SHAPES=num_shapes > 0,
        NOISE=config.noise_density > 0,
        WRITE_MASKS=masks,
        WRITE_BOXES=boxes,
        WRITE_MODAL=modal,
        num_warps=4,
    )
    return Batch(
        frames=frames,
        labels=params.labels,
        sprite_ids=params.sprite_ids,
        positions=pose.offsets.to(torch.float32),
        indices=params.indices,
        boxes=batch_boxes,
        visible=visible,
        visible_boxes=visible_boxes,
        instance_masks=instance,
        semantic_masks=semantic,
    )
