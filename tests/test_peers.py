"""Tests for our NumPy re-implementations of the peer generators (``gpu_mmnist.peers``).

Synthetic 28×28 digits only: no MNIST is needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpu_mmnist.peers import DIGIT_SIZE, OpenSTLMovingMNIST, SrivastavaBouncingMNIST

D = DIGIT_SIZE


def block_digits(n: int = 5) -> np.ndarray:
    """``n`` distinct 28×28 uint8 patterns: a nonzero block pattern on a zero border.

    Every nonzero pixel value differs between neighbours and between digits, so a digit
    pasted one pixel off, or the wrong digit, cannot compare equal.
    """
    digits = np.zeros((n, D, D), dtype=np.uint8)
    rows, cols = np.mgrid[0:D, 0:D]
    for k in range(n):
        pattern = (rows * 7 + cols * 3 + 11 * k) % 250 + 5
        digits[k, 3:-3, 3:-3] = pattern[3:-3, 3:-3]
    return digits


def paste(size: int, digit: np.ndarray, top: int, left: int) -> np.ndarray:
    """A ``size``×``size`` float64 canvas holding ``digit`` at (top, left)."""
    canvas = np.zeros((size, size), dtype=np.float64)
    canvas[top : top + D, left : left + D] = digit
    return canvas


class ScriptedRandState:
    """Stands in for ``np.random.RandomState``: ``rand(n)`` returns scripted arrays in order."""

    def __init__(self, *arrays: list[float]) -> None:
        self.arrays = [np.asarray(a, dtype=np.float64) for a in arrays]

    def rand(self, n: int) -> np.ndarray:
        out = self.arrays.pop(0)
        assert out.shape == (n,)
        return out.copy()


class ScriptedRandom:
    """Stands in for ``random.Random``: ``random()`` returns scripted values in order."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


# --------------------------------------------------------------------------------------------
# Shapes and dtypes


@pytest.mark.parametrize(("batch", "seq", "size", "num_digits"), [(4, 20, 64, 2), (3, 7, 40, 3)])
def test_srivastava_shapes(batch: int, seq: int, size: int, num_digits: int) -> None:
    handler = SrivastavaBouncingMNIST(
        block_digits(), batch, seq_length=seq, image_size=size, num_digits=num_digits, seed=0
    )
    start_y, start_x = handler.get_random_trajectory(batch * num_digits)
    assert start_y.shape == start_x.shape == (seq, batch * num_digits)
    assert start_y.dtype == start_x.dtype == np.int32
    data = handler.get_batch()
    assert data.shape == (batch, seq, size, size)
    assert data.dtype == np.float32
    assert data.min() >= 0.0
    assert data.max() <= 1.0
    assert data.max() > 0.0


@pytest.mark.parametrize(("n_in", "n_out", "size"), [(10, 10, 64), (5, 3, 48)])
def test_openstl_shapes(n_in: int, n_out: int, size: int) -> None:
    ds = OpenSTLMovingMNIST(
        block_digits(), n_frames_input=n_in, n_frames_output=n_out, image_size=size, seed=0
    )
    assert len(ds) == 10_000
    inputs, outputs = ds[0]
    assert inputs.shape == (n_in, 1, size, size)
    assert outputs.shape == (n_out, 1, size, size)
    for t in (inputs, outputs):
        assert t.dtype == torch.float32
        assert t.is_contiguous()
        assert 0.0 <= float(t.min()) <= float(t.max()) <= 1.0
    start_y, start_x = ds.get_random_trajectory(n_in + n_out)
    assert start_y.shape == start_x.shape == (n_in + n_out,)
    assert start_y.dtype == start_x.dtype == np.int32


def test_openstl_through_dataloader() -> None:
    ds = OpenSTLMovingMNIST(block_digits(), seed=0, length=8)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=0)
    batches = list(loader)
    assert len(batches) == 2
    inputs, outputs = batches[0]
    assert inputs.shape == outputs.shape == (4, 10, 1, 64, 64)
    assert inputs.dtype == outputs.dtype == torch.float32


def test_bad_digits_rejected() -> None:
    with pytest.raises(ValueError):
        SrivastavaBouncingMNIST(np.zeros((3, 20, 20), np.uint8), 2)
    with pytest.raises(TypeError):
        OpenSTLMovingMNIST(np.zeros((3, D, D), np.float32))


# --------------------------------------------------------------------------------------------
# Every frame holds exactly the digit at the recorded trajectory position


@pytest.mark.parametrize("num_digits", [1, 2])
def test_srivastava_frames_match_trajectory(num_digits: int) -> None:
    digits = block_digits(7)
    batch, seq, size = 5, 20, 64
    kwargs = dict(seq_length=seq, image_size=size, num_digits=num_digits, seed=123)
    data = SrivastavaBouncingMNIST(digits, batch, **kwargs).get_batch()

    # Same seed, same draws: replay the trajectory and the digit order, then paint by hand.
    replay = SrivastavaBouncingMNIST(digits, batch, **kwargs)
    start_y, start_x = replay.get_random_trajectory(batch * num_digits)
    for j in range(batch):
        # The original held MNIST as float32 in [0, 1].
        chosen = [
            digits[replay.next_digit_index()].astype(np.float32) / np.float32(255.0)
            for _ in range(num_digits)
        ]
        for i in range(seq):
            expected = np.zeros((size, size))
            for n, digit in enumerate(chosen):
                k = j * num_digits + n
                expected = np.maximum(expected, paste(size, digit, start_y[i, k], start_x[i, k]))
            np.testing.assert_array_equal(data[j, i], expected.astype(np.float32))


def test_srivastava_digit_order_is_a_reshuffled_permutation() -> None:
    n = 6
    handler = SrivastavaBouncingMNIST(block_digits(n), 1, seed=3)
    drawn = [handler.next_digit_index() for _ in range(3 * n)]
    for epoch in range(3):
        assert sorted(drawn[epoch * n : (epoch + 1) * n]) == list(range(n))


@pytest.mark.parametrize("num_objects", [(1,), (2,)])
def test_openstl_frames_match_trajectory(num_objects: tuple[int, ...]) -> None:
    digits = block_digits(7)
    size, n_in, n_out = 64, 10, 10
    kwargs = dict(image_size=size, num_objects=num_objects, seed=321)
    ds = OpenSTLMovingMNIST(digits, **kwargs)
    replay = OpenSTLMovingMNIST(digits, **kwargs)
    for idx in range(4):
        inputs, outputs = ds[idx]
        frames = torch.cat([inputs, outputs])[:, 0].numpy()

        # Same seed, same draws, in the original's order: count, then per digit the
        # trajectory followed by the digit index.
        count = replay.rng.choice(replay.num_objects)
        expected = np.zeros((n_in + n_out, size, size))
        for _ in range(count):
            start_y, start_x = replay.get_random_trajectory(n_in + n_out)
            digit = digits[replay.rng.randint(0, len(digits) - 1)].astype(np.float64)
            for i in range(n_in + n_out):
                pasted = paste(size, digit, start_y[i], start_x[i])
                expected[i] = np.maximum(expected[i], pasted)
        # The original divides the float32 canvas (0..255) by 255.0, which stays float32.
        np.testing.assert_array_equal(frames, expected.astype(np.float32) / 255.0)


# --------------------------------------------------------------------------------------------
# Trajectories stay on the canvas


@pytest.mark.parametrize("size", [64, 29, 100])
def test_srivastava_trajectories_stay_on_canvas(size: int) -> None:
    handler = SrivastavaBouncingMNIST(block_digits(), 1, seq_length=30, image_size=size, seed=1)
    canvas = size - D
    start_y, start_x = handler.get_random_trajectory(2000)
    for s in (start_y, start_x):
        assert s.min() == 0  # walls are reached exactly (clamped to 0 and to 1)
        assert s.max() == canvas
        assert ((s >= 0) & (s <= canvas)).all()


@pytest.mark.parametrize("size", [64, 29, 100])
def test_openstl_trajectories_stay_on_canvas(size: int) -> None:
    ds = OpenSTLMovingMNIST(block_digits(), image_size=size, seed=1)
    canvas = size - D
    ys, xs = zip(*(ds.get_random_trajectory(30) for _ in range(500)), strict=True)
    for s in (np.concatenate(ys), np.concatenate(xs)):
        assert s.min() == 0
        assert s.max() == canvas
        assert ((s >= 0) & (s <= canvas)).all()


# --------------------------------------------------------------------------------------------
# The bounce rule: clamp to the wall, flip that velocity component, keep the other

# Four hand-made starts, each 0.05 from a wall and heading straight at it with speed 1 per
# unit step: right wall (x=0.95, θ=0), left wall (x=0.05, θ=π), bottom wall (y=0.95, θ=π/2),
# top wall (y=0.05, θ=3π/2). With step 0.1 and canvas 36 the moving coordinate goes
# 1.0, 0.9, 0.8, 0.7 (or 0.0, 0.1, 0.2, 0.3): pixels 36, 32, 28, 25 (or 0, 3, 7, 10).
TOWARD_WALL = [
    # (x0, y0, θ / 2π, moving axis, expected pixels of the moving axis)
    (0.95, 0.5, 0.0, "x", [36, 32, 28, 25]),
    (0.05, 0.5, 0.5, "x", [0, 3, 7, 10]),
    (0.5, 0.95, 0.25, "y", [36, 32, 28, 25]),
    (0.5, 0.05, 0.75, "y", [0, 3, 7, 10]),
]


def test_srivastava_bounce_flips_at_walls() -> None:
    handler = SrivastavaBouncingMNIST(block_digits(), 1, seq_length=4, image_size=64, seed=0)
    x0, y0, turn, _, _ = zip(*TOWARD_WALL, strict=True)
    handler.rng = ScriptedRandState(y0, x0, turn)  # the original draws y, then x, then θ
    start_y, start_x = handler.get_random_trajectory(len(TOWARD_WALL))
    for k, (_, _, _, axis, expected) in enumerate(TOWARD_WALL):
        moving, still = (start_x, start_y) if axis == "x" else (start_y, start_x)
        assert moving[:, k].tolist() == expected
        assert still[:, k].tolist() == [18] * 4  # 36 × 0.5, untouched by the bounce


@pytest.mark.parametrize(("x0", "y0", "turn", "axis", "expected"), TOWARD_WALL)
def test_openstl_bounce_flips_at_walls(
    x0: float, y0: float, turn: float, axis: str, expected: list[int]
) -> None:
    ds = OpenSTLMovingMNIST(block_digits(), image_size=64, seed=0)
    ds.rng = ScriptedRandom(x0, y0, turn)  # OpenSTL draws x, then y, then θ
    start_y, start_x = ds.get_random_trajectory(4)
    moving, still = (start_x, start_y) if axis == "x" else (start_y, start_x)
    assert moving.tolist() == expected
    assert still.tolist() == [18] * 4


def test_bounce_in_a_corner_flips_both_components() -> None:
    # Heading at 45° into the bottom-right corner: both coordinates clamp to 1, then recede.
    ds = OpenSTLMovingMNIST(block_digits(), image_size=64, seed=0)
    ds.rng = ScriptedRandom(0.97, 0.97, 0.125)
    start_y, start_x = ds.get_random_trajectory(3)
    assert start_x.tolist() == start_y.tolist()
    assert start_x[0] == 36
    assert start_x[0] > start_x[1] > start_x[2]
