"""Scenes beyond the classic one: hand-computed geometry of every motion model and of rotation,
statistics of the motion models, the compositing rules, background noise and shapes, digit-count
ranges, brightness, and determinism of every preset.

Fixed-point units (see :mod:`gpu_mmnist.sampler`): positions in ``1 / 2**24`` of the free range
(``ONE`` = far wall), angles in ``2**-32`` turn (``TURN``), scale ``Q16``, brightness ``Q8``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from fractions import Fraction

import pytest
import torch

from gpu_mmnist import PRESETS, SceneConfig, SceneParams, SpriteBank, reference, render, sample
from gpu_mmnist.config import MOTIONS
from gpu_mmnist.motion import (
    CIRCULAR,
    REFLECT,
    STOCHASTIC,
    TFDS,
    appearance,
    clamp_and_flip,
    positions,
    shape_positions,
)
from gpu_mmnist.rng import counter, philox4x32
from gpu_mmnist.sampler import LIGHT_ONE, ONE, Q16, STREAM_DIGIT, TURN, direction_table

CLASSIC = SceneConfig.preset("classic")
FREE = 64 - 28  # free range of a 28×28 digit on the 64×64 canvas
BATCH_FIELDS = (
    "frames",
    "labels",
    "sprite_ids",
    "positions",
    "indices",
    "boxes",
    "visible",
    "visible_boxes",
    "instance_masks",
    "semantic_masks",
)


def long(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.int64)


def hand_params(sprite_ids, start, velocity=None, labels=None, **fields) -> SceneParams:
    """``SceneParams.placed`` (classic, upright, full brightness) with ``fields`` replaced."""
    sprite_ids = long(sprite_ids)
    start = long(start)
    velocity = torch.zeros_like(start) if velocity is None else long(velocity)
    labels = sprite_ids.clamp(min=0) if labels is None else long(labels)
    indices = fields.pop("indices", None)
    params = SceneParams.placed(sprite_ids, labels, start, velocity, indices=indices)
    return dataclasses.replace(params, **{name: long(v) for name, v in fields.items()})


def at_pixel(pixel: int, extent: int) -> int:
    """A fixed-point position whose ``floor(extent · p)`` is exactly ``pixel``."""
    return -(-pixel * ONE // extent)


def bank_of(*images, labels=None) -> SpriteBank:
    stack = torch.stack([torch.as_tensor(i, dtype=torch.uint8) for i in images])
    labels = torch.arange(len(images)) if labels is None else long(labels)
    return SpriteBank.from_tensors(stack, labels)


def blank_bank(size: int = 4) -> SpriteBank:
    """Sprites without ink: the frames show the background alone."""
    return SpriteBank.from_tensors(torch.zeros(3, size, size, dtype=torch.uint8), long([0, 1, 2]))


def ink_bounds(image: torch.Tensor) -> list[int]:
    """``[x_min, y_min, x_max, y_max]`` of the non-zero pixels of a 2-D image, or ``-1``s."""
    ys, xs = torch.nonzero(image, as_tuple=True)
    if xs.numel() == 0:
        return [-1, -1, -1, -1]
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def single_slot_frames(config: SceneConfig, params: SceneParams, bank: SpriteBank) -> torch.Tensor:
    """uint8 ``[K, B, T, H, W]``: each slot rendered alone with the same parameters and no
    background."""
    alone = config.replace(num_digits=1, num_shapes=0, noise_density=0.0)
    return torch.stack(
        [
            reference.render(alone, params.slots(slice(k, k + 1)), bank).frames[:, :, 0]
            for k in range(params.num_slots)
        ]
    )


def without_digits(params: SceneParams) -> SceneParams:
    """The same sequences with every digit slot padded (only the background is drawn)."""
    off = torch.zeros_like(params.active)
    return dataclasses.replace(
        params,
        active=off,
        sprite_ids=torch.full_like(params.sprite_ids, -1),
        labels=torch.full_like(params.labels, -1),
    )


def chi_square(counts: torch.Tensor) -> float:
    counts = counts.double()
    expected = counts.sum() / counts.numel()
    return float(((counts - expected) ** 2 / expected).sum())


# 1. Hand-computed geometry ----------------------------------------------------------------------

# An asymmetric 8×8 sprite with an off-centre ink box (rows 1..7, columns 0..4).
ASYMMETRIC = torch.arange(1, 65, dtype=torch.uint8).reshape(8, 8)
ASYMMETRIC[0] = 0
ASYMMETRIC[:, 5:] = 0


@pytest.mark.parametrize(
    ("degrees", "quarter_turns"), [(90.0, 1), (180.0, 2), (270.0, 3), (-90.0, 3), (-180.0, 2)]
)
def test_right_angle_rotation_is_rot90_at_the_box(degrees: float, quarter_turns: int) -> None:
    # Canvas 16×16, sprite 8×8: free range 8 px; the box's top-left is placed at (x=3, y=5).
    # Positive angles turn counter-clockwise on screen, which is torch.rot90(·, 1, (0, 1)).
    config = SceneConfig(canvas=(16, 16), num_frames=1, num_digits=1, angle=degrees)
    bank = bank_of(ASYMMETRIC)
    drawn = sample(config, bank, [0])
    assert int(drawn.angle) % TURN == (quarter_turns * TURN // 4)
    assert int(drawn.spin) == 0
    params = hand_params([[0]], [[[at_pixel(3, 8), at_pixel(5, 8)]]], angle=drawn.angle)
    batch = reference.render(config, params, bank)

    expected = torch.zeros(16, 16, dtype=torch.uint8)
    expected[5:13, 3:11] = torch.rot90(ASYMMETRIC, quarter_turns, (0, 1))
    assert batch.positions[0, 0, 0].tolist() == [3, 5]
    assert torch.equal(batch.frames[0, 0, 0], expected)
    assert torch.equal(batch.instance_masks[0, 0], (expected > 0).to(torch.uint8))
    assert batch.boxes[0, 0, 0].tolist() == ink_bounds(expected)
    assert batch.visible[0, 0, 0].item()
    if quarter_turns == 1:  # counter-clockwise: sprite (row r, column c) lands at (7 − c, r)
        assert int(ASYMMETRIC[1, 4]) == 13 and int(batch.frames[0, 0, 0, 5 + 3, 3 + 1]) == 13


@pytest.mark.parametrize(("degrees", "quarter_turns"), [(90.0, 1), (180.0, 2), (-90.0, 3)])
def test_right_angle_rotation_of_a_wide_sprite_turns_about_its_centre(
    degrees: float, quarter_turns: int
) -> None:
    # A 5×9 (rows × columns) sprite with its box at (x=6, y=4) on 16×16 (free range 7 × 11 px):
    # its centre is pixel (x=10, y=6). A quarter turn stands it up as 9×5 about that centre,
    # rows 2..10 and columns 8..12 (partly above its own box); a half turn keeps its box.
    config = SceneConfig(canvas=(16, 16), num_frames=1, num_digits=1, angle=degrees)
    wide = torch.arange(1, 46, dtype=torch.uint8).reshape(5, 9)
    bank = bank_of(wide)
    params = hand_params(
        [[0]], [[[at_pixel(6, 7), at_pixel(4, 11)]]], angle=[[quarter_turns * TURN // 4]]
    )
    batch = reference.render(config, params, bank)
    expected = torch.zeros(16, 16, dtype=torch.uint8)
    if quarter_turns % 2:
        expected[2:11, 8:13] = torch.rot90(wide, quarter_turns, (0, 1))
    else:
        expected[4:9, 6:15] = torch.rot90(wide, quarter_turns, (0, 1))
    assert batch.positions[0, 0, 0].tolist() == [6, 4]
    assert torch.equal(batch.frames[0, 0, 0], expected)
    assert batch.boxes[0, 0, 0].tolist() == ink_bounds(expected)


@pytest.mark.parametrize(
    ("bank_name", "overrides"),
    [
        ("digits", {"rotation": (-30.0, 30.0), "scale": (1 / 1.1, 1.1), "scale_period": 10.0}),
        ("full", {"rotation": (-360.0, 360.0), "scale": (0.25, 4.0)}),
        ("full", {"scale": (0.25, 4.0)}),
        ("full", {"angle": 45.0, "scale": 3.7}),
    ],
)
def test_the_resampling_window_never_clips_a_digit(
    digits: SpriteBank, monkeypatch, bank_name: str, overrides: dict
) -> None:
    # A window six pixels wider on every side must change nothing: every non-zero resampled
    # pixel already lies inside the computed one (worst case: ink filling a non-square sprite).
    if bank_name == "digits":
        bank, canvas = digits, (64, 64)
    else:
        bank, canvas = bank_of(*[[[255] * 9] * 5] * 2), (24, 30)
    config = SceneConfig(canvas=canvas, num_frames=4, compositing="over", **overrides)
    params = sample(config, bank, range(6), seed=2)
    expected = reference.render(config, params, bank)
    window = reference.resample_window

    def wider(config: SceneConfig, sprites: SpriteBank) -> tuple[int, int, int, int]:
        left, top, width, height = window(config, sprites)
        return left - 6, top - 6, width + 12, height + 12

    monkeypatch.setattr(reference, "resample_window", wider)
    got = reference.render(config, params, bank)
    for name in BATCH_FIELDS:
        assert torch.equal(getattr(expected, name), getattr(got, name)), name


def test_quarter_turn_per_frame_spin() -> None:
    # rotation = 90°/frame from angle 0: frame t is the sprite turned t quarter turns CCW.
    config = SceneConfig(canvas=(16, 16), num_frames=5, num_digits=1, rotation=90.0)
    bank = bank_of(ASYMMETRIC)
    spin = sample(config, bank, [0]).spin
    assert int(spin) == TURN // 4
    params = hand_params([[0]], [[[at_pixel(4, 8), at_pixel(2, 8)]]], spin=spin)
    frames = reference.render(config, params, bank).frames[0, :, 0]
    for t in range(5):
        expected = torch.zeros(16, 16, dtype=torch.uint8)
        expected[2:10, 4:12] = torch.rot90(ASYMMETRIC, t, (0, 1))
        assert torch.equal(frames[t], expected), t


def test_identity_transform_in_a_transformed_config_is_the_classic_render(
    digits: SpriteBank,
) -> None:
    # Rotation, scale and brightness ranges make the config "transformed" (the resampling path);
    # forcing the identity pose must give the plain classic bytes.
    config = CLASSIC.replace(
        num_digits=3, num_frames=5, rotation=(-5.0, 5.0), scale=(0.9, 1.1), brightness=(0.5, 1.0)
    )
    assert config.transformed
    params = sample(config, digits, range(6), seed=2)
    params = dataclasses.replace(
        params,
        angle=torch.zeros_like(params.angle),
        spin=torch.zeros_like(params.spin),
        scale=torch.full_like(params.scale, Q16),
        brightness=torch.full_like(params.brightness, LIGHT_ONE),
    )
    classic = CLASSIC.replace(num_digits=3, num_frames=5)
    assert not classic.transformed
    got = reference.render(config, params, digits)
    expected = reference.render(classic, params, digits)
    for name in ("frames", "positions", "boxes", "visible", "instance_masks", "semantic_masks"):
        assert torch.equal(getattr(got, name), getattr(expected, name)), name


def bounce(start: Fraction, velocity: Fraction, steps: int) -> tuple[Fraction, int]:
    """Move ``steps`` steps in [0, 1] reflecting at each wall hit; returns (position, hits)."""
    position, direction, left, hits = start, 1 if velocity > 0 else -1, abs(velocity) * steps, 0
    while left > 0:
        room = (1 - position) if direction > 0 else position
        if left <= room:
            return position + direction * left, hits
        position, left, direction, hits = (
            (1 if direction > 0 else 0),
            left - room,
            -direction,
            hits + 1,
        )
    return position, hits


def test_reflect_bounces_off_both_walls_within_one_step() -> None:
    # Canvas 10×12, sprite 3×4: free range x 8 px, y 7 px. Steps longer than the free range:
    # x from 1/2 at +7/4: 1/2 → 1 (hit) → 0 (hit) → 1/4 in the first step;
    #   positions 1/4, 0, 1/4, 1/2 → 2, 0, 2, 4 px.
    # y from 1/4 at −3/2: 1/4 → 0 (hit) → 1 (hit) → 3/4; then 3/4, 1/4, 1/4 → 5, 5, 1, 1 px.
    config = SceneConfig(canvas=(10, 12), num_frames=4, num_digits=1, motion="reflect")
    sprite = torch.tensor([[0, 9, 0, 0], [0, 40, 50, 0], [0, 0, 70, 0]], dtype=torch.uint8)
    bank = bank_of(sprite)
    start, velocity = (ONE // 2, ONE // 4), (7 * ONE // 4, -3 * ONE // 2)
    params = hand_params([[0]], [[start]], [[velocity]], motion=[[REFLECT]])

    for axis, extent, expected_pixels in ((0, 8, [2, 0, 2, 4]), (1, 7, [5, 5, 1, 1])):
        p0, v = Fraction(start[axis], ONE), Fraction(velocity[axis], ONE)
        walked = [bounce(p0, v, t + 1) for t in range(4)]
        assert walked[0][1] == 2  # two wall hits in the first step
        assert [math.floor(extent * p) for p, _ in walked] == expected_pixels
    pixels = positions(config, params, (8, 7))[0, :, 0]
    assert pixels.tolist() == [[2, 5], [0, 5], [2, 1], [4, 1]]
    batch = reference.render(config, params, bank)
    for t, (x, y) in enumerate(pixels.tolist()):
        expected = torch.zeros(10, 12, dtype=torch.uint8)
        expected[y : y + 3, x : x + 4] = sprite
        assert torch.equal(batch.frames[0, t, 0], expected), t


def test_reflect_matches_a_wall_by_wall_simulation() -> None:
    # Any speed: the fixed-point fold equals bouncing wall by wall (exact rationals).
    config = SceneConfig(num_frames=6, num_digits=1, motion="reflect")
    gen = torch.Generator().manual_seed(7)
    start = torch.randint(0, ONE, (64, 1, 2), generator=gen)
    velocity = torch.randint(-3 * ONE, 3 * ONE, (64, 1, 2), generator=gen)
    params = hand_params(torch.zeros(64, 1), start, velocity, motion=torch.full((64, 1), REFLECT))
    pixels = positions(config, params, (FREE, FREE))
    for b in range(64):
        for axis in range(2):
            p0 = Fraction(int(start[b, 0, axis]), ONE)
            v = Fraction(int(velocity[b, 0, axis]), ONE)
            expected = [math.floor(FREE * bounce(p0, v, t + 1)[0]) for t in range(6)]
            assert pixels[b, :, 0, axis].tolist() == expected


@pytest.mark.parametrize("sense", [1, -1])
def test_circular_path_by_hand(sense: int) -> None:
    # Centre (1/2, 1/2), radius 1/4, phase 0, a quarter turn per frame; free range 8 px.
    # Frame t: (1/2 + cos, 1/2 + sin)/4 with y down → (6, 4), (4, 6 or 2), (2, 4), (4, 2 or 6).
    config = SceneConfig(canvas=(16, 16), num_frames=5, num_digits=1, motion="circular")
    params = hand_params(
        [[0]],
        [[[ONE // 2, ONE // 2]]],
        motion=[[CIRCULAR]],
        radius=[[ONE // 4]],
        phase=[[0]],
        angular=[[sense * TURN // 4]],
    )
    pixels = positions(config, params, (8, 8))[0, :, 0].tolist()
    if sense > 0:
        assert pixels == [[6, 4], [4, 6], [2, 4], [4, 2], [6, 4]]
    else:
        assert pixels == [[6, 4], [4, 2], [2, 4], [4, 6], [6, 4]]


def test_circular_eighth_turns_follow_cos_and_sin() -> None:
    # Phase 1/8 turn, +1/8 turn per frame, radius 3/8 about (1/2, 1/2), free range 20 px:
    # x = floor(20·(1/2 + 3/8·cos θ)), y = floor(20·(1/2 + 3/8·sin θ)), θ = (t + 1)·45°.
    config = SceneConfig(canvas=(28, 28), num_frames=8, num_digits=1, motion="circular")
    params = hand_params(
        [[0]],
        [[[ONE // 2, ONE // 2]]],
        motion=[[CIRCULAR]],
        radius=[[3 * ONE // 8]],
        phase=[[TURN // 8]],
        angular=[[TURN // 8]],
    )
    pixels = positions(config, params, (20, 20))[0, :, 0].tolist()
    expected = []
    for t in range(8):
        theta = (t + 1) * math.pi / 4
        expected.append(
            [
                math.floor(20 * (0.5 + 0.375 * round(math.cos(theta), 12))),
                math.floor(20 * (0.5 + 0.375 * round(math.sin(theta), 12))),
            ]
        )
    # x at 45°: 20·(1/2 + 3/8·0.7071) = 15.30 → 15; at 270°: x = 20·(1/2 + 0) = 10 exactly
    # (the Q30 cosine of 3/4 turn is exactly 0), y = 20·(1/2 − 3/8) = 2.5 → 2
    assert expected[0] == [15, 15] and expected[5] == [10, 2]
    assert pixels == expected


def test_tfds_frame_zero_is_the_start_and_pixels_are_rounded() -> None:
    # Free range 8 px. x from 29/32 at +1/8: 29/32, 33/32 → 31/32, 37/32 → 27/32, 41/32 → 23/32,
    # i.e. 7.25, 7.75, 6.75, 5.75 px → rounded 7, 8, 7, 6 (flooring would give 7, 7, 6, 5).
    # y from 7/16 at −1/16: 3.5, 3, 2.5, 2 px → 4, 3, 3, 2 (halves round up).
    config = SceneConfig(canvas=(16, 16), num_frames=4, num_digits=1, motion="tfds")
    params = hand_params(
        [[0]], [[[29 * ONE // 32, 7 * ONE // 16]]], [[[ONE // 8, -ONE // 16]]], motion=[[TFDS]]
    )
    pixels = positions(config, params, (8, 8))[0, :, 0].tolist()
    assert pixels == [[7, 4], [8, 3], [7, 3], [6, 2]]


def test_stochastic_first_frame_is_the_start_in_whole_pixels() -> None:
    # Pixel units: start (5, 9), velocity (+3, −2); no wall within four frames.
    config = SceneConfig(canvas=(40, 40), num_frames=4, num_digits=1, motion="stochastic")
    params = hand_params([[0]], [[[5, 9]]], [[[3, -2]]], motion=[[STOCHASTIC]])
    pixels = positions(config, params, (36, 36))[0, :, 0].tolist()
    assert pixels == [[5, 9], [8, 7], [11, 5], [14, 3]]


# Drawn by the classic-only sampler of commit 983ac25 (before the scene models existed).
GOLDEN_START = {
    0: [
        [[14772677, 12343212], [15764846, 989632]],
        [[6074880, 11642228], [14272381, 8283865]],
        [[713820, 12080866], [7714352, 191017]],
        [[6219379, 8447170], [10672603, 1384330]],
    ],
    12345: [
        [[3112938, 13814422], [15571838, 7264427]],
        [[2420887, 14981848], [10553870, 7797823]],
        [[4425606, 1376485], [7951505, 11179357]],
        [[2706027, 1697263], [7402980, 4196341]],
    ],
}
GOLDEN_VELOCITY = {
    0: [
        [[-1322626, -1032188], [-1669769, -163165]],
        [[1632397, 387338], [-1505816, 739777]],
        [[-1603837, 492402], [-342596, -1642370]],
        [[-1526201, 696751], [-1677189, 42299]],
    ],
    12345: [
        [[1274579, -1090963], [-1611111, -468051]],
        [[-1020098, -1331972], [-519546, -1595250]],
        [[-1331679, -1020481], [-873671, -1432289]],
        [[1182113, -1190529], [561874, -1580838]],
    ],
}
GOLDEN_INDICES = [0, 1, 7, 2**40 + 3]
GOLDEN_SPRITES_OF_1000 = [[399, 516], [972, 790], [658, 83], [799, 297]]  # seed 0
GOLDEN_MNIST_RENDER = {  # classic, seed 0, indices [0, 1, 7], real MNIST train
    "frames": "bb143ee1171e188c1d42c25c0e6709f209cc8abb92033852868d00df1cfec8b3",
    "instance_masks": "729462b863e9286311a4ad0f86319cc420fb3ce438115874f0436082ca8ddb35",
    "semantic_masks": "412bd51b401aefade07c4a4640ed7098f416917cf82b69999d6c9bcfeff338bd",
    "boxes": "f399d6b8d4c16ead951fa4bf66f51c5963fa4f855bc073d17643dbbe8098e764",
}


@pytest.mark.parametrize("seed", [0, 12345])
def test_classic_draws_are_unchanged(seed: int) -> None:
    bank = SpriteBank.from_tensors(
        torch.zeros(1000, 28, 28, dtype=torch.uint8), torch.arange(1000) % 10
    )
    params = sample(CLASSIC, bank, GOLDEN_INDICES, seed=seed)
    assert params.start.tolist() == GOLDEN_START[seed]
    assert params.velocity.tolist() == GOLDEN_VELOCITY[seed]
    if seed == 0:
        assert params.sprite_ids.tolist() == GOLDEN_SPRITES_OF_1000
    # the old algorithm, from the Philox words of stream 0: start = words >> 8, direction from
    # the top 16 bits of word 3, speed round(0.1 · ONE), sprite = (word 0 · N) >> 32
    words = philox4x32(
        *counter(long(GOLDEN_INDICES)[:, None], "train", STREAM_DIGIT, torch.arange(2)[None], 0),
        seed,
    )
    assert torch.equal(params.sprite_ids, (words[0] * 1000) >> 32)
    assert torch.equal(params.start, torch.stack([words[1], words[2]], dim=-1) >> 8)
    unit = direction_table(torch.device("cpu"))[words[3] >> 16]
    assert torch.equal(params.velocity, (unit * round(0.1 * ONE) + (1 << 29)) >> 30)
    # classic positions: step before each frame, clamp-and-flip, floor
    expected = (clamp_and_flip(params.start, params.velocity, 20) * FREE) >> 24
    assert torch.equal(positions(CLASSIC, params, (FREE, FREE)), expected)


def test_scene_features_never_change_the_classic_draws(digits: SpriteBank) -> None:
    base = sample(CLASSIC, digits, range(64), seed=3)
    busy = CLASSIC.replace(
        rotation=(-30.0, 30.0),
        scale=(0.5, 2.0),
        brightness=(0.2, 1.0),
        brightness_mode="ramp",
        noise_density=0.3,
        num_shapes=(1, 4),
        compositing="over",
    )
    other = sample(busy, digits, range(64), seed=3)
    for name in ("sprite_ids", "labels", "start", "velocity", "active"):
        assert torch.equal(getattr(base, name), getattr(other, name)), name
    assert torch.equal(positions(CLASSIC, base, (FREE, FREE)), positions(busy, other, (FREE, FREE)))


def test_classic_render_bytes_are_unchanged(mnist_train: SpriteBank) -> None:
    batch = render(CLASSIC, mnist_train, [0, 1, 7], seed=0)
    for name, digest in GOLDEN_MNIST_RENDER.items():
        data = getattr(batch, name).contiguous().numpy().tobytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


# 2. Statistics of the motion models ------------------------------------------------------------

NUM_STAT = 4096


@pytest.fixture(scope="module")
def motion_draws(digits: SpriteBank) -> dict[str, tuple[SceneParams, torch.Tensor]]:
    """Per model: parameters of 4096 two-digit sequences and their pixel positions [B, T, K, 2]."""
    draws = {}
    for model in MOTIONS:
        config = SceneConfig(num_digits=2, motion=model)
        params = sample(config, digits, range(NUM_STAT), seed=21)
        draws[model] = (params, positions(config, params, (FREE, FREE)))
    return draws


@pytest.mark.parametrize("model", MOTIONS)
def test_positions_stay_within_the_free_range(motion_draws, model: str) -> None:
    params, pixels = motion_draws[model]
    assert bool((params.motion == MOTIONS.index(model)).all())
    top = FREE - 1 if model == "stochastic" else FREE  # SVG keeps the corner below R − 1
    assert int(pixels.min()) <= (1 if model == "circular" else 0)
    assert int(pixels.max()) <= top
    assert int(pixels.max()) >= top - 1  # the whole range is used


def interior_steps(pixels: torch.Tensor, margin: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame displacement vectors whose two ends are ``margin`` px or more from every wall."""
    inside = ((pixels >= margin) & (pixels <= FREE - margin)).all(dim=-1)
    step = (pixels[:, 1:] - pixels[:, :-1]).double()
    keep = inside[:, 1:] & inside[:, :-1]
    return step[keep], keep


@pytest.mark.parametrize("model", ["classic", "tfds", "reflect", "linear", "circular"])
def test_speed_is_0_1_of_the_free_range_away_from_walls(motion_draws, model: str) -> None:
    _, pixels = motion_draws[model]
    step, _ = interior_steps(pixels, 4)  # a 3.6 px step cannot reach a wall from there
    assert step.shape[0] > 50_000
    length = torch.linalg.vector_norm(step, dim=-1)
    # whole pixels move each end by less than one pixel per axis
    assert float((length - 3.6).abs().max()) < math.sqrt(2) + 0.01
    assert abs(float(length.mean()) - 3.6) < 0.1


def test_stochastic_velocities_are_uniform_integers(motion_draws) -> None:
    params, pixels = motion_draws["stochastic"]
    velocity = params.velocity
    assert int(velocity.min()) == -4 and int(velocity.max()) == 4
    counts = torch.bincount((velocity + 4).flatten(), minlength=9)
    assert chi_square(counts) < 26.1  # p = 0.001, 8 degrees of freedom
    step = pixels[:, 1:] - pixels[:, :-1]
    assert int(step.abs().max()) <= 4
    assert torch.equal(pixels[:, 0], params.start)  # frame 0 at the start
    inside = ((pixels[:, 0] >= 4) & (pixels[:, 0] <= FREE - 5)).all(dim=-1)
    assert torch.equal(step[:, 0][inside], velocity[inside])  # the first step is the velocity
    assert abs(float(velocity.double().mean())) < 0.05


@pytest.mark.parametrize(("axis", "low"), [(0, True), (0, False), (1, True), (1, False)])
def test_stochastic_wall_hit_draws_an_inward_velocity(axis: int, low: bool) -> None:
    # One digit one pixel from a wall heading into it at 4 px/frame, in 4096 sequences (each
    # index has its own per-frame draws). Frame 1 is clamped at the wall; the step after it is
    # the new velocity: inward 1…4 on the hit axis, −4…4 on the other, both uniform.
    config = SceneConfig(canvas=(40, 40), num_frames=3, num_digits=1, motion="stochastic")
    top = 36 - 1
    start = [18, 18]
    start[axis] = 1 if low else top - 1
    velocity = [0, 0]
    velocity[axis] = -4 if low else 4
    count = NUM_STAT
    params = hand_params(
        torch.zeros(count, 1),
        long(start).expand(count, 1, 2),
        long(velocity).expand(count, 1, 2),
        motion=torch.full((count, 1), STOCHASTIC),
        indices=torch.arange(count),
    )
    pixels = positions(config, params, (36, 36))[:, :, 0]
    assert bool((pixels[:, 1, axis] == (0 if low else top)).all())
    new = pixels[:, 2] - pixels[:, 1]
    inward = new[:, axis] if low else -new[:, axis]
    assert int(inward.min()) == 1 and int(inward.max()) == 4
    assert chi_square(torch.bincount(inward - 1, minlength=4)) < 16.3  # p = 0.001, 3 dof
    other = new[:, 1 - axis]
    assert int(other.min()) == -4 and int(other.max()) == 4
    assert chi_square(torch.bincount(other + 4, minlength=9)) < 26.1


def test_circular_keeps_its_radius(motion_draws) -> None:
    params, pixels = motion_draws["circular"]
    radius, centre = params.radius, params.start
    assert int(radius.min()) >= ONE // 4 and int(radius.max()) <= ONE // 2
    assert bool(((centre >= radius[..., None]) & (centre <= ONE - radius[..., None])).all())
    centre_px = centre.double()[:, None] * FREE / ONE
    radius_px = radius.double()[:, None] * FREE / ONE
    distance = torch.linalg.vector_norm(pixels.double() - centre_px, dim=-1)
    error = distance - radius_px
    assert float(error.abs().max()) < math.sqrt(2) + 0.01  # flooring only
    assert abs(float(error.mean())) < 0.1
    # both senses of rotation, about evenly
    clockwise = float((params.angular < 0).double().mean())
    assert abs(clockwise - 0.5) < 0.03
    # the starting arm points anywhere: isotropic phase
    arm = pixels[:, 0].double() - centre_px[:, 0]
    assert abs(float((arm[..., 0] / distance[:, 0]).mean())) < 0.05
    assert abs(float((arm[..., 1] / distance[:, 0]).mean())) < 0.05


def test_linear_heading_turns_at_most_the_perturbation_per_frame(digits: SpriteBank) -> None:
    # A 4096×4096 canvas makes whole pixels precise to ~0.1° at 0.1 of the free range per frame.
    config = SceneConfig(canvas=(4096, 4096), num_digits=1, motion="linear", perturbation=10.0)
    params = sample(config, digits, range(NUM_STAT), seed=5)
    extent = 4096 - 28
    pixels = positions(config, params, (extent, extent))[:, :, 0].double()
    step = pixels[:, 1:] - pixels[:, :-1]
    length = torch.linalg.vector_norm(step, dim=-1)
    reach = 0.1 * extent + 2
    inside = ((pixels > reach) & (pixels < extent - reach)).all(dim=-1)  # no wall within a step
    keep = inside[:, :-2] & inside[:, 1:-1] & inside[:, 2:]
    assert int(keep.sum()) > 20_000
    assert float((length[inside[:, 1:] & inside[:, :-1]] - 0.1 * extent).abs().max()) < 2
    heading = torch.atan2(step[..., 1], step[..., 0])
    turn = torch.rad2deg(
        torch.remainder(heading[:, 1:] - heading[:, :-1] + math.pi, 2 * math.pi) - math.pi
    )
    turn = turn[keep]
    assert float(turn.abs().max()) <= 10.5
    assert float(turn.abs().max()) > 9.5  # the whole perturbation range is used
    assert abs(float(turn.mean())) < 0.3
    assert abs(float(turn.std()) - 10 / math.sqrt(3)) < 0.3  # uniform on [−10°, 10°]


def test_linear_without_perturbation_is_reflect(motion_draws) -> None:
    params, _ = motion_draws["linear"]
    straight = SceneConfig(num_digits=2, motion="linear", perturbation=0.0)
    as_reflect = dataclasses.replace(params, motion=torch.full_like(params.motion, REFLECT))
    assert torch.equal(
        positions(straight, params, (FREE, FREE)),
        positions(SceneConfig(num_digits=2, motion="reflect"), as_reflect, (FREE, FREE)),
    )


@pytest.mark.parametrize("model", ["classic", "tfds", "reflect", "linear"])
def test_directions_are_isotropic(motion_draws, model: str) -> None:
    params, _ = motion_draws[model]
    velocity = params.velocity.double().reshape(-1, 2)
    unit = velocity / torch.linalg.vector_norm(velocity, dim=-1, keepdim=True)
    assert float(unit.mean(dim=0).abs().max()) < 0.05  # 4.5 σ for 8192 directions
    quadrant = (velocity[:, 0] >= 0).long() * 2 + (velocity[:, 1] >= 0).long()
    assert chi_square(torch.bincount(quadrant, minlength=4)) < 16.3


def test_speed_ranges_spread_over_the_range(digits: SpriteBank) -> None:
    config = SceneConfig(num_digits=2, step=(0.05, 0.15))
    params = sample(config, digits, range(NUM_STAT), seed=8)
    low, high = round(0.05 * ONE), round(0.15 * ONE)
    speed = params.speed
    assert int(speed.min()) >= low and int(speed.max()) <= high
    bins = ((speed - low) * 5 // (high - low + 1)).flatten()
    assert chi_square(torch.bincount(bins, minlength=5)) < 18.5  # p = 0.001, 4 dof
    length = torch.linalg.vector_norm(params.velocity.double(), dim=-1)
    assert float((length - speed.double()).abs().max()) < 1  # fixed-point rounding only
    step, _ = interior_steps(positions(config, params, (FREE, FREE)), 6)
    pixels_per_frame = torch.linalg.vector_norm(step, dim=-1)
    assert float(pixels_per_frame.min()) > 1.8 - math.sqrt(2)
    assert float(pixels_per_frame.max()) < 5.4 + math.sqrt(2)
    assert float(torch.quantile(pixels_per_frame, 0.05)) < 2.3
    assert float(torch.quantile(pixels_per_frame, 0.95)) > 4.9


def test_a_motion_tuple_gives_each_model_a_third(digits: SpriteBank) -> None:
    models = ("reflect", "circular", "linear")
    config = SceneConfig(num_digits=2, motion=models)
    params = sample(config, digits, range(NUM_STAT), seed=13)
    counts = torch.bincount(params.motion.flatten(), minlength=len(MOTIONS))
    codes = [MOTIONS.index(m) for m in models]
    assert int(counts.sum()) == int(counts[codes].sum())  # no other model
    assert float((counts[codes].double() / counts.sum() - 1 / 3).abs().max()) < 0.02
    # each digit moves like its own model would move it alone
    mixed = positions(config, params, (FREE, FREE))
    for model, code in zip(models, codes, strict=True):
        alone = positions(config.replace(motion=model), params, (FREE, FREE))
        rows = params.motion == code
        assert torch.equal(mixed.permute(0, 2, 1, 3)[rows], alone.permute(0, 2, 1, 3)[rows])


# 3. Compositing ---------------------------------------------------------------------------------

# A (slot 0) at (x=1, y=1), B (slot 1) at (x=2, y=2) on a 6×8 canvas (free range 5 × 3 px).
SPRITE_A = [[200, 200, 200], [200, 200, 200], [200, 200, 30]]
SPRITE_B = [[220, 128, 200], [200, 200, 200], [200, 200, 0]]
OVERLAP_START = [[at_pixel(1, 5), at_pixel(1, 3)], [at_pixel(2, 5), at_pixel(2, 3)]]
EMPTY_ROW = [0] * 8
MAX_FRAME = [
    EMPTY_ROW,
    [0, 200, 200, 200, 0, 0, 0, 0],
    [0, 200, 220, 200, 200, 0, 0, 0],
    [0, 200, 200, 200, 200, 0, 0, 0],
    [0, 0, 200, 200, 0, 0, 0, 0],
    EMPTY_ROW,
]
SUM_FRAME = [  # 200 + 220 and 200 + 128 and 200 + 200 clip at 255; 30 + 200 = 230
    EMPTY_ROW,
    [0, 200, 200, 200, 0, 0, 0, 0],
    [0, 200, 255, 255, 200, 0, 0, 0],
    [0, 200, 255, 230, 200, 0, 0, 0],
    [0, 0, 200, 200, 0, 0, 0, 0],
    EMPTY_ROW,
]
BRIGHTEST_OWNER = [  # ties (200 against 200) stay with the lower slot
    EMPTY_ROW,
    [0, 1, 1, 1, 0, 0, 0, 0],
    [0, 1, 2, 1, 2, 0, 0, 0],
    [0, 1, 1, 2, 2, 0, 0, 0],
    [0, 0, 2, 2, 0, 0, 0, 0],
    EMPTY_ROW,
]
# over: B + ((255 − B)·A + 127) // 255 — 220 over 200: 220 + 7127 // 255 = 247;
# 128 over 200: 128 + 25527 // 255 = 228; 200 over 200: 200 + 11127 // 255 = 243;
# 200 over 30: 200 + 1777 // 255 = 206; over nothing: B + 127 // 255 = B.
OVER_FRAME = [
    EMPTY_ROW,
    [0, 200, 200, 200, 0, 0, 0, 0],
    [0, 200, 247, 228, 200, 0, 0, 0],
    [0, 200, 243, 206, 200, 0, 0, 0],
    [0, 0, 200, 200, 0, 0, 0, 0],
    EMPTY_ROW,
]
TOPMOST_OWNER = [
    EMPTY_ROW,
    [0, 1, 1, 1, 0, 0, 0, 0],
    [0, 1, 2, 2, 2, 0, 0, 0],
    [0, 1, 2, 2, 2, 0, 0, 0],
    [0, 0, 2, 2, 0, 0, 0, 0],
    EMPTY_ROW,
]


@pytest.mark.parametrize(
    ("mode", "frame", "owner"),
    [
        ("max", MAX_FRAME, BRIGHTEST_OWNER),
        ("sum", SUM_FRAME, BRIGHTEST_OWNER),
        ("over", OVER_FRAME, TOPMOST_OWNER),
    ],
)
def test_compositing_of_two_overlapping_digits(mode: str, frame, owner) -> None:
    config = SceneConfig(canvas=(6, 8), num_frames=1, num_digits=2, compositing=mode)
    bank = bank_of(SPRITE_A, SPRITE_B, labels=[4, 7])
    params = hand_params([[0, 1]], [OVERLAP_START], labels=[[4, 7]])
    batch = reference.render(config, params, bank)
    assert batch.frames[0, 0, 0].tolist() == frame
    assert batch.instance_masks[0, 0].tolist() == owner
    semantic = [[{0: 0, 1: 5, 2: 8}[o] for o in row] for row in owner]
    assert batch.semantic_masks[0, 0].tolist() == semantic
    assert batch.boxes[0, 0].tolist() == [[1, 1, 3, 3], [2, 2, 4, 4]]  # amodal
    if mode == "over":
        assert batch.visible_boxes[0, 0].tolist() == [[1, 1, 3, 3], [2, 2, 4, 4]]
    else:
        assert batch.visible_boxes is None


def test_over_uses_the_sampled_intensity_as_alpha() -> None:
    # B at brightness 0.5 (light 128) still occludes with its sprite value as alpha:
    # 220 → value 110, alpha 220: 110 + 7127 // 255 = 137; 128 → 64 + 25527 // 255 = 164;
    # 200 over 200 → 100 + 43 = 143; 200 over 30 → 100 + 6 = 106; over nothing → 100.
    config = SceneConfig(
        canvas=(6, 8), num_frames=1, num_digits=2, compositing="over", brightness=(0.5, 1.0)
    )
    bank = bank_of(SPRITE_A, SPRITE_B)
    params = hand_params([[0, 1]], [OVERLAP_START], brightness=[[[256, 256], [128, 128]]])
    batch = reference.render(config, params, bank)
    assert batch.frames[0, 0, 0].tolist() == [
        EMPTY_ROW,
        [0, 200, 200, 200, 0, 0, 0, 0],
        [0, 200, 137, 164, 100, 0, 0, 0],
        [0, 200, 143, 106, 100, 0, 0, 0],
        [0, 0, 100, 100, 0, 0, 0, 0],
        EMPTY_ROW,
    ]
    assert batch.instance_masks[0, 0].tolist() == TOPMOST_OWNER


def test_slot_order_is_depth_for_over() -> None:
    # The same two digits with B at the back: A (200, opaque where 200) wins where it has ink.
    config = SceneConfig(canvas=(6, 8), num_frames=1, num_digits=2, compositing="over")
    bank = bank_of(SPRITE_A, SPRITE_B)
    params = hand_params([[1, 0]], [OVERLAP_START[::-1]])  # slot 0 = B at (2, 2), slot 1 = A
    frame = reference.render(config, params, bank).frames[0, 0, 0]
    # A over B: 200 + (55·220 + 127) // 255 = 247; 200 + (55·128 + 127) // 255 = 228;
    # 200 + (55·200 + 127) // 255 = 243; 30 + (225·200 + 127) // 255 = 30 + 176 = 206.
    assert frame[2, 2].item() == 247 and frame[2, 3].item() == 228
    assert frame[3, 2].item() == 243 and frame[3, 3].item() == 206


def test_fully_hidden_digit_has_no_visible_box() -> None:
    # A small digit (one ink pixel) behind an opaque 3×3 square at the same place.
    config = SceneConfig(canvas=(6, 8), num_frames=1, num_digits=2, compositing="over")
    dot = [[0, 0, 0], [0, 90, 0], [0, 0, 0]]
    square = [[255] * 3] * 3
    bank = bank_of(dot, square, labels=[3, 6])
    place = [at_pixel(2, 5), at_pixel(1, 3)]
    params = hand_params([[0, 1]], [[place, place]], labels=[[3, 6]])
    batch = reference.render(config, params, bank)
    assert batch.boxes[0, 0].tolist() == [[3, 2, 3, 2], [2, 1, 4, 3]]  # amodal: still there
    assert batch.visible[0, 0].tolist() == [True, True]
    assert batch.visible_boxes[0, 0].tolist() == [[-1, -1, -1, -1], [2, 1, 4, 3]]
    assert not bool((batch.instance_masks == 1).any())
    assert batch.frames[0, 0, 0, 2, 3].item() == 255
    # the square two columns to the right: the dot's pixel (column 3) shows again
    params = hand_params([[0, 1]], [[place, [at_pixel(4, 5), at_pixel(1, 3)]]])
    batch = reference.render(config, params, bank)
    assert batch.visible_boxes[0, 0].tolist() == [[3, 2, 3, 2], [4, 1, 6, 3]]


@pytest.mark.parametrize("preset", ["mmnist_pp", "segmentation", "detection"])
def test_boxes_are_tight_bounds_of_each_digits_own_pixels(digits: SpriteBank, preset: str) -> None:
    config = SceneConfig.preset(preset, canvas=(64, 64), num_frames=4)
    params = sample(config, digits, range(6), seed=4)
    batch = reference.render(config, params, digits)
    layers = single_slot_frames(config, params, digits)
    for b in range(6):
        for t in range(4):
            for k in range(params.num_slots):
                assert batch.boxes[b, t, k].tolist() == ink_bounds(layers[k, b, t]), (b, t, k)
                assert bool(batch.visible[b, t, k]) == bool(layers[k, b, t].any())
                if config.compositing == "over":
                    owned = batch.instance_masks[b, t] == k + 1
                    assert batch.visible_boxes[b, t, k].tolist() == ink_bounds(owned)


@pytest.mark.parametrize(
    ("mode", "transformed"), [("max", False), ("sum", False), ("over", False), ("over", True)]
)
def test_compositing_rules_over_the_background(
    digits: SpriteBank, mode: str, transformed: bool
) -> None:
    # Frames rebuilt from each digit alone and the background alone, by the documented rules.
    config = SceneConfig(
        canvas=(48, 48),
        num_frames=3,
        num_digits=3,
        motion="reflect",
        compositing=mode,
        noise_density=0.1,
        num_shapes=2,
        shape_size=(6, 16),
    )
    if transformed:
        config = config.replace(rotation=(-20.0, 20.0), brightness=(0.4, 1.0))
    params = sample(config, digits, range(5), seed=6)
    batch = reference.render(config, params, digits)
    background = reference.render(config, without_digits(params), digits).frames[:, :, 0].int()
    values = single_slot_frames(config, params, digits).int()
    if mode == "max":
        expected = torch.maximum(values.amax(dim=0), background)
    elif mode == "sum":
        expected = (values.sum(dim=0) + background).clamp(max=255)
    else:
        # alpha: the digit's resampled intensity before brightness (the value at light 1.0)
        full = dataclasses.replace(params, brightness=torch.full_like(params.brightness, LIGHT_ONE))
        alphas = single_slot_frames(config, full, digits).int() if transformed else values
        expected = background
        for k in range(3):
            expected = values[k] + ((255 - alphas[k]) * expected + 127) // 255
    assert torch.equal(batch.frames[:, :, 0].int(), expected)


def test_padded_slots_never_touch_transformed_over_frames(digits: SpriteBank) -> None:
    # Segmentation: 2–3 rotating digits with "over"; a padded third slot must draw nothing and
    # occlude nothing (its alpha must not come from some sprite of the bank).
    config = SceneConfig.preset("segmentation", num_frames=4)
    params = sample(config, digits, range(24), seed=0)
    two = (params.active.sum(dim=1) == 2).nonzero()[:, 0]
    assert 3 <= two.numel() <= 21
    full = reference.render(config, params, digits)
    first_two = reference.render(config.replace(num_digits=2), params.slots(slice(0, 2)), digits)
    for name in ("frames", "instance_masks", "semantic_masks"):
        assert torch.equal(getattr(full, name)[two], getattr(first_two, name)[two]), name


# 4. Background ----------------------------------------------------------------------------------

NOISY = SceneConfig(
    canvas=(32, 32), num_frames=20, num_digits=1, noise_density=0.05, noise_brightness=(0.2, 0.4)
)


def test_pepper_noise_density_values_and_flicker() -> None:
    bank = blank_bank()
    batch = render(NOISY, bank, range(16), seed=3)
    noise = reference.pepper_noise(NOISY, long(range(16)), 3, "train")
    assert torch.equal(batch.frames[:, :, 0], noise)  # blank digits: the frames are the noise
    on = noise > 0
    pixels = on.numel()  # 16 · 20 · 1024
    assert abs(float(on.double().mean()) - 0.05) < 4 * math.sqrt(0.05 * 0.95 / pixels)
    values = noise[on]
    assert int(values.min()) == 51 and int(values.max()) == 102  # round(0.2·255), round(0.4·255)
    # drawn anew every frame: consecutive frames differ, their overlap is chance (p² ≈ 0.0025)
    assert bool((on[:, 1:] != on[:, :-1]).flatten(2).any(dim=2).all())
    assert float((on[:, 1:] & on[:, :-1]).double().mean()) < 2 * 0.05**2
    assert not bool(batch.instance_masks.any()) and not bool(batch.semantic_masks.any())


def test_background_is_the_same_for_an_index_in_any_batch(digits: SpriteBank) -> None:
    config = SceneConfig.preset("segmentation", num_frames=5, noise_density=0.1)
    whole = render(config, digits, range(6), seed=12)
    part = render(config, digits, [3, 5], seed=12)
    for name in BATCH_FIELDS:
        assert torch.equal(getattr(whole, name)[[3, 5]], getattr(part, name)), name
    other_seed = render(config, digits, [3, 5], seed=13)
    assert not torch.equal(other_seed.frames, part.frames)


@pytest.mark.parametrize("mode", ["max", "sum", "over"])
def test_background_never_enters_masks_or_boxes(digits: SpriteBank, mode: str) -> None:
    config = SceneConfig.preset("segmentation", num_frames=4, compositing=mode, noise_density=0.2)
    params = sample(config, digits, range(8), seed=9)
    noisy = reference.render(config, params, digits)
    clean = reference.render(config.replace(num_shapes=0, noise_density=0.0), params, digits)
    assert not torch.equal(noisy.frames, clean.frames)
    for name in ("instance_masks", "semantic_masks", "boxes", "visible", "visible_boxes"):
        a, b = getattr(noisy, name), getattr(clean, name)
        assert (a is None and b is None) or torch.equal(a, b), name


def test_shape_images_by_hand() -> None:
    # 5×5 shapes: a circle misses the four corners; a triangle (apex at the top centre) fills
    # row i where 2·|2j − 4| <= 2i + 1: 1, 1, 3, 3, 5 pixels.
    config = SceneConfig(canvas=(16, 16), num_digits=1, num_shapes=3, shape_size=(5, 5))
    params = hand_params(
        [[0]],
        [[[0, 0]]],
        shape_kind=[[0, 1, 2]],
        shape_size=[[[5, 5]] * 3],
        shape_value=[[100, 100, 100]],
        shape_start=[[[0, 0]] * 3],
        shape_velocity=[[[0, 0]] * 3],
    )
    images = (reference.shape_images(config, params)[0] > 0).int().tolist()
    circle = [[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]]
    triangle = [
        [0, 0, 1, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
    ]
    assert images == [circle, [[1] * 5] * 5, triangle]


def test_shapes_move_and_are_drawn_under_the_digits() -> None:
    config = SceneConfig(
        canvas=(40, 48), num_frames=5, num_digits=1, num_shapes=(1, 3), shape_size=(6, 20)
    )
    params = sample(config, blank_bank(), range(12), seed=4)
    present = params.shape_kind >= 0
    counts = present.sum(dim=1)
    assert int(counts.min()) >= 1 and int(counts.max()) <= 3
    assert set(params.shape_kind[present].tolist()) == {0, 1, 2}
    values = params.shape_value[present]
    assert int(values.min()) >= round(0.2 * 255) and int(values.max()) <= round(0.6 * 255)
    frames = reference.render(config, params, blank_bank()).frames[:, :, 0]
    pictures = reference.shape_images(config, params)
    where = shape_positions(config, params)
    assert bool(
        (where[:, 1:] != where[:, :-1]).any(dim=-1)[present[:, None].expand(-1, 4, -1)].all()
    )
    expected = torch.zeros_like(frames)
    for b in range(12):
        for s in range(params.shape_kind.shape[1]):
            if not present[b, s]:
                continue
            w, h = params.shape_size[b, s].tolist()
            for t in range(5):
                x, y = where[b, t, s].tolist()
                assert 0 <= x <= 48 - w and 0 <= y <= 40 - h
                region = expected[b, t, y : y + h, x : x + w]
                torch.maximum(region, pictures[b, s, :h, :w], out=region)
    assert torch.equal(frames, expected)


# 5. Digit counts --------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["classic", "segmentation"])
def test_digit_count_ranges_pad_unused_slots(digits: SpriteBank, preset: str) -> None:
    config = SceneConfig.preset(preset, num_digits=(2, 3), num_frames=3)
    batch = render(config, digits, range(40), seed=1)
    params = sample(config, digits, range(40), seed=1)
    count = params.active.sum(dim=1)
    assert set(count.tolist()) == {2, 3}
    assert torch.equal(params.active, torch.arange(3)[None] < count[:, None])
    padded = ~params.active
    assert bool((batch.labels[padded] == -1).all()) and bool((batch.sprite_ids[padded] == -1).all())
    assert bool((batch.labels[~padded] >= 0).all())
    slots = padded[:, None].expand(-1, 3, -1)
    assert not bool(batch.visible[slots].any())
    assert bool((batch.boxes[slots] == -1).all())
    if batch.visible_boxes is not None:
        assert bool((batch.visible_boxes[slots] == -1).all())
    assert bool((batch.instance_masks.flatten(1).amax(dim=1) <= count).all())
    assert bool((batch.instance_masks[count == 2] != 3).all())


def test_up_to_twenty_digits_on_a_large_canvas(digits: SpriteBank) -> None:
    config = SceneConfig(canvas=(128, 128), num_frames=3, num_digits=(1, 20), compositing="over")
    batch = render(config, digits, range(24), seed=2)
    count = (batch.labels >= 0).sum(dim=1)
    assert batch.labels.shape == (24, 20) and batch.frames.shape == (24, 3, 1, 128, 128)
    assert int(count.min()) >= 1 and int(count.max()) <= 20 and len(set(count.tolist())) > 5
    assert bool((batch.instance_masks.flatten(1).amax(dim=1) <= count).all())
    owner = batch.instance_masks.long()
    assert torch.equal(owner > 0, batch.frames[:, :, 0] > 0)  # no background here
    assert bool(batch.visible[batch.labels[:, None].expand(-1, 3, -1) >= 0].all())


# 6. Presets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_renders_deterministically(digits: SpriteBank, name: str) -> None:
    config = SceneConfig.preset(name)
    num_frames, num_slots = config.num_frames, config.max_digits
    height, width = config.canvas
    whole = render(config, digits, range(6), seed=11)
    expected = {
        "frames": ((6, num_frames, 1, height, width), torch.uint8),
        "labels": ((6, num_slots), torch.int64),
        "sprite_ids": ((6, num_slots), torch.int64),
        "positions": ((6, num_frames, num_slots, 2), torch.float32),
        "indices": ((6,), torch.int64),
        "boxes": ((6, num_frames, num_slots, 4), torch.int32),
        "visible": ((6, num_frames, num_slots), torch.bool),
        "instance_masks": ((6, num_frames, height, width), torch.uint8),
        "semantic_masks": ((6, num_frames, height, width), torch.uint8),
    }
    if config.compositing == "over":
        expected["visible_boxes"] = ((6, num_frames, num_slots, 4), torch.int32)
    else:
        assert whole.visible_boxes is None
    for field, (shape, dtype) in expected.items():
        value = getattr(whole, field)
        assert tuple(value.shape) == shape and value.dtype == dtype, field
    assert bool(whole.frames.any()) and bool(whole.visible.any())
    part = render(config, digits, [5, 3], seed=11)
    for field in BATCH_FIELDS:
        value = getattr(whole, field)
        if value is not None:
            assert torch.equal(value[[5, 3]], getattr(part, field)), field


@pytest.mark.parametrize("name", ["classic", "segmentation", "mmnist_pp"])
def test_presets_do_not_depend_on_chunking(digits: SpriteBank, name: str, monkeypatch) -> None:
    config = SceneConfig.preset(name, num_frames=6)
    params = sample(config, digits, range(5), seed=14)
    expected = reference.render(config, params, digits)
    monkeypatch.setitem(reference.CHUNK_BYTES, "cpu", 1)  # one sequence per chunk
    monkeypatch.setitem(reference.PATCH_ELEMENTS, "cpu", 1)  # one patch per resampling step
    got = reference.render(config, params, digits)
    for field in BATCH_FIELDS:
        value = getattr(expected, field)
        if value is not None:
            assert torch.equal(value, getattr(got, field)), field


# 7. Brightness ----------------------------------------------------------------------------------


def test_brightness_scales_each_pixel_by_hand() -> None:
    # value = floor(sprite · light / 256 + 1/2). Slot 0 at light 128: 200 → 100, 255 → 128
    # (127.5 + 0.5), 3 → 2, 1 → 1 (0.5 + 0.5); slot 1 at light 64 in the opposite corner:
    # 200 → 50 (50.5), 255 → 64 (64.25), 3 → 1 (1.25), 1 → 0 (0.75).
    config = SceneConfig(canvas=(4, 4), num_frames=1, num_digits=2, brightness=(0.25, 1.0))
    bank = bank_of([[200, 255], [3, 1]])
    params = hand_params([[0, 0]], [[[0, 0], [ONE, ONE]]], brightness=[[[128, 128], [64, 64]]])
    frame = reference.render(config, params, bank).frames[0, 0, 0].tolist()
    assert frame == [[100, 128, 0, 0], [2, 1, 0, 0], [0, 0, 50, 64], [0, 0, 1, 0]]


@pytest.mark.parametrize("mode", ["constant", "ramp", "oscillate"])
def test_brightness_levels_stay_in_range(digits: SpriteBank, mode: str) -> None:
    config = CLASSIC.replace(
        num_digits=2, brightness=(0.25, 0.75), brightness_mode=mode, brightness_period=8.0
    )
    params = sample(config, digits, range(512), seed=3)
    _, light = appearance(config, params)
    low, high = round(0.25 * LIGHT_ONE), round(0.75 * LIGHT_ONE)
    assert int(light.min()) >= low and int(light.max()) <= high
    assert int(light.min()) <= low + 3 and int(light.max()) >= high - 3  # the range is used
    levels = params.brightness
    if mode == "constant":
        assert torch.equal(light, levels[:, None, :, 0].expand_as(light).int())
    elif mode == "ramp":
        assert torch.equal(light[:, 0], levels[..., 0].int())
        assert torch.equal(light[:, -1], levels[..., 1].int())
        rising = (levels[..., 1] >= levels[..., 0])[:, None]
        change = light[:, 1:] - light[:, :-1]
        assert bool(torch.where(rising, change >= 0, change <= 0).all())
    else:  # a period of 8 frames is 2**29 in 2**-32 turn: exactly periodic
        assert torch.equal(light[:, 8:], light[:, :-8])
        assert bool((light.amax(dim=1) - light.amin(dim=1) >= (high - low) * 0.9).all())
    frames = reference.render(config, params.slots(slice(0, 2)), digits).frames
    assert int(frames.max()) <= 255 * 0.75  # 191.25
    assert int(frames.max()) >= 185
