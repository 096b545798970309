"""Tests for gpu_mmnist.preview: contact sheet and GIF geometry, box colours, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gpu_mmnist import SceneConfig, SpriteBank, render
from gpu_mmnist.preview import (
    HEADER_HEIGHT,
    LEGEND_PADDING,
    LEGEND_ROW_HEIGHT,
    MASK_ALPHA,
    PALETTE,
    SEPARATOR,
    animated_gif,
    contact_sheet,
)

LEGEND_ONE_LINE = 2 * LEGEND_PADDING + LEGEND_ROW_HEIGHT


@pytest.fixture(scope="module")
def bank() -> SpriteBank:
    """Ten 16×16 sprites, one per class: a filled block whose size depends on the class (fast,
    no data files; at least 6×6 pixels, so a box is taller than its class tag at scale 3)."""
    images = torch.zeros(10, 16, 16, dtype=torch.uint8)
    for c in range(10):
        images[c, 1 : 7 + c // 2, 2 : 8 + c // 3] = 100 + 15 * c
    return SpriteBank.from_tensors(images, torch.arange(10))


@pytest.fixture(scope="module")
def one_digit(bank: SpriteBank):
    """3 sequences × 6 frames of 32×40, one digit each: boxes never overlap one another."""
    config = SceneConfig.preset("classic", canvas=(32, 40), num_frames=6, num_digits=1)
    return render(config, bank, range(3), seed=5)


@pytest.fixture(scope="module")
def two_digits(bank: SpriteBank):
    config = SceneConfig.preset("classic", canvas=(32, 40), num_frames=6, num_digits=2)
    return render(config, bank, range(3), seed=1)


def rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def cell_origin(row: int, col: int, cell_w: int, cell_h: int) -> tuple[int, int]:
    """(x, y) of the top-left pixel of a contact-sheet cell."""
    x = SEPARATOR + col * (cell_w + SEPARATOR)
    y = HEADER_HEIGHT + SEPARATOR + row * (cell_h + SEPARATOR)
    return x, y


# --------------------------------------------------------------------------------------------------
# Contact sheet
# --------------------------------------------------------------------------------------------------


def test_contact_sheet_size_from_shape_scale_separators_and_legend(tmp_path, one_digit):
    scale, cols = 2, 4  # T = 6 > max_frames = 4: four evenly spaced frames
    out = contact_sheet(one_digit, tmp_path / "sheet.png", max_frames=cols, scale=scale)
    assert out == tmp_path / "sheet.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        size = image.size
    rows, (h, w) = 3, (32, 40)
    width = cols * w * scale + (cols + 1) * SEPARATOR
    height = HEADER_HEIGHT + rows * h * scale + (rows + 1) * SEPARATOR + LEGEND_ONE_LINE
    assert size == (width, height)


def test_contact_sheet_grows_with_frames_sequences_and_scale(tmp_path, two_digits):
    def size(**kwargs):  # no legend: its line count depends on the classes shown
        path = contact_sheet(two_digits, tmp_path / "s.png", boxes=False, masks=False, **kwargs)
        with Image.open(path) as image:
            return image.size

    base = size(max_frames=3, max_sequences=2, scale=1)
    assert size(max_frames=5, max_sequences=2, scale=1)[0] == base[0] + 2 * (40 + SEPARATOR)
    assert size(max_frames=3, max_sequences=3, scale=1)[1] == base[1] + 32 + SEPARATOR
    big = size(max_frames=3, max_sequences=2, scale=3)
    assert big[0] == base[0] + 3 * 40 * 2
    assert big[1] == base[1] + 2 * 32 * 2
    # max_frames / max_sequences beyond the batch show the whole batch
    assert size(max_frames=99, max_sequences=99, scale=1) == size(
        max_frames=6, max_sequences=3, scale=1
    )


def test_contact_sheet_cells_are_the_upscaled_frames(tmp_path, one_digit):
    scale = 3
    sheet = rgb(
        contact_sheet(
            one_digit, tmp_path / "s.png", max_frames=4, scale=scale, boxes=False, masks=False
        )
    )
    h, w = 32, 40
    assert sheet.shape[0] == HEADER_HEIGHT + 3 * h * scale + 4 * SEPARATOR  # no legend
    frames = one_digit.frames[:, :, 0].numpy()
    for col, t in enumerate([0, 2, 3, 5]):  # round(i * 5 / 3)
        for row in range(3):
            x, y = cell_origin(row, col, w * scale, h * scale)
            cell = sheet[y : y + h * scale, x : x + w * scale]
            expected = np.repeat(np.repeat(frames[row, t], scale, 0), scale, 1)
            np.testing.assert_array_equal(cell, np.stack([expected] * 3, axis=-1))
    # separators are background, not picture
    assert (sheet[HEADER_HEIGHT : HEADER_HEIGHT + SEPARATOR] == 255).all()


def test_box_corners_have_the_class_colour(tmp_path, one_digit):
    scale = 3
    sheet = rgb(
        contact_sheet(one_digit, tmp_path / "s.png", max_frames=6, scale=scale, masks=False)
    )
    h, w = 32, 40
    boxes, visible, labels = one_digit.boxes, one_digit.visible, one_digit.labels
    checked = 0
    for row in range(3):
        colour = PALETTE[int(labels[row, 0]) % len(PALETTE)]
        for t in range(6):
            if not visible[row, t, 0]:
                continue
            x0, y0, x1, y1 = boxes[row, t, 0].tolist()
            cx, cy = cell_origin(row, t, w * scale, h * scale)
            corners = [
                (x0 * scale, y0 * scale),
                ((x1 + 1) * scale - 1, y0 * scale),
                (x0 * scale, (y1 + 1) * scale - 1),
                ((x1 + 1) * scale - 1, (y1 + 1) * scale - 1),
            ]
            for x, y in corners:
                assert tuple(sheet[cy + y, cx + x]) == colour, (row, t, x, y)
            # the outline is one pixel wide at scale 3: just inside a bottom corner is the frame
            inside = one_digit.frames[row, t, 0, y1, x0].item()
            assert tuple(sheet[cy + (y1 + 1) * scale - 2, cx + x0 * scale + 1]) == (inside,) * 3
            checked += 1
    assert checked >= 12


def test_legend_shows_the_classes_present(tmp_path, one_digit):
    sheet = rgb(contact_sheet(one_digit, tmp_path / "s.png", classes=[f"c{i}" for i in range(10)]))
    legend = sheet[-LEGEND_ONE_LINE:]
    colours = {tuple(int(v) for v in p) for p in legend.reshape(-1, 3)}
    present = {int(label) for label in one_digit.labels.flatten()}
    for label in range(10):
        assert (PALETTE[label] in colours) == (label in present), label


def test_legend_wraps_onto_more_lines_when_narrow(tmp_path, two_digits):
    long_names = [f"a rather long class name {i}" for i in range(10)]
    path = contact_sheet(two_digits, tmp_path / "s.png", classes=long_names, max_frames=1, scale=1)
    with Image.open(path) as image:
        width, height = image.size
    assert width == 40 + 2 * SEPARATOR
    grid = HEADER_HEIGHT + 3 * 32 + 4 * SEPARATOR
    lines = len({int(label) for label in two_digits.labels.flatten()})  # one entry per line
    assert lines >= 2
    assert height == grid + 2 * LEGEND_PADDING + lines * LEGEND_ROW_HEIGHT


def test_batch_without_boxes_has_no_legend(tmp_path, bank):
    config = SceneConfig.preset("classic", canvas=(32, 40), num_frames=3, num_digits=1)
    batch = render(config, bank, range(2), boxes=False, masks=False)
    with Image.open(contact_sheet(batch, tmp_path / "s.png", scale=1)) as image:
        assert image.size == (3 * 40 + 4 * SEPARATOR, HEADER_HEIGHT + 2 * 32 + 3 * SEPARATOR)


# --------------------------------------------------------------------------------------------------
# Mask overlay
# --------------------------------------------------------------------------------------------------


def blend(grey: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """The documented tint: floor((1 - MASK_ALPHA) * grey + MASK_ALPHA * colour + 0.5)."""
    g = grey.astype(np.float64)[..., None]
    return np.floor((1 - MASK_ALPHA) * g + MASK_ALPHA * np.array(colour) + 0.5).astype(np.uint8)


def sheet_cells(sheet: np.ndarray, rows: int, times: list[int], h: int, w: int, scale: int):
    """Yield ``(row, t, cell)`` with each cell downscaled back to ``h × w`` source pixels."""
    for col, t in enumerate(times):
        for row in range(rows):
            x, y = cell_origin(row, col, w * scale, h * scale)
            yield row, t, sheet[y : y + h * scale : scale, x : x + w * scale : scale]


def test_mask_overlay_tints_owned_pixels_with_the_class_colour(tmp_path, two_digits):
    h, w, scale = 32, 40, 2
    path = contact_sheet(two_digits, tmp_path / "m.png", max_frames=6, scale=scale, boxes=False)
    sheet = rgb(path)
    frames = two_digits.frames[:, :, 0].numpy()
    semantic = two_digits.semantic_masks.numpy()
    owned_checked = background_checked = 0
    for row, t, cell in sheet_cells(sheet, 3, list(range(6)), h, w, scale):
        grey, sem = frames[row, t], semantic[row, t]
        for c in np.unique(sem[sem > 0]) - 1:
            where = sem == c + 1
            np.testing.assert_array_equal(cell[where], blend(grey[where], PALETTE[c]))
            owned_checked += int(where.sum())
        background = sem == 0
        np.testing.assert_array_equal(cell[background], np.stack([grey[background]] * 3, -1))
        background_checked += int(background.sum())
    assert owned_checked > 1000
    assert background_checked > 10_000
    assert len(np.unique(semantic)) >= 3  # background and at least two classes were checked


def test_mask_overlay_keeps_boxes_on_top_and_the_legend(tmp_path, one_digit):
    scale, h, w = 3, 32, 40
    sheet = rgb(contact_sheet(one_digit, tmp_path / "s.png", max_frames=6, scale=scale))
    row, t = next(
        (r, t) for r in range(3) for t in range(6) if one_digit.visible[r, t, 0]
    )  # a visible digit
    x0, y0, _, _ = one_digit.boxes[row, t, 0].tolist()
    cx, cy = cell_origin(row, t, w * scale, h * scale)
    colour = PALETTE[int(one_digit.labels[row, 0])]
    assert tuple(sheet[cy + y0 * scale, cx + x0 * scale]) == colour
    with Image.open(tmp_path / "s.png") as image:
        assert image.size[1] == HEADER_HEIGHT + 3 * h * scale + 4 * SEPARATOR + LEGEND_ONE_LINE


def test_masks_without_boxes_still_show_the_legend(tmp_path, one_digit):
    path = contact_sheet(one_digit, tmp_path / "s.png", boxes=False, scale=3)
    with Image.open(path) as image:
        assert image.size[1] == HEADER_HEIGHT + 3 * 32 * 3 + 4 * SEPARATOR + LEGEND_ONE_LINE


@pytest.mark.parametrize("writer", [contact_sheet, animated_gif])
def test_masks_false_or_no_masks_in_the_batch_is_unchanged(tmp_path, bank, two_digits, writer):
    # a batch rendered without masks draws the same picture as masks=False on the full batch
    config = SceneConfig.preset("classic", canvas=(32, 40), num_frames=6, num_digits=2)
    no_masks = render(config, bank, range(3), seed=1, masks=False)
    assert no_masks.semantic_masks is None
    a = writer(two_digits, tmp_path / "a.img", masks=False)
    b = writer(no_masks, tmp_path / "b.img")
    c = writer(two_digits, tmp_path / "c.img")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_gif_mask_overlay_is_the_tint_to_within_a_few_levels(tmp_path, two_digits):
    h, w, scale = 32, 40, 1
    path = animated_gif(two_digits, tmp_path / "m.gif", scale=scale, boxes=False)
    frames = two_digits.frames[:, :, 0].numpy()
    semantic = two_digits.semantic_masks.numpy()
    top = HEADER_HEIGHT + SEPARATOR
    with Image.open(path) as gif:
        for t in range(6):
            gif.seek(t)
            picture = np.asarray(gif.convert("RGB")).astype(int)
            for row in range(3):
                left = SEPARATOR + row * (w + SEPARATOR)
                cell = picture[top : top + h, left : left + w]
                grey, sem = frames[row, t], semantic[row, t]
                expected = np.stack([grey] * 3, -1).astype(int)
                for c in np.unique(sem[sem > 0]) - 1:
                    where = sem == c + 1
                    expected[where] = blend(grey[where], PALETTE[c])
                assert np.abs(cell - expected).max() <= 8, (t, row)
                background = sem == 0
                assert np.abs(cell[background] - expected[background]).max() <= 1


def test_contact_sheet_creates_parent_folders_and_replaces(tmp_path, one_digit):
    path = tmp_path / "a" / "b" / "sheet.png"
    contact_sheet(one_digit, str(path), scale=1)
    first = path.read_bytes()
    contact_sheet(one_digit, path, scale=2)
    assert path.read_bytes() != first
    assert sorted(p.name for p in path.parent.iterdir()) == ["sheet.png"]
    assert path.stat().st_mode & 0o644 == 0o644


# --------------------------------------------------------------------------------------------------
# GIF
# --------------------------------------------------------------------------------------------------


def test_gif_has_one_frame_per_step_and_loops(tmp_path, one_digit):
    scale = 2
    path = animated_gif(one_digit, tmp_path / "a.gif", scale=scale, duration_ms=80)
    h, w = 32, 40
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 6
        assert gif.info["loop"] == 0
        assert gif.info["duration"] == 80
        width = 3 * w * scale + 4 * SEPARATOR
        height = HEADER_HEIGHT + h * scale + 2 * SEPARATOR + LEGEND_ONE_LINE
        assert gif.size == (width, height)
        top = HEADER_HEIGHT + SEPARATOR
        for t in range(6):
            gif.seek(t)
            frame = np.asarray(gif.convert("RGB"))
            for row in range(3):
                if not one_digit.visible[row, t, 0]:
                    continue
                x0, y0, _, _ = one_digit.boxes[row, t, 0].tolist()
                colour = PALETTE[int(one_digit.labels[row, 0])]
                left = SEPARATOR + row * (w * scale + SEPARATOR)
                assert tuple(frame[top + y0 * scale, left + x0 * scale]) == colour


def test_gif_max_sequences(tmp_path, two_digits):
    with Image.open(animated_gif(two_digits, tmp_path / "a.gif", max_sequences=1, scale=1)) as g:
        assert g.size[0] == 40 + 2 * SEPARATOR
        assert g.n_frames == 6


# --------------------------------------------------------------------------------------------------
# Atomic writes and argument errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", [contact_sheet, animated_gif])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, one_digit, writer):
    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    fresh = tmp_path / "fresh"
    with pytest.raises(OSError, match="disk full"):
        writer(one_digit, fresh / "out.img")
    assert list(fresh.iterdir()) == []

    old = tmp_path / "old.img"
    old.write_bytes(b"previous")
    with pytest.raises(OSError, match="disk full"):
        writer(one_digit, old)
    assert old.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "old.img"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scale": 0}, "scale"),
        ({"scale": 2.0}, "scale"),
        ({"scale": True}, "scale"),
        ({"max_sequences": 0}, "max_sequences"),
        ({"boxes": "yes"}, "boxes"),
        ({"masks": 1}, "masks"),
        ({"classes": "0123456789"}, "classes"),
        ({"classes": ["0", "1"]}, "classes"),
        ({"classes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}, "classes"),
    ],
)
def test_argument_errors_name_the_argument(tmp_path, one_digit, kwargs, name):
    for writer in (contact_sheet, animated_gif):
        with pytest.raises(ValueError, match=name):
            writer(one_digit, tmp_path / "x", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_writer_specific_argument_errors(tmp_path, one_digit):
    with pytest.raises(ValueError, match="max_frames"):
        contact_sheet(one_digit, tmp_path / "x.png", max_frames=0)
    with pytest.raises(ValueError, match="duration_ms"):
        animated_gif(one_digit, tmp_path / "x.gif", duration_ms=0)
    with pytest.raises(ValueError, match="batch"):
        contact_sheet(one_digit.frames, tmp_path / "x.png")
    with pytest.raises(ValueError, match="path"):
        contact_sheet(one_digit, 42)
    assert list(tmp_path.iterdir()) == []
