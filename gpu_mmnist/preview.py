"""Pictures of a :class:`~gpu_mmnist.batch.Batch`: a PNG contact sheet and an animated GIF.

Conventions (the same as :mod:`gpu_mmnist.batch`):

* frames are ``uint8`` ``[B, T, C, H, W]`` with ``C = 1`` (grey) or ``3`` (RGB), 0 = background;
* boxes are ``[x_min, y_min, x_max, y_max]`` *inclusive* pixel bounds, ``x`` = column and
  ``y`` = row; a slot with ``visible == False`` (or label ``-1``) is not drawn;
* images are upscaled by an integer ``scale`` with nearest-neighbour, so source pixel
  ``(row, col)`` covers the output block ``[row * scale, (row + 1) * scale)`` ×
  ``[col * scale, (col + 1) * scale)`` of its cell; a box is outlined on the outermost output
  pixels of that block range, i.e. its top-left output pixel is ``(y_min * scale, x_min * scale)``
  and its bottom-right one ``((y_max + 1) * scale - 1, (x_max + 1) * scale - 1)`` (the outline
  lies *on* the digit's extreme pixels, never outside the box);
* a box's colour is ``PALETTE[label % len(PALETTE)]``, its class name is ``classes[label]``
  (default ``str(label)``);
* mask overlay (``masks=True`` and a batch with ``semantic_masks``, 0 = background and
  ``1 + c`` = class ``c``): each pixel owned by class ``c`` is alpha-blended with that class's
  colour, every channel becoming ``floor((1 - MASK_ALPHA) * pixel + MASK_ALPHA * colour + 0.5)``
  with ``colour = PALETTE[c % len(PALETTE)]``; background pixels keep their grey. Boxes and tags
  are drawn over the tint.

Layout of both pictures, top to bottom: a header strip of ``HEADER_HEIGHT`` pixels (frame
indices), the cells of ``H * scale × W * scale`` pixels with ``SEPARATOR`` pixels of background
around and between them, then (when boxes or masks are drawn) a legend of ``2 * LEGEND_PADDING +
rows * LEGEND_ROW_HEIGHT`` pixels, ``rows`` being the number of lines its entries wrap onto
(one for ten digit classes on any sheet at least ~330 pixels wide).

Files are written atomically: the picture is encoded into a temporary file in the destination
folder (created if needed) and renamed over ``path``; on any error the temporary file is removed
and ``path`` is left as it was.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import IO

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .batch import Batch

__all__ = [
    "HEADER_HEIGHT",
    "LEGEND_PADDING",
    "LEGEND_ROW_HEIGHT",
    "MASK_ALPHA",
    "PALETTE",
    "SEPARATOR",
    "animated_gif",
    "contact_sheet",
]

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),  # red
    (60, 180, 75),  # green
    (255, 225, 25),  # yellow
    (67, 99, 216),  # blue
    (245, 130, 49),  # orange
    (66, 212, 244),  # cyan
    (240, 50, 230),  # magenta
    (191, 239, 69),  # lime
    (250, 190, 212),  # pink
    (170, 110, 255),  # violet
    (0, 190, 160),  # teal
    (220, 190, 255),  # lavender
)
"""Box and mask colours (RGB) by class: class ``c`` uses ``PALETTE[c % len(PALETTE)]``."""

MASK_ALPHA = 0.45
"""Opacity of the class colour blended over a digit's pixels in the mask overlay."""

SEPARATOR = 2
"""Background pixels around and between cells."""
HEADER_HEIGHT = 16
"""Height in pixels of the strip above the cells that holds the frame indices."""
LEGEND_ROW_HEIGHT = 16
"""Height in pixels of one line of legend entries."""
LEGEND_PADDING = 4
"""Background pixels above and below the legend lines."""

_BACKGROUND = (255, 255, 255)
_TEXT = (40, 40, 40)
_SWATCH = 10  # legend swatch side in pixels
_TEXT_SIZE = 11  # header and legend font size in pixels


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def contact_sheet(
    batch: Batch,
    path: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    max_sequences: int = 4,
    max_frames: int = 10,
    scale: int = 3,
    boxes: bool = True,
    masks: bool = True,
) -> Path:
    """Write a PNG grid of ``batch`` to ``path`` and return ``path`` as a :class:`~pathlib.Path`.

    One row per sequence (the first ``max_sequences``), one column per frame; when ``T >
    max_frames`` the frames shown are ``max_frames`` evenly spaced ones, first and last included,
    and the header names each column's frame index.  With ``boxes`` (and a batch that has them)
    each visible digit gets an outline and a class tag in its class colour, and a legend below
    maps colours to the class names present (``classes[label]``, default ``str(label)``).  With
    ``masks`` (and a batch that has ``semantic_masks``) each digit's own pixels are tinted with
    its class colour at ``MASK_ALPHA`` opacity, and the legend is shown even without boxes.
    Pixels are upscaled ``scale`` times with nearest-neighbour.  See the module docstring for the
    exact layout and the atomic write.
    """
    view = _View.of(batch, classes, max_sequences, scale, boxes, masks)
    max_frames = _check_count("max_frames", max_frames)
    times = _frame_indices(view.num_frames, max_frames)

    cell_w, cell_h = view.cell_size
    grid_w = len(times) * cell_w + (len(times) + 1) * SEPARATOR
    legend = view.legend(grid_w)
    grid_h = view.rows * cell_h + (view.rows + 1) * SEPARATOR
    sheet = Image.new("RGB", (grid_w, HEADER_HEIGHT + grid_h + legend.height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(_TEXT_SIZE)
    for col, t in enumerate(times):
        x = SEPARATOR + col * (cell_w + SEPARATOR)
        _text_centered(draw, (x, 0, x + cell_w, HEADER_HEIGHT), f"t={t}", font)
        for row in range(view.rows):
            y = HEADER_HEIGHT + SEPARATOR + row * (cell_h + SEPARATOR)
            sheet.paste(view.cell(row, t), (x, y))
    sheet.paste(legend, (0, HEADER_HEIGHT + grid_h))
    return _write_atomic(path, lambda f: sheet.save(f, format="PNG", optimize=True))


def animated_gif(
    batch: Batch,
    path: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    max_sequences: int = 4,
    scale: int = 3,
    boxes: bool = True,
    masks: bool = True,
    duration_ms: int = 100,
) -> Path:
    """Write an animated GIF of ``batch`` to ``path`` and return ``path`` as a
    :class:`~pathlib.Path`.

    The first ``max_sequences`` sequences stand side by side; the GIF has one frame per time step
    (``T`` frames, each shown ``duration_ms`` milliseconds; GIF timing has a 10 ms resolution)
    and loops forever.  Boxes, mask tints, class tags and legend are drawn as in
    :func:`contact_sheet`; the header shows the time step.  All frames share one fixed palette
    (the box colours exactly, the greys to within one level, and with masks a ramp of tints per
    class shown, to within a few levels), so colours do not flicker.
    """
    view = _View.of(batch, classes, max_sequences, scale, boxes, masks)
    duration_ms = _check_count("duration_ms", duration_ms)

    cell_w, cell_h = view.cell_size
    width = view.rows * cell_w + (view.rows + 1) * SEPARATOR
    legend = view.legend(width)
    top = HEADER_HEIGHT + SEPARATOR
    height = top + cell_h + SEPARATOR + legend.height
    font = _font(_TEXT_SIZE)
    palette = _gif_palette(view.tints)
    frames = []
    for t in range(view.num_frames):
        canvas = Image.new("RGB", (width, height), _BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        label = f"t={t} / {view.num_frames - 1}"
        _text_centered(draw, (0, 0, width, HEADER_HEIGHT), label, font)
        for row in range(view.rows):
            canvas.paste(view.cell(row, t), (SEPARATOR + row * (cell_w + SEPARATOR), top))
        canvas.paste(legend, (0, top + cell_h + SEPARATOR))
        frames.append(canvas.quantize(palette=palette, dither=_NO_DITHER))

    def save(f: IO[bytes]) -> None:
        frames[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=duration_ms,
            loop=0,
            optimize=False,
            disposal=1,
        )

    return _write_atomic(path, save)


# --------------------------------------------------------------------------------------------------
# What to draw
# --------------------------------------------------------------------------------------------------


class _View:
    """The shown part of a batch on the CPU, with validated drawing options."""

    def __init__(
        self,
        frames: np.ndarray,
        boxes: np.ndarray | None,
        labels: np.ndarray,
        names: dict[int, str],
        scale: int,
        tints: tuple[tuple[int, int, int], ...] = (),
    ) -> None:
        self.frames = frames  # uint8 [rows, T, H, W] or [rows, T, H, W, 3]
        self.tints = tints  # class colours blended into the frames (mask overlay), sorted
        self.boxes = boxes  # int64 [rows, T, K, 4] with invisible slots set to -1, or None
        self.labels = labels  # int64 [rows, K]
        self.names = names  # label -> class name, for every label >= 0 present
        self.scale = scale
        self.rows, self.num_frames, height, width = frames.shape[:4]
        self.cell_size = (width * scale, height * scale)

    @classmethod
    def of(
        cls,
        batch: Batch,
        classes: Sequence[str] | None,
        max_sequences: int,
        scale: int,
        boxes: bool,
        masks: bool = False,
    ) -> _View:
        if not isinstance(batch, Batch):
            raise ValueError(f"batch must be a gpu_mmnist.Batch, got {type(batch).__name__}")
        max_sequences = _check_count("max_sequences", max_sequences)
        scale = _check_count("scale", scale)
        if scale > 64:
            raise ValueError(f"scale must be in [1, 64], got {scale}")
        if not isinstance(boxes, bool):
            raise ValueError(f"boxes must be a bool, got {type(boxes).__name__}")
        if not isinstance(masks, bool):
            raise ValueError(f"masks must be a bool, got {type(masks).__name__}")
        frames = batch.frames
        if (
            not isinstance(frames, torch.Tensor)
            or frames.dtype != torch.uint8
            or frames.ndim != 5
            or frames.shape[2] not in (1, 3)
        ):
            raise ValueError(
                "batch.frames must be a uint8 tensor [B, T, C, H, W] with C = 1 or 3, got "
                f"{_describe(frames)}"
            )
        if 0 in frames.shape:
            raise ValueError(f"batch has no pixels to show: frames shape {list(frames.shape)}")
        rows = min(max_sequences, frames.shape[0])
        shown = frames[:rows].cpu()
        shown = shown[:, :, 0] if shown.shape[2] == 1 else shown.permute(0, 1, 3, 4, 2)
        labels = batch.labels[:rows].cpu().to(torch.int64).numpy()

        box_array = None
        if boxes and batch.boxes is not None:
            b, t, k = frames.shape[0], frames.shape[1], batch.labels.shape[-1]
            if tuple(batch.boxes.shape) != (b, t, k, 4):
                raise ValueError(
                    f"batch.boxes must have shape [{b}, {t}, {k}, 4], got {list(batch.boxes.shape)}"
                )
            box_array = batch.boxes[:rows].cpu().to(torch.int64).numpy().copy()
            if batch.visible is not None:
                box_array[~batch.visible[:rows].cpu().numpy()] = -1
            box_array[np.broadcast_to(labels[:, None, :] < 0, box_array.shape[:3])] = -1

        present = sorted({int(label) for label in labels.ravel() if label >= 0})
        if classes is not None:
            if isinstance(classes, str) or not isinstance(classes, Sequence):
                raise ValueError(f"classes must be a sequence of str, got {_describe(classes)}")
            if not all(isinstance(name, str) for name in classes):
                raise ValueError("classes must be a sequence of str")
            if present and present[-1] >= len(classes):
                raise ValueError(
                    f"classes names {len(classes)} classes but the batch has label {present[-1]}"
                )
            names = {label: classes[label] for label in present}
        else:
            names = {label: str(label) for label in present}

        pixels = shown.numpy()
        tints: tuple[tuple[int, int, int], ...] = ()
        if masks and batch.semantic_masks is not None:
            semantic = batch.semantic_masks
            b, t, _, h, w = frames.shape
            if (
                not isinstance(semantic, torch.Tensor)
                or semantic.dtype != torch.uint8
                or tuple(semantic.shape) != (b, t, h, w)
            ):
                raise ValueError(
                    f"batch.semantic_masks must be a uint8 tensor [{b}, {t}, {h}, {w}], got "
                    f"{_describe(semantic)}"
                )
            pixels, tints = _tint(pixels, semantic[:rows].cpu().numpy())
        return cls(pixels, box_array, labels, names, scale, tints)

    def cell(self, row: int, t: int) -> Image.Image:
        """Frame ``t`` of sequence ``row``, upscaled, with its boxes and class tags."""
        pixels = self.frames[row, t]
        s = self.scale
        pixels = np.repeat(np.repeat(pixels, s, axis=0), s, axis=1)
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
        if self.boxes is None:
            return image
        draw = ImageDraw.Draw(image)
        width = max(1, s // 3)
        font = _font(_tag_size(s))
        tags = []
        for slot, (x0, y0, x1, y1) in enumerate(self.boxes[row, t].tolist()):
            if x0 < 0:
                continue
            label = int(self.labels[row, slot])
            colour = _colour(label)
            outer = (x0 * s, y0 * s, (x1 + 1) * s - 1, (y1 + 1) * s - 1)
            draw.rectangle(outer, outline=colour, width=width)
            tags.append((outer, label, colour))
        for outer, label, colour in tags:  # tags after outlines, so no outline crosses a tag
            _draw_tag(draw, outer, self.names[label], colour, font, image.size)
        return image

    def legend(self, width: int) -> Image.Image:
        """The legend strip, ``width`` pixels wide (0 pixels high when neither boxes nor mask
        tints are drawn)."""
        if (self.boxes is None and not self.tints) or not self.names:
            return Image.new("RGB", (width, 0), _BACKGROUND)
        font = _font(_TEXT_SIZE)
        gap, spacing = 4, 12
        entries = []  # (line, x, label)
        line, x = 0, SEPARATOR + 2
        for label, name in self.names.items():
            entry_w = _SWATCH + gap + _text_width(font, name)
            if x + entry_w > width - SEPARATOR and x > SEPARATOR + 2:
                line, x = line + 1, SEPARATOR + 2
            entries.append((line, x, label))
            x += entry_w + spacing
        height = 2 * LEGEND_PADDING + (line + 1) * LEGEND_ROW_HEIGHT
        strip = Image.new("RGB", (width, height), _BACKGROUND)
        draw = ImageDraw.Draw(strip)
        for line, x, label in entries:
            top = LEGEND_PADDING + line * LEGEND_ROW_HEIGHT
            y = top + (LEGEND_ROW_HEIGHT - _SWATCH) // 2
            draw.rectangle((x, y, x + _SWATCH - 1, y + _SWATCH - 1), fill=_colour(label))
            draw.rectangle((x, y, x + _SWATCH - 1, y + _SWATCH - 1), outline=_TEXT)
            text_x = x + _SWATCH + gap
            box = (
                text_x,
                top,
                text_x + _text_width(font, self.names[label]),
                top + LEGEND_ROW_HEIGHT,
            )
            _text_centered(draw, box, self.names[label], font)
        return strip


def _tint(
    pixels: np.ndarray, semantic: np.ndarray
) -> tuple[np.ndarray, tuple[tuple[int, int, int], ...]]:
    """``pixels`` (uint8 ``[rows, T, H, W]`` grey or ``[rows, T, H, W, 3]``) as RGB with every
    pixel of class ``c`` (``semantic == 1 + c``) blended with its class colour; also the colours
    used, sorted."""
    rgb = pixels if pixels.ndim == 5 else np.repeat(pixels[..., None], 3, axis=-1)
    owned = semantic > 0
    if not owned.any():
        return rgb, ()
    lut = np.zeros((256, 3), dtype=np.float64)
    lut[1:] = [_colour(c) for c in range(255)]
    blended = np.floor((1 - MASK_ALPHA) * rgb[owned] + MASK_ALPHA * lut[semantic[owned]] + 0.5)
    out = rgb.copy()
    out[owned] = np.clip(blended, 0, 255).astype(np.uint8)
    tints = sorted({_colour(int(value) - 1) for value in np.unique(semantic[owned])})
    return out, tuple(tints)


def _frame_indices(num_frames: int, max_frames: int) -> list[int]:
    """All frames when they fit, else ``max_frames`` evenly spaced ones (first and last kept)."""
    if num_frames <= max_frames:
        return list(range(num_frames))
    if max_frames == 1:
        return [0]
    return [round(i * (num_frames - 1) / (max_frames - 1)) for i in range(max_frames)]


# --------------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------------


def _colour(label: int) -> tuple[int, int, int]:
    return PALETTE[label % len(PALETTE)]


def _tag_size(scale: int) -> int:
    """Font size of the class tag next to a box: readable, yet small next to a digit."""
    return max(8, min(12, 3 * scale + 2))


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size`` pixels (Pillow ≥ 10.1), else its fixed bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError, AttributeError):
        return ImageFont.load_default()


def _text_width(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(right - left)


def _text_centered(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    text: str,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    fill: tuple[int, int, int] = _TEXT,
) -> None:
    """Draw ``text`` centred (by its ink) in ``box`` = ``(left, top, right, bottom)``."""
    left, top, right, bottom = font.getbbox(text)
    x = (box[0] + box[2] - (right - left)) / 2 - left
    y = (box[1] + box[3] - (bottom - top)) / 2 - top
    draw.text((round(x), round(y)), text, font=font, fill=fill)


def _draw_tag(
    draw: ImageDraw.ImageDraw,
    outer: tuple[int, int, int, int],
    name: str,
    colour: tuple[int, int, int],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    size: tuple[int, int],
) -> None:
    """A filled tag with the class name, sitting on the box's top-left corner: above the box when
    there is room, else just inside it; shifted left to stay within the cell."""
    left, top, right, bottom = font.getbbox(name)
    tag_w, tag_h = right - left + 4, bottom - top + 4
    x0, y0 = outer[0], outer[1] - tag_h
    if y0 < 0:
        y0 = outer[1]
    x0 = max(0, min(x0, size[0] - tag_w))
    draw.rectangle((x0, y0, x0 + tag_w - 1, y0 + tag_h - 1), fill=colour)
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
    draw.text((x0 + 2 - left, y0 + 2 - top), name, font=font, fill=ink)


_NO_DITHER = getattr(Image, "Dither", Image).NONE


_GIF_GREYS = 129  # 255 / 128 / 2 < 1: every grey within one level of a palette grey


@lru_cache(maxsize=16)
def _gif_palette(tints: tuple[tuple[int, int, int], ...] = ()) -> Image.Image:
    """One 256-entry palette for every GIF frame: the box colours, black and white text ink, the
    background, evenly spaced greys, and for each colour in ``tints`` (mask overlay) a ramp of
    that colour blended over evenly spaced greys, sharing the remaining entries."""
    fixed = [*PALETTE, _TEXT, _BACKGROUND, (0, 0, 0), (255, 255, 255)]
    num_greys = 256 - len(fixed) if not tints else _GIF_GREYS
    greys = np.linspace(0, 255, num_greys).round().astype(int)
    colours = fixed + [(int(g), int(g), int(g)) for g in greys]
    if tints:
        steps = (256 - len(colours)) // len(tints)
        levels = np.linspace(0, 255, steps)
        for colour in tints:
            ramp = np.floor(
                (1 - MASK_ALPHA) * levels[:, None] + MASK_ALPHA * np.array(colour) + 0.5
            )
            colours += [tuple(int(v) for v in entry) for entry in ramp]
        colours += [(255, 255, 255)] * (256 - len(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in colours for channel in colour])
    return palette


# --------------------------------------------------------------------------------------------------
# Validation and files
# --------------------------------------------------------------------------------------------------


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {list(x.shape)}"
    return type(x).__name__


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def _write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file next to ``path``, then rename it to ``path``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.name:
        raise ValueError(f"path must name a file, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return path
