"""Tests for our re-implementations of the peer generators (``gpu_mmnist.peers``) and for
``benchmarks/rotation.py``'s helpers.

Synthetic 28×28 digits only: no MNIST is needed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_mmnist import SceneConfig, SpriteBank, bench
from gpu_mmnist.peers import (
    DIGIT_SIZE,
    AffineGridSampleMMNISTPP,
    OpenSTLMovingMNIST,
    SrivastavaBouncingMNIST,
)

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


# --------------------------------------------------------------------------------------------
# AffineGridSampleMMNISTPP: per-frame affine_grid + grid_sample


def affine_peer(**kwargs: object) -> AffineGridSampleMMNISTPP:
    return AffineGridSampleMMNISTPP(block_digits(7), **kwargs)


def canvas_of(size: int, pasted: list[tuple[torch.Tensor, int, int]]) -> torch.Tensor:
    """int32 ``size``×``size``: the maximum of every ``(image, top, left)`` pasted there."""
    canvas = torch.zeros(size, size, dtype=torch.int32)
    for image, top, left in pasted:
        h, w = image.shape
        window = canvas[top : top + h, left : left + w]
        torch.maximum(window, image.int(), out=window)
    return canvas


@pytest.mark.parametrize(("batch", "frames", "size", "num_digits"), [(3, 20, 64, 3), (2, 5, 40, 1)])
def test_affine_shapes(batch: int, frames: int, size: int, num_digits: int) -> None:
    peer = affine_peer(image_size=size, num_frames=frames, num_digits=num_digits)
    out = peer.render(batch)
    assert out.shape == (batch, frames, 1, size, size)
    assert out.dtype == torch.uint8
    assert out.is_contiguous()
    assert int(out.max()) > 0
    scene = peer.draw(batch)
    n = batch * num_digits
    assert scene.index.shape == scene.brightness.shape == (n,)
    for field in (scene.top, scene.left, scene.angle, scene.scale):
        assert field.shape == (frames, n)
    theta = peer.theta(scene.top[0], scene.left[0], scene.angle[0], scene.scale[0])
    assert theta.shape == (n, 2, 3)
    assert theta.dtype == torch.float32


def test_affine_same_seed_same_output() -> None:
    digits = block_digits(7)
    a = AffineGridSampleMMNISTPP(digits, seed=5)
    b = AffineGridSampleMMNISTPP(torch.from_numpy(digits), seed=5)  # a uint8 tensor works too
    first = a.render(4)
    assert torch.equal(first, b.render(4))
    assert torch.equal(a.render(4), b.render(4))
    assert not torch.equal(first, a.render(4))  # every call draws anew
    assert not torch.equal(first, AffineGridSampleMMNISTPP(digits, seed=6).render(4))


def test_affine_bad_arguments_rejected() -> None:
    with pytest.raises(ValueError):
        AffineGridSampleMMNISTPP(np.zeros((3, 20, 20), np.uint8))
    with pytest.raises(TypeError):
        AffineGridSampleMMNISTPP(np.zeros((3, D, D), np.float32))
    with pytest.raises(ValueError):
        AffineGridSampleMMNISTPP(torch.zeros(3, 20, 20, dtype=torch.uint8))
    with pytest.raises(TypeError):
        AffineGridSampleMMNISTPP(torch.zeros(3, D, D))
    with pytest.raises(ValueError):
        AffineGridSampleMMNISTPP(torch.zeros(0, D, D, dtype=torch.uint8))
    for bad in (
        {"image_size": 27},
        {"num_frames": 0},
        {"num_digits": 0},
        {"step": 0.0},
        {"max_rotation": -1.0},
        {"scale_factor": 0.0},
        {"scale_period": 0.0},
        {"brightness": (0.8, 0.6)},
        {"brightness": (0.5, 1.5)},
    ):
        with pytest.raises(ValueError):
            affine_peer(**bad)
    with pytest.raises(ValueError):
        affine_peer().render(0)


def test_affine_theta_by_hand() -> None:
    # On a 28×28 canvas with the box at (0, 0) the canvas and sprite coordinates coincide.
    peer = affine_peer(image_size=D)
    zero = torch.zeros(2, dtype=torch.int64)
    theta = peer.theta(zero, zero, torch.tensor([0.0, 90.0]), torch.tensor([1.0, 2.0]))
    # 90° counter-clockwise: the canvas's top-right corner (1, -1) shows the sprite's
    # bottom-right corner (1, 1); scale 2 halves the sprite coordinates.
    expected = torch.tensor(
        [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, -0.5, 0.0], [0.5, 0.0, 0.0]]]
    )
    torch.testing.assert_close(theta, expected, atol=1e-7, rtol=0)
    # 64×64 canvas, box at (top, left) = (18, 18), centred: a scaling by 64/28 and no shift;
    # the box at (0, 0) shifts by (64 - 28) / 28 sprite half-widths.
    peer = affine_peer(image_size=64)
    corner = torch.tensor([18, 0])
    theta = peer.theta(corner, corner, torch.zeros(2), torch.ones(2))
    r = 64 / 28
    expected = torch.tensor(
        [[[r, 0.0, 0.0], [0.0, r, 0.0]], [[r, 0.0, 36 / 28], [0.0, r, 36 / 28]]]
    )
    torch.testing.assert_close(theta, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("num_digits", [1, 3])
def test_affine_without_transforms_pastes_at_floored_positions(num_digits: int) -> None:
    # No rotation, scale 1, brightness 1: every sample falls on a sprite pixel centre, and the
    # frame is exactly the maximum of the sprites pasted at their floored positions.
    digits = block_digits(7)
    peer = AffineGridSampleMMNISTPP(
        digits, num_digits=num_digits, max_rotation=0.0, scale_factor=1.0, brightness=(1.0, 1.0),
        seed=11,
    )  # fmt: skip
    scene = peer.draw(6)
    assert (scene.angle == 0).all()
    assert (scene.scale == 1).all()
    out = peer.render_scene(scene)
    sprites = torch.from_numpy(digits)
    for b in range(6):
        for t in range(peer.num_frames):
            pasted = []
            for k in range(num_digits):
                n = b * num_digits + k
                pasted.append(
                    (sprites[scene.index[n]], int(scene.top[t, n]), int(scene.left[t, n]))
                )
            assert torch.equal(out[b, t, 0].int(), canvas_of(64, pasted))


def test_affine_brightness_dims_each_digit() -> None:
    digits = block_digits(7)
    peer = AffineGridSampleMMNISTPP(digits, max_rotation=0.0, scale_factor=1.0, seed=2)
    scene = peer.draw(4)
    lo, hi = peer.brightness
    assert ((scene.brightness >= lo) & (scene.brightness <= hi)).all()
    out = peer.render_scene(scene)
    sprites = torch.from_numpy(digits).float()
    for b in range(4):
        for t in (0, 7, 19):
            pasted = []
            for k in range(3):
                n = b * 3 + k
                dimmed = (sprites[scene.index[n]] * scene.brightness[n]).round()
                pasted.append((dimmed, int(scene.top[t, n]), int(scene.left[t, n])))
            diff = (out[b, t, 0].int() - canvas_of(64, pasted)).abs()
            assert int(diff.max()) <= 1


@pytest.mark.parametrize(
    ("degrees", "quarter_turns"), [(90.0, 1), (180.0, 2), (-90.0, 3), (270.0, 3)]
)
def test_affine_quarter_turns_equal_rot90(degrees: float, quarter_turns: int) -> None:
    # The block digits are asymmetric (values grow along rows and columns), so a clockwise turn
    # or a transpose cannot pass for a counter-clockwise one.
    digits = block_digits(3)
    peer = AffineGridSampleMMNISTPP(digits, num_digits=1, num_frames=2, brightness=(1.0, 1.0))
    scene = peer.draw(3)
    scene.angle[:] = degrees
    scene.scale[:] = 1.0
    for b, (top, left) in enumerate([(18, 18), (0, 36), (5, 7)]):
        scene.top[:, b] = top
        scene.left[:, b] = left
    out = peer.render_scene(scene)
    for b in range(3):
        sprite = torch.from_numpy(digits[int(scene.index[b])])
        turned = torch.rot90(sprite, quarter_turns, (0, 1))
        expected = canvas_of(64, [(turned, int(scene.top[0, b]), int(scene.left[0, b]))])
        for t in range(2):
            assert int((out[b, t, 0].int() - expected).abs().max()) <= 1


def test_affine_scale_two_about_the_centre() -> None:
    # An 8×8 block of 255 (pixel centres 10..17 about the box centre 13.5) scaled by 2: canvas
    # pixel j (box coordinates) samples sprite u = 13.5 + (j - 13.5) / 2, so along each axis
    # the bilinear weights are 0.25 at j = 5 and 22, 0.75 at 6 and 21, 1 in 7..20, else 0.
    digits = np.zeros((1, D, D), np.uint8)
    digits[0, 10:18, 10:18] = 255
    peer = AffineGridSampleMMNISTPP(digits, num_digits=1, num_frames=1, brightness=(1.0, 1.0))
    scene = peer.draw(1)
    scene.angle[:] = 0.0
    scene.scale[:] = 2.0
    scene.top[:] = 18
    scene.left[:] = 18
    out = peer.render_scene(scene)[0, 0, 0].int()
    weight = torch.zeros(64, dtype=torch.float64)
    weight[18 + 5], weight[18 + 22] = 0.25, 0.25
    weight[18 + 6], weight[18 + 21] = 0.75, 0.75
    weight[18 + 7 : 18 + 21] = 1.0
    expected = (255 * weight[:, None] * weight[None, :]).round().int()
    assert int((out - expected).abs().max()) <= 1


def test_affine_draws_follow_the_parameters() -> None:
    peer = affine_peer(max_rotation=30.0, scale_factor=1.1, scale_period=10.0, num_frames=25)
    scene = peer.draw(200)
    t = torch.arange(25, dtype=torch.float64)[:, None]
    rate = scene.angle[1]
    assert (rate.abs() <= 30.0).all()
    assert rate.min() < -25.0
    assert rate.max() > 25.0
    torch.testing.assert_close(scene.angle, rate * t)
    assert (scene.scale >= 1 / 1.1 - 1e-12).all()
    assert (scene.scale <= 1.1 + 1e-12).all()
    # Period 10: frame t and t + 10 have the same scale.
    torch.testing.assert_close(scene.scale[10:], scene.scale[:-10])
    assert ((scene.index >= 0) & (scene.index < 7)).all()
    for field in (scene.top, scene.left):
        assert int(field.min()) == 0
        assert int(field.max()) == 64 - D


def test_affine_trajectory_is_srivastavas_clamp_and_flip() -> None:
    # Replay the trajectory draws (start (y, x), then direction) with the same seed and step
    # them with the original's per-element Python loop.
    peer = affine_peer(num_frames=30, seed=9)
    top, left = peer.trajectory(50)
    g = torch.Generator().manual_seed(9)
    start = torch.rand(50, 2, generator=g, dtype=torch.float64).numpy()
    direction = (torch.rand(50, generator=g, dtype=torch.float64) * (2 * math.pi)).numpy()
    for j in range(50):
        y, x = start[j]
        v_y, v_x = math.sin(direction[j]) * 0.1, math.cos(direction[j]) * 0.1
        for t in range(30):
            y += v_y
            x += v_x
            if x <= 0:
                x, v_x = 0.0, -v_x
            if x >= 1.0:
                x, v_x = 1.0, -v_x
            if y <= 0:
                y, v_y = 0.0, -v_y
            if y >= 1.0:
                y, v_y = 1.0, -v_y
            assert (int(top[t, j]), int(left[t, j])) == (math.floor(36 * y), math.floor(36 * x))


# --------------------------------------------------------------------------------------------
# benchmarks/rotation.py: argument parsing, the interleaved loop, the peer from the preset

ROTATION_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "rotation.py"


@pytest.fixture(scope="module")
def rotation_script():
    spec = importlib.util.spec_from_file_location("rotation_benchmark", ROTATION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_rotation_script_arguments(rotation_script) -> None:
    args = rotation_script.parse_args([])
    assert (args.batch_size, args.seconds, args.digits, args.threads, args.json) == (
        256, 3.0, "mnist", None, None,
    )  # fmt: skip
    args = rotation_script.parse_args(["--batch-size", "8", "--digits", "glyphs", "--threads", "1"])
    assert (args.batch_size, args.digits, args.threads) == (8, "glyphs", 1)
    for bad in (["--threads", "0"], ["--batch-size", "0"], ["--seconds", "-1"], ["--digits", "x"]):
        with pytest.raises(SystemExit):
            rotation_script.parse_args(bad)


def test_rotation_script_interleaves_with_rotating_order(rotation_script) -> None:
    log: list[str] = []
    now = [0.0]

    def clock() -> float:
        return now[0]

    def make(name: str, cost: float):
        def call() -> None:
            log.append(name)
            now[0] += cost

        return call

    times, cpu_per_wall = rotation_script.interleave(
        [make("a", 1.0), make("b", 2.0), make("c", 3.0)], seconds=10.0, warmup=1,
        clock=clock, cpu_clock=clock,
    )  # fmt: skip
    # Warm-up a b c; then rounds of 6 s each, starting at a, b, c in turn, until ≥ 10 s and 3.
    assert log == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert times == [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    assert cpu_per_wall == 1.0
    assert rotation_script.interleave([], 1.0) == ([], None)


def test_rotation_script_peer_from_the_presets(rotation_script) -> None:
    images = block_digits(3)
    peer = rotation_script.peer_from_config(SceneConfig.preset("mmnist_pp"), images)
    assert (peer.image_size, peer.num_frames, peer.num_digits, peer.step) == (64, 20, 3, 0.1)
    assert peer.max_rotation == 30.0
    assert peer.scale_factor == pytest.approx(1.1)
    assert peer.scale_period == 10.0
    assert peer.brightness == (0.6, 1.0)
    plain = rotation_script.peer_from_config(SceneConfig.preset("classic"), images)
    assert (plain.num_digits, plain.max_rotation, plain.scale_factor) == (2, 0.0, 1.0)
    with pytest.raises(bench.RowUnavailable, match="compositing"):
        rotation_script.peer_from_config(SceneConfig.preset("segmentation"), images)


def test_rotation_script_end_to_end(rotation_script, monkeypatch, tmp_path) -> None:
    # The whole script on the classic preset (nothing to check about transforms there), tiny.
    monkeypatch.setattr(rotation_script, "PRESET", "classic")
    glyphs = bench.load_digits("glyphs")
    small = bench.Digits(glyphs.images[:50], glyphs.source, SpriteBank.glyphs(count=50))
    monkeypatch.setattr(rotation_script.bench, "load_digits", lambda kind: small)
    out = tmp_path / "rotation.json"
    argv = ["--batch-size", "2", "--seconds", "0", "--digits", "glyphs", "--json", str(out)]
    assert rotation_script.main(argv) == 0
    document = json.loads(out.read_text())
    rows = document["results"]
    assert [r["name"] for r in rows] == [
        "gpu_mmnist render, CPU", "gpu_mmnist render, CPU", rotation_script.PEER,
    ]  # fmt: skip
    assert all(r["error"] is None and r["calls"] >= 3 for r in rows)
    assert set(document["ratio_ours_over_peer"]) == {bench.FRAMES, bench.FRAMES_BOXES_MASKS}
    assert document["environment"]["commit"]
    assert document["settings"]["peer"] == rotation_script.PEER
