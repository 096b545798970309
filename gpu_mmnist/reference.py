"""The pure-torch renderer: the specification, the CPU path and the test oracle.

Convention: x = column, y = row, origin at the top-left pixel, y grows downward; a digit's position
is its sprite box's top-left corner in pixels (:mod:`gpu_mmnist.motion` computes them). Every
pixel, mask and box is decided by integer arithmetic (floats appear only where they hold small
integers or dyadic fractions exactly), so any other backend can match it bit for bit.

Resampling (rotation, scale, brightness), per output pixel at ``(dx, dy)`` columns/rows from the
sprite box's top-left, with ``m = [m00, m01, m10, m11]`` the ``Q16`` matrix of
:class:`~gpu_mmnist.motion.Poses` and the half-pixel offsets ``X = 2·dx - (w - 1)`` and
``Y = 2·dy - (h - 1)`` from the sprite centre::

    u8 = ((m00·X + (w - 1)·2**16) >> 9) + ((m01·Y) >> 9)      # sprite column, Q8
    v8 = ((m10·X) >> 9) + ((m11·Y + (h - 1)·2**16) >> 9)      # sprite row, Q8
    (iu, fu), (iv, fv) = (u8 >> 8, u8 & 255), (v8 >> 8, v8 & 255)
    top = s[iv, iu]·(256 - fu) + s[iv, iu + 1]·fu              # taps outside the sprite are 0
    bottom = s[iv + 1, iu]·(256 - fu) + s[iv + 1, iu + 1]·fu
    alpha = (top·(256 - fv) + bottom·fv + 2**15) >> 16
    value = (alpha·light + 128) >> 8                          # light in Q8, 256 = 1.0

only inside the digit's resampling window (:func:`resample_window`); 0 elsewhere.

Compositing, slot by slot over the background (shapes, then pepper noise, by maximum):
``max`` keeps the brightest value; ``sum`` adds and clips at 255; ``over`` draws slot ``k`` over
everything below as ``value + ((255 - alpha)·below + 127) // 255``. Masks ignore the background:
for ``max``/``sum`` a pixel belongs to the brightest digit there (ties to the lower slot), for
``over`` to the topmost digit with a non-zero value there.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .batch import Batch
from .buffers import empty_uint8
from .config import SceneConfig, span
from .motion import poses
from .rng import counter, philox4x32
from .sampler import STREAM_NOISE, SceneParams, fixed_span, free_extent
from .sprites import SpriteBank

# Sequences are composited in chunks whose frames fit in the CPU caches; a GPU takes big chunks.
CHUNK_BYTES = {"cpu": 1 << 20}
CHUNK_BYTES_OTHER = 1 << 28
PATCH_ELEMENTS = {"cpu": 1 << 17}  # resampled pixels per step on the CPU (cache-sized)
PATCH_ELEMENTS_OTHER = 1 << 26

COMPOSITING_CODES = {"max": 0, "sum": 1, "over": 2}


def resample_window(config: SceneConfig, sprites: SpriteBank) -> tuple[int, int, int, int]:
    """``(left, top, width, height)`` of the pixels a resampled digit may cover, relative to its
    sprite box's top-left; ``(0, 0, w, h)`` when digits are not rotated or scaled.

    A sample is non-zero only within ``√2`` (one bilinear tap each way) of an ink pixel in
    sprite space, so the reach on screen is ``scale · (ink reach + √2)``, plus a margin for
    fixed-point rounding: a conservative bound, so the window never clips a digit (and so
    never changes a pixel). The ink reach is the bank's (:attr:`SpriteBank.ink_reach`).
    """
    height, width = sprites.height, sprites.width
    rotates = span(config.angle) != (0.0, 0.0) or span(config.rotation) != (0.0, 0.0)
    if not rotates and span(config.scale) == (1.0, 1.0):
        return 0, 0, width, height
    far_x, far_y, far = sprites.ink_reach
    scale = span(config.scale)[1] + 1e-3
    if rotates:
        reach_x = reach_y = scale * (math.sqrt(far) / 2 + 1.5) + 0.5
    else:
        reach_x, reach_y = (scale * (v / 2 + 1.5) + 0.5 for v in (far_x, far_y))
    left = math.floor((width - 1) / 2 - reach_x)
    top = math.floor((height - 1) / 2 - reach_y)
    right = math.ceil((width - 1) / 2 + reach_x) + 1
    bottom = math.ceil((height - 1) / 2 + reach_y) + 1
    return left, top, right - left, bottom - top


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


def _extent_boxes(
    rows: torch.Tensor, cols: torch.Tensor, origin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes from per-row / per-column "has ink" flags (``[..., R]``, ``[..., C]``) whose first
    row/column sits at pixel ``origin [..., 2]`` ``(x, y)``."""
    visible = rows.any(dim=-1)
    first_col = cols.int().argmax(dim=-1)
    last_col = cols.shape[-1] - 1 - cols.flip(-1).int().argmax(dim=-1)
    first_row = rows.int().argmax(dim=-1)
    last_row = rows.shape[-1] - 1 - rows.flip(-1).int().argmax(dim=-1)
    box = torch.stack([first_col, first_row, last_col, last_row], dim=-1) + origin.repeat(
        *([1] * (origin.dim() - 1)), 2
    )
    return torch.where(visible[..., None], box, -1).to(torch.int32), visible


def mask_boxes(instance: torch.Tensor, num_slots: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Modal boxes: the pixels each slot owns in ``instance [B, T, H, W]`` → ``[B, T, K, 4]``."""
    boxes, visible = [], []
    origin = torch.zeros((*instance.shape[:2], 2), dtype=torch.int64, device=instance.device)
    for slot in range(num_slots):
        owned = instance == slot + 1
        box, seen = _extent_boxes(owned.any(dim=3), owned.any(dim=2), origin)
        boxes.append(box)
        visible.append(seen)
    return torch.stack(boxes, dim=2), torch.stack(visible, dim=2)


def noise_levels(config: SceneConfig) -> tuple[int, int, int]:
    """``(threshold, low, spread)`` of the pepper noise: a pixel's word is noisy when
    ``word >> 8 < threshold``; its value is ``low + ((word & 255) · spread) >> 8``."""
    low, high = fixed_span(config.noise_brightness, 255)
    return round(config.noise_density * (1 << 24)), low, high - low + 1


def pepper_noise(config: SceneConfig, indices: torch.Tensor, seed: int, split: str) -> torch.Tensor:
    """uint8 ``[B, T, H, W]`` pepper noise: pixel ``p = y·W + x`` of frame ``t`` takes word
    ``p % 4`` of Philox at counter (index, split, STREAM_NOISE, slot = t, sub = p // 4); it is
    noisy when ``word >> 8 < round(density · 2**24)``, with value ``lo + ((word & 255)·(hi - lo +
    1)) >> 8`` for the brightness range ``[lo, hi]`` in 0…255."""
    height, width = config.canvas
    device = indices.device
    threshold, low, spread = noise_levels(config)
    frames = torch.arange(config.num_frames, device=device)[None, :, None]
    blocks = torch.arange((height * width + 3) // 4, device=device)[None, None, :]
    words = philox4x32(*counter(indices[:, None, None], split, STREAM_NOISE, frames, blocks), seed)
    word = torch.stack(words, dim=-1).flatten(2)[..., : height * width]
    value = low + (((word & 255) * spread) >> 8)
    noise = torch.where((word >> 8) < threshold, value, 0).to(torch.uint8)
    return noise.view(-1, config.num_frames, height, width)


def shape_images(config: SceneConfig, params: SceneParams) -> torch.Tensor:
    """uint8 ``[B, S, s, s]`` (``s`` = largest shape side) images of the background shapes.

    A shape of ``w × h`` fills pixels ``(i, j)`` (row, column) of its box: a rectangle all of
    them; a circle (ellipse) where ``(2j + 1 - w)²·h² + (2i + 1 - h)²·w² <= w²·h²``; a triangle
    (apex at the top centre) where ``2·|2j + 1 - w|·h <= w·(2i + 1)``.
    """
    side = config.shape_size[1]
    device = params.indices.device
    grid = torch.arange(side, device=device)
    col = (2 * grid + 1)[None, None, None, :]
    row = (2 * grid + 1)[None, None, :, None]
    w = params.shape_size[..., 0, None, None]
    h = params.shape_size[..., 1, None, None]
    inside = (col <= 2 * w) & (row <= 2 * h)
    kind = params.shape_kind[..., None, None]
    circle = (col - w) ** 2 * h * h + (row - h) ** 2 * w * w <= w * w * h * h
    triangle = 2 * (col - w).abs() * h <= w * row
    fill = inside & ((kind == 1) | ((kind == 0) & circle) | ((kind == 2) & triangle))
    return torch.where(fill, params.shape_value[..., None, None], 0).to(torch.uint8)


def _chunk_size(device: torch.device, frame_bytes: int) -> int:
    return max(1, CHUNK_BYTES.get(device.type, CHUNK_BYTES_OTHER) // frame_bytes)


class _Layers:
    """Images placed at whole-pixel offsets on a ``H × W`` canvas, as rows of an overlapping view.

    Each image sits in a zero-padded buffer whose row pitch is the canvas width, so its layer in
    a frame is one contiguous ``H·W`` window (a gather of rows, no per-pixel indexing). Valid
    for offsets ``x`` in ``[0, W - ink width]`` and ``y`` in ``[0, H - 1]``.
    """

    def __init__(self, count: int, image: tuple[int, int], canvas: tuple[int, int], device):
        self.height, self.width = canvas
        self.image = image
        self.pad_top = self.height
        rows = self.pad_top + self.height + 1
        self.layer_bytes = rows * self.width
        self.buffer = empty_uint8((count, rows, self.width), device).zero_()
        self.windows = self.buffer.view(-1).unfold(0, self.height * self.width, 1)

    def fill(self, images: torch.Tensor) -> None:
        """Put ``images [n, h, w]`` in the first ``n`` slots of the buffer."""
        h, w = images.shape[-2:]
        self.buffer[: images.shape[0], self.pad_top : self.pad_top + h, :w] = images

    def starts(self, offsets: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """Window rows of buffer slots ``slot`` (broadcast with ``offsets [..., 2]``)."""
        return (
            (self.pad_top - offsets[..., 1]) * self.width
            - offsets[..., 0]
            + slot * self.layer_bytes
        )

    def gather(self, starts: torch.Tensor, out: torch.Tensor) -> None:
        rows = starts.reshape(-1)
        torch.index_select(self.windows, 0, rows, out=out.view(rows.shape[0], -1))


def tap_padding(
    config: SceneConfig, window: tuple[int, int, int, int], size: tuple[int, int]
) -> int:
    """Zero pixels around a sprite that every bilinear tap of ``window`` lands in (or on the
    sprite): the window's farthest offset from the centre, over the smallest scale, in any
    rotation (``|cos| + |sin| <= √2``), plus slack for fixed-point rounding."""
    height, width = size
    left, top, patch_w, patch_h = window
    far = max(
        abs(2 * left - (width - 1)),
        abs(2 * (left + patch_w - 1) - (width - 1)),
        abs(2 * top - (height - 1)),
        abs(2 * (top + patch_h - 1) - (height - 1)),
    )  # half pixels
    reach = (math.sqrt(2) / span(config.scale)[0] + 1e-3) * far / 2 + 0.05
    return max(2, math.ceil(reach - (min(height, width) - 1) / 2) + 2)


def _resample(
    table: torch.Tensor,
    rows: torch.Tensor,
    matrix: torch.Tensor,
    light: torch.Tensor,
    window: tuple[int, int, int, int],
    size: tuple[int, int],
    pad: int,
    alpha: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(value, alpha)`` uint8 ``[n, Ph, Pw]``: sprites ``table[rows]`` (float32, zero-padded
    by ``pad``, see :func:`tap_padding`) resampled by ``matrix [n, 4]`` with brightness
    ``light [n]`` over ``window`` (see the module docstring); ``alpha`` only when asked.

    The arithmetic is the integer recipe; interpolation runs in float32 on values that hold it
    exactly (multiples of 2**-16 below 256), so the result is the same bit for bit.
    """
    height, width = size
    left, top, patch_w, patch_h = window
    device = table.device
    pitch = table.shape[-1]
    x2 = (2 * (torch.arange(patch_w, device=device) + left) - (width - 1)).int()
    y2 = (2 * (torch.arange(patch_h, device=device) + top) - (height - 1)).int()
    m = matrix.int()
    col_u = ((m[:, 0, None] * x2 + (width - 1) * 65536) >> 9).float()[:, None, :]
    row_u = ((m[:, 1, None] * y2) >> 9).float()[:, :, None]
    col_v = ((m[:, 2, None] * x2) >> 9).float()[:, None, :]
    row_v = ((m[:, 3, None] * y2 + (height - 1) * 65536) >> 9).float()[:, :, None]
    u = (col_u + row_u).mul_(1 / 256)
    v = (col_v + row_v).mul_(1 / 256)
    iu = u.floor()
    iv = v.floor()
    fu = u.sub_(iu)
    fv = v.sub_(iv)
    base = (rows * table[0].numel() + pad * pitch + pad).float()
    index = iv.mul_(pitch).add_(iu).add_(base[:, None, None]).long()
    flat = table.view(-1)
    upper = torch.lerp(flat.take(index), flat.take(index + 1), fu)
    lower = torch.lerp(flat.take(index + pitch), flat.take(index + pitch + 1), fu)
    opacity = torch.lerp(upper, lower, fv).add_(0.5).floor_()
    value = (opacity * (light.float() / 256)[:, None, None]).add_(0.5).floor_()
    return value.to(torch.uint8), opacity.to(torch.uint8) if alpha else None


def render(
    config: SceneConfig,
    params: SceneParams,
    sprites: SpriteBank,
    *,
    boxes: bool = True,
    masks: bool = True,
) -> Batch:
    """Render ``params`` with ``sprites`` (both on one device) into a :class:`Batch`.

    Layers are placed as contiguous windows of zero-padded buffers (:class:`_Layers`): the
    sprites themselves for plain scenes, or per-frame resampled patches, on a canvas enlarged by
    the patches' reach (then cropped), and composited slot by slot in chunks of sequences.
    """
    height, width = config.canvas
    pose = poses(config, params, free_extent(config, sprites))
    num_seq, num_frames, num_slots = pose.offsets.shape[:3]
    device = pose.offsets.device
    left, top, patch_w, patch_h = window = resample_window(config, sprites)
    pad_x = max(0, -left, left + patch_w - sprites.width)
    pad_y = max(0, -top, top + patch_h - sprites.height)
    big = (height + 2 * pad_y, width + 2 * pad_x)  # the enlarged canvas
    plane = big[0] * big[1]
    cropped = pad_x > 0 or pad_y > 0
    over = config.compositing == "over"
    owners = masks or (boxes and over)

    frames = empty_uint8((num_seq, num_frames, 1, height, width), device)
    mask_shape = (num_seq, num_frames, height, width)
    instance = empty_uint8(mask_shape, device) if owners else None
    semantic = empty_uint8(mask_shape, device) if owners else None

    plain = not config.transformed
    offsets = pose.offsets + torch.tensor([left + pad_x, top + pad_y], device=device)
    chunk = min(num_seq, _chunk_size(device, num_frames * plane))
    per_frame = 1 if plain else num_frames
    values = _Layers(chunk * per_frame * num_slots, (patch_h, patch_w), big, device)
    # Alpha differs from the value only for ``over`` with resampled (dimmed) digits.
    alphas = (
        _Layers(chunk * per_frame * num_slots, (patch_h, patch_w), big, device)
        if over and not plain
        else values
    )
    num_shapes = config.max_shapes
    side = config.shape_size[1]
    shapes = _Layers(chunk * num_shapes, (side, side), big, device) if num_shapes else None
    shape_pictures = shape_images(config, params) if num_shapes else None
    shape_offsets = pose.shape_offsets + torch.tensor([pad_x, pad_y], device=device)
    background = num_shapes > 0 or config.noise_density > 0
    work = empty_uint8((4, chunk, num_frames * plane), device)
    scratch = empty_uint8((3, chunk, num_frames * plane), device)
    wide = (  # the accumulator of sum / over
        torch.empty(
            (chunk, num_frames * plane), dtype=torch.int32 if over else torch.int16, device=device
        )
        if config.compositing != "max"
        else None
    )

    active = params.active
    sprite_images = sprites.images[params.sprite_ids.clamp(min=0)] * active[..., None, None]
    classes = torch.where(active, params.labels + 1, 0).to(torch.uint8)
    light = torch.where(active[:, None], pose.light, 0)
    batch_boxes = torch.full((num_seq, num_frames, num_slots, 4), -1, dtype=torch.int32,
                             device=device)  # fmt: skip
    visible = torch.zeros((num_seq, num_frames, num_slots), dtype=torch.bool, device=device)
    for first in range(0, num_seq, chunk):
        last = min(first + chunk, num_seq)
        count = last - first
        if plain:
            values.fill(sprite_images[first:last].flatten(0, 1))
            slot_ids = torch.arange(num_slots, device=device).view(1, 1, num_slots)
            slot_ids = slot_ids + num_slots * torch.arange(count, device=device).view(count, 1, 1)
        else:
            _fill_patches(
                config,
                sprite_images[first:last],
                pose.matrix[first:last],
                light[first:last],
                window,
                values,
                alphas,
                (pose.offsets[first:last] + torch.tensor([left, top], device=device)),
                (batch_boxes[first:last], visible[first:last]) if boxes else None,
            )
            slot_ids = torch.arange(count * num_frames * num_slots, device=device)
            slot_ids = slot_ids.view(count, num_frames, num_slots)
        starts = values.starts(offsets[first:last], slot_ids)

        back = None
        if background:
            back = work[3, :count].view(count, num_frames, *big)
            _background(
                config, params, first, last, shapes, shape_pictures, shape_offsets,
                (pad_x, pad_y), back,
            )  # fmt: skip
            back = back.view(count, -1)
        target = work[0, :count] if cropped else frames[first:last].view(count, -1)
        if owners:
            inst = work[1, :count] if cropped else instance[first:last].view(count, -1)
            sem = work[2, :count] if cropped else semantic[first:last].view(count, -1)
        else:
            inst = sem = None
        _composite(
            config.compositing,
            lambda slot, out, rows=starts: values.gather(rows[:, :, slot], out),
            lambda slot, out, rows=starts: alphas.gather(rows[:, :, slot], out),
            num_slots,
            target,
            inst,
            sem,
            classes[first:last],
            back,
            scratch[:, :count],
            wide[:count] if wide is not None else None,
        )
        if cropped:
            crop = (
                slice(None),
                slice(None),
                slice(pad_y, pad_y + height),
                slice(pad_x, pad_x + width),
            )
            view = (count, num_frames, *big)
            frames[first:last, :, 0] = target.view(view)[crop]
            if owners:
                instance[first:last] = inst.view(view)[crop]
                semantic[first:last] = sem.view(view)[crop]

    if boxes and plain:
        ink = sprites.ink_boxes[params.sprite_ids.clamp(min=0)]
        batch_boxes, visible = tight_boxes(ink, pose.offsets, config.canvas)
        batch_boxes = torch.where(active[:, None, :, None], batch_boxes, -1)
        visible = visible & active[:, None]
    visible_boxes = mask_boxes(instance, num_slots)[0] if boxes and over else None
    return Batch(
        frames=frames,
        labels=params.labels,
        sprite_ids=params.sprite_ids,
        positions=pose.offsets.to(torch.float32),
        indices=params.indices,
        boxes=batch_boxes if boxes else None,
        visible=visible if boxes else None,
        visible_boxes=visible_boxes,
        instance_masks=instance if masks else None,
        semantic_masks=semantic if masks else None,
    )


def _fill_patches(
    config: SceneConfig,
    images: torch.Tensor,
    matrix: torch.Tensor,
    light: torch.Tensor,
    window: tuple[int, int, int, int],
    values: _Layers,
    alphas: _Layers,
    origins: torch.Tensor,
    boxes: tuple[torch.Tensor, torch.Tensor] | None,
) -> None:
    """Resample every (sequence, frame, slot) of a chunk (``images [C, K, h, w]``) into the layer
    buffers, in groups that fit the caches; reduce the amodal boxes from the patches if asked."""
    count, num_frames, num_slots = matrix.shape[:3]
    _, _, patch_w, patch_h = window
    height, width = config.canvas
    size = tuple(images.shape[-2:])
    pad = tap_padding(config, window, size)
    table = torch.zeros(
        (count * num_slots, size[0] + 2 * pad, size[1] + 2 * pad),
        dtype=torch.float32,
        device=images.device,
    )
    table[:, pad : pad + size[0], pad : pad + size[1]] = images.flatten(0, 1)
    total = count * num_frames * num_slots
    sprite_of = (
        (
            torch.arange(count, device=images.device)[:, None, None] * num_slots
            + torch.arange(num_slots, device=images.device)[None, None, :]
        )
        .expand(count, num_frames, num_slots)
        .reshape(-1)
    )
    matrix, light, origins = matrix.reshape(-1, 4), light.reshape(-1), origins.reshape(-1, 2)
    elements = PATCH_ELEMENTS.get(images.device.type, PATCH_ELEMENTS_OTHER)
    group = max(1, elements // (patch_w * patch_h))
    for start in range(0, total, group):
        stop = min(start + group, total)
        value, alpha = _resample(
            table, sprite_of[start:stop], matrix[start:stop], light[start:stop], window, size, pad,
            alpha=alphas is not values,
        )  # fmt: skip
        values.buffer[start:stop, values.pad_top : values.pad_top + patch_h, :patch_w] = value
        if alpha is not None:
            alphas.buffer[start:stop, alphas.pad_top : alphas.pad_top + patch_h, :patch_w] = alpha
        if boxes is not None:
            origin = origins[start:stop]
            col_on = origin[:, 0, None] + torch.arange(patch_w, device=origin.device)
            col_on = (col_on >= 0) & (col_on < width)
            row_on = origin[:, 1, None] + torch.arange(patch_h, device=origin.device)
            row_on = (row_on >= 0) & (row_on < height)
            ink = value > 0
            rows = (ink & col_on[:, None, :]).any(dim=2) & row_on
            cols = (ink & row_on[:, :, None]).any(dim=1) & col_on
            box, seen = _extent_boxes(rows, cols, origin)
            boxes[0].view(-1, 4)[start:stop] = box
            boxes[1].view(-1)[start:stop] = seen


def _background(
    config: SceneConfig,
    params: SceneParams,
    first: int,
    last: int,
    shapes: _Layers | None,
    images: torch.Tensor | None,
    shape_offsets: torch.Tensor,
    pad: tuple[int, int],
    out: torch.Tensor,
) -> None:
    """Shapes (maximum over shape slots), then pepper noise (maximum), into ``out [C, T, *big]``
    (the canvas sits at ``pad`` = ``(x, y)`` in it)."""
    height, width = config.canvas
    pad_x, pad_y = pad
    out.zero_()
    count = last - first
    if shapes is not None:
        num_shapes = config.max_shapes
        shapes.fill(images[first:last].flatten(0, 1))
        slot_ids = torch.arange(count * num_shapes, device=out.device).view(count, 1, num_shapes)
        starts = shapes.starts(shape_offsets[first:last], slot_ids)
        layer = torch.empty_like(out).view(count, -1)
        flat = out.view(count, -1)
        for slot in range(num_shapes):
            shapes.gather(starts[:, :, slot], layer)
            torch.maximum(flat, layer, out=flat)
    if config.noise_density > 0:
        noise = pepper_noise(config, params.indices[first:last], params.seed, params.split)
        inner = out[:, :, pad_y : pad_y + height, pad_x : pad_x + width]
        torch.maximum(inner, noise, out=inner)


def _composite(
    mode: str,
    value_into: Callable[[int, torch.Tensor], None],
    alpha_into: Callable[[int, torch.Tensor], None],
    num_slots: int,
    frame: torch.Tensor,
    instance: torch.Tensor | None,
    semantic: torch.Tensor | None,
    classes: torch.Tensor,
    background: torch.Tensor | None,
    scratch: torch.Tensor,
    wide: torch.Tensor | None,
) -> None:
    """Composite slot layers into ``frame`` (and the masks), all uint8 ``[C, T·H·W]`` views.

    ``value_into(k, out)`` / ``alpha_into(k, out)`` write slot ``k``'s value / alpha layer;
    ``scratch`` is uint8 ``[3, C, T·H·W]``, ``wide`` an int16 (``sum``) or int32 (``over``)
    ``[C, T·H·W]`` accumulator (None for ``max``). For ``max``/``sum`` a later slot takes a
    pixel only where it is strictly brighter than every earlier one, so ties stay with the lower
    slot. Mask updates use uint8 arithmetic (no ``where``, which is slow): the owner is
    ``max(owner, wins · (k + 1))`` since ``k + 1`` exceeds every earlier owner, and the class is
    ``class + wins · (class_k − class)`` modulo 256.
    """
    layer, won, spare = scratch[0], scratch[1], scratch[2]
    wins = won.view(torch.bool)
    if mode == "over":
        below = wide
        if background is None:
            below.zero_()
        else:
            below.copy_(background)
        if instance is not None:
            instance.zero_()
            semantic.zero_()
        for slot in range(num_slots):
            value_into(slot, layer)
            alpha_into(slot, spare)
            below.mul_(255 - spare.int()).add_(127).floor_divide_(255).add_(layer)
            if instance is not None:
                torch.gt(layer, 0, out=wins)
                torch.sub(slot + 1, instance, out=spare)
                instance.addcmul_(won, spare)
                torch.sub(classes[:, slot : slot + 1], semantic, out=spare)
                semantic.addcmul_(won, spare)
        frame.copy_(below)
        return

    value_into(0, frame)  # the brightest digit so far
    if mode == "sum":
        wide.copy_(frame)
    if instance is not None:
        torch.minimum(frame, torch.ones((), dtype=torch.uint8, device=frame.device), out=instance)
        torch.mul(instance, classes[:, :1], out=semantic)
    for slot in range(1, num_slots):
        value_into(slot, layer)
        if mode == "sum":
            wide.add_(layer)
        if instance is not None:
            torch.gt(layer, frame, out=wins)
            torch.mul(won, slot + 1, out=spare)
            torch.maximum(instance, spare, out=instance)
            torch.sub(classes[:, slot : slot + 1], semantic, out=spare)
            semantic.addcmul_(won, spare)
        torch.maximum(frame, layer, out=frame)
    if mode == "sum":
        if background is not None:
            wide.add_(background)
        frame.copy_(wide.clamp_(max=255))
    elif background is not None:
        torch.maximum(frame, background, out=frame)
