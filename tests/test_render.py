"""The classic reference renderer: hand-computed geometry, compositing, annotations, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import render_naive

from gpu_mmnist import Batch, SceneConfig, SceneParams, SpriteBank, reference, render, sample
from gpu_mmnist.motion import clamp_and_flip
from gpu_mmnist.sampler import ONE

CLASSIC = SceneConfig.preset("classic")
FIELDS = (
    "frames",
    "labels",
    "sprite_ids",
    "positions",
    "indices",
    "boxes",
    "visible",
    "instance_masks",
    "semantic_masks",
)


def hand_params(sprite_ids, labels, start, velocity) -> SceneParams:
    as_long = lambda values: torch.tensor(values, dtype=torch.int64)  # noqa: E731
    return SceneParams.placed(
        as_long(sprite_ids), as_long(labels), as_long(start), as_long(velocity)
    )


def at_pixel(pixel: int, extent: int) -> int:
    """A fixed-point position whose floor(extent · p) is exactly ``pixel``."""
    return -(-pixel * ONE // extent)


def test_wall_bounce_frame_by_frame() -> None:
    # Canvas 10×12 (H×W), sprite 3×4: free range x 8 px, y 7 px. Numbers worked out by hand:
    # x: 15e6 +1e6 → 16e6 (7.63 px → 7); 17e6 ≥ ONE → clamp to ONE (8 px), v = −1e6;
    #    15 777 216 (7.52 → 7); 14 777 216 (7.05 → 7); 13 777 216 (6.57 → 6).
    # y: 2e6 −1.5e6 → 5e5 (0.21 → 0); −1e6 ≤ 0 → clamp to 0, v = +1.5e6; 1.5e6 (0.63 → 0);
    #    3e6 (1.25 → 1); 4.5e6 (1.88 → 1).
    config = SceneConfig(canvas=(10, 12), num_frames=5, num_digits=1)
    sprite = torch.tensor([[0, 0, 0, 0], [0, 40, 50, 0], [0, 0, 70, 0]], dtype=torch.uint8)
    bank = SpriteBank.from_tensors(sprite[None], torch.tensor([3]))
    params = hand_params([[0]], [[3]], [[[15_000_000, 2_000_000]]], [[[1_000_000, -1_500_000]]])

    fixed = clamp_and_flip(params.start, params.velocity, config.num_frames)[0, :, 0]
    assert fixed[:, 0].tolist() == [16_000_000, ONE, 15_777_216, 14_777_216, 13_777_216]
    assert fixed[:, 1].tolist() == [500_000, 0, 1_500_000, 3_000_000, 4_500_000]

    batch = reference.render(config, params, bank)
    assert batch.positions[0, :, 0].tolist() == [[7, 0], [8, 0], [7, 0], [7, 1], [6, 1]]
    # the digit's ink is sprite rows 1..2, columns 1..2
    assert batch.boxes[0, :, 0].tolist() == [
        [8, 1, 9, 2],
        [9, 1, 10, 2],
        [8, 1, 9, 2],
        [8, 2, 9, 3],
        [7, 2, 8, 3],
    ]
    expected = torch.zeros(5, 10, 12, dtype=torch.uint8)
    for t, (x, y) in enumerate([(7, 0), (8, 0), (7, 0), (7, 1), (6, 1)]):
        expected[t, y : y + 3, x : x + 4] = sprite
    assert torch.equal(batch.frames[0, :, 0], expected)


def test_landing_exactly_on_a_wall_flips() -> None:
    # Classic tests `p <= 0` and `p >= 1`: touching a wall exactly is a bounce.
    config = SceneConfig(canvas=(10, 12), num_frames=4, num_digits=1)
    params = hand_params(
        [[0]], [[0]], [[[ONE - 2_000_000, 3_000_000]]], [[[1_000_000, -1_500_000]]]
    )
    fixed = clamp_and_flip(params.start, params.velocity, config.num_frames)[0, :, 0]
    assert fixed[:, 0].tolist() == [ONE - 1_000_000, ONE, ONE - 1_000_000, ONE - 2_000_000]
    assert fixed[:, 1].tolist() == [1_500_000, 0, 1_500_000, 3_000_000]


def test_one_digit_placed_by_hand() -> None:
    # Free range x 8 px: start 1/2 and step 1/8 put the sprite at x = 5, 6, 7, 8 then back to 7;
    # y: start 1/4 of 7 px = 1.75 → row 1 in every frame.
    config = SceneConfig(canvas=(10, 12), num_frames=5, num_digits=1)
    sprite = torch.arange(1, 13, dtype=torch.uint8).reshape(3, 4)
    bank = SpriteBank.from_tensors(sprite[None], torch.tensor([0]))
    params = hand_params([[0]], [[0]], [[[ONE // 2, ONE // 4]]], [[[ONE // 8, 0]]])
    batch = reference.render(config, params, bank)
    assert batch.positions[0, :, 0, 0].tolist() == [5, 6, 7, 8, 7]
    assert batch.positions[0, :, 0, 1].tolist() == [1, 1, 1, 1, 1]
    frame = batch.frames[0, 0, 0]
    assert frame[1, 5].item() == 1 and frame[1, 8].item() == 4 and frame[3, 8].item() == 12
    assert int(frame.sum()) == int(sprite.sum())
    assert batch.boxes[0, 0, 0].tolist() == [5, 1, 8, 3]


def test_max_compositing_of_two_overlapping_digits() -> None:
    # A (all 100, class 4) at (x=1, y=1); B (class 7) at (x=2, y=2) on a 6×8 canvas.
    config = SceneConfig(canvas=(6, 8), num_frames=1, num_digits=2)
    a = torch.full((3, 3), 100, dtype=torch.uint8)
    b = torch.tensor([[200, 100, 50], [100, 0, 100], [0, 150, 0]], dtype=torch.uint8)
    bank = SpriteBank.from_tensors(torch.stack([a, b]), torch.tensor([4, 7]))
    x1, y1, x2, y2 = at_pixel(1, 5), at_pixel(1, 3), at_pixel(2, 5), at_pixel(2, 3)
    params = hand_params([[0, 1]], [[4, 7]], [[[x1, y1], [x2, y2]]], [[[0, 0], [0, 0]]])
    batch = reference.render(config, params, bank)
    frame = [
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 100, 100, 100, 0, 0, 0, 0],
        [0, 100, 200, 100, 50, 0, 0, 0],
        [0, 100, 100, 100, 100, 0, 0, 0],
        [0, 0, 0, 150, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
    owner = [  # ties (100 against 100) stay with the lower slot
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 0, 0, 0],
        [0, 1, 2, 1, 2, 0, 0, 0],
        [0, 1, 1, 1, 2, 0, 0, 0],
        [0, 0, 0, 2, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert batch.frames[0, 0, 0].tolist() == frame
    assert batch.instance_masks[0, 0].tolist() == owner
    semantic = [[{0: 0, 1: 5, 2: 8}[o] for o in row] for row in owner]
    assert batch.semantic_masks[0, 0].tolist() == semantic
    assert batch.boxes[0, 0].tolist() == [[1, 1, 3, 3], [2, 2, 4, 4]]
    assert batch.visible[0, 0].tolist() == [True, True]


def test_render_of_a_subset_equals_rows_of_the_whole(digits: SpriteBank) -> None:
    whole = render(CLASSIC, digits, range(40), seed=9)
    for subset in ([5, 6], [37, 5], [39]):
        part = render(CLASSIC, digits, subset, seed=9)
        for name in FIELDS:
            assert torch.equal(getattr(whole, name)[subset], getattr(part, name)), name


def test_shapes_and_dtypes(digits: SpriteBank) -> None:
    batch = render(CLASSIC, digits, range(3))
    assert isinstance(batch, Batch) and len(batch) == 3
    expected = {
        "frames": ((3, 20, 1, 64, 64), torch.uint8),
        "labels": ((3, 2), torch.int64),
        "sprite_ids": ((3, 2), torch.int64),
        "positions": ((3, 20, 2, 2), torch.float32),
        "indices": ((3,), torch.int64),
        "boxes": ((3, 20, 2, 4), torch.int32),
        "visible": ((3, 20, 2), torch.bool),
        "instance_masks": ((3, 20, 64, 64), torch.uint8),
        "semantic_masks": ((3, 20, 64, 64), torch.uint8),
    }
    for name, (shape, dtype) in expected.items():
        value = getattr(batch, name)
        assert tuple(value.shape) == shape and value.dtype == dtype, name
        assert value.is_contiguous(), name


def test_annotations_can_be_switched_off(digits: SpriteBank) -> None:
    full = render(CLASSIC, digits, range(4))
    bare = render(CLASSIC, digits, range(4), boxes=False, masks=False)
    assert bare.boxes is None and bare.visible is None
    assert bare.instance_masks is None and bare.semantic_masks is None
    assert torch.equal(bare.frames, full.frames)
    assert torch.equal(bare.positions, full.positions)


def single_slot_layers(config: SceneConfig, params: SceneParams, bank: SpriteBank) -> list[Batch]:
    """Each slot rendered alone (K = 1) with the same parameters."""
    alone = config.replace(num_digits=1)
    layers = []
    for k in range(params.num_slots):
        layers.append(reference.render(alone, params.slots(slice(k, k + 1)), bank))
    return layers


def test_boxes_are_tight_bounds_of_each_digits_own_pixels(digits: SpriteBank) -> None:
    config = CLASSIC.replace(num_digits=3, num_frames=6)
    params = sample(config, digits, range(12), seed=4)
    batch = reference.render(config, params, digits)
    for k, layer in enumerate(single_slot_layers(config, params, digits)):
        ink = layer.frames[:, :, 0] > 0  # [B, T, H, W]
        rows, cols = ink.any(dim=3), ink.any(dim=2)
        for b in range(12):
            for t in range(6):
                ys, xs = torch.nonzero(rows[b, t])[:, 0], torch.nonzero(cols[b, t])[:, 0]
                expected = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
                assert batch.boxes[b, t, k].tolist() == expected
    assert bool(batch.visible.all())


def test_masks_agree_with_frames_and_labels(digits: SpriteBank) -> None:
    config = CLASSIC.replace(num_digits=3, num_frames=8)
    params = sample(config, digits, range(16), seed=5)
    batch = reference.render(config, params, digits)
    frames, owner = batch.frames[:, :, 0], batch.instance_masks.long()
    assert torch.equal(owner > 0, frames > 0)
    classes = torch.cat([torch.full((16, 1), -1), batch.labels], dim=1)
    expected_semantic = classes.gather(1, owner.flatten(1)).view_as(owner) + 1
    assert torch.equal(batch.semantic_masks.long(), expected_semantic)
    layers = torch.stack(
        [layer.frames[:, :, 0] for layer in single_slot_layers(config, params, digits)]
    )
    # the owner's own layer has the frame's value, and no lower slot reaches it
    owned = layers.gather(0, (owner - 1).clamp(min=0)[None])[0]
    assert torch.equal(torch.where(owner > 0, owned, 0), frames)
    for k in range(3):
        lower = layers[:k].amax(dim=0) if k else torch.zeros_like(frames)
        assert bool((lower[owner == k + 1] < frames[owner == k + 1]).all())


def test_train_and_test_splits_draw_from_mnist_train_and_test(
    mnist_train: SpriteBank, mnist_test: SpriteBank
) -> None:
    config = CLASSIC.replace(num_digits=1, num_frames=1)
    for bank, split in ((mnist_train, "train"), (mnist_test, "test")):
        batch = render(config, bank, range(50), split=split)
        assert int(batch.sprite_ids.max()) < len(bank)
        for b in range(50):
            x, y = (int(v) for v in batch.positions[b, 0, 0])
            crop = batch.frames[b, 0, 0, y : y + 28, x : x + 28]
            assert torch.equal(crop, bank.images[batch.sprite_ids[b, 0]])
            assert int(batch.labels[b, 0]) == int(bank.labels[batch.sprite_ids[b, 0]])
    with pytest.raises(ValueError, match="split='test' but the sprite bank holds mnist 'train'"):
        render(config, mnist_train, [0], split="test")


def test_classic_mean_step_is_3_6_pixels_before_flooring(digits: SpriteBank) -> None:
    params = sample(CLASSIC, digits, range(2000))
    fixed = (
        clamp_and_flip(params.start, params.velocity, CLASSIC.num_frames).double() * 36 / ONE
    )  # pixels, unfloored
    step = torch.linalg.vector_norm(fixed[:, 1:] - fixed[:, :-1], dim=-1)
    inside = ((fixed > 0) & (fixed < 36)).all(dim=-1)
    free_steps = step[inside[:, 1:] & inside[:, :-1]]  # no wall touched between the two frames
    assert free_steps.numel() > 10_000
    assert abs(float(free_steps.mean()) - 3.6) < 1e-3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(3, 20),
    width=st.integers(3, 20),
    sprite_h=st.integers(1, 8),
    sprite_w=st.integers(1, 8),
    num_slots=st.integers(1, 5),
    num_frames=st.integers(1, 6),
    step=st.sampled_from([0.05, 0.1, 0.37, 1.0]),
    first=st.integers(0, 2**40),
    data_seed=st.integers(0, 2**32 - 1),
)
def test_matches_the_naive_oracle(
    height, width, sprite_h, sprite_w, num_slots, num_frames, step, first, data_seed
) -> None:
    sprite_h, sprite_w = min(sprite_h, height), min(sprite_w, width)
    gen = torch.Generator().manual_seed(data_seed)
    images = torch.randint(0, 4, (6, sprite_h, sprite_w), generator=gen, dtype=torch.uint8) * 60
    images[0] = 0  # a blank sprite: never visible
    bank = SpriteBank.from_tensors(images, torch.arange(6) % 3)
    config = SceneConfig(
        canvas=(height, width), num_frames=num_frames, num_digits=num_slots, step=step
    )
    params = sample(config, bank, range(first, first + 5), seed=data_seed)
    batch = reference.render(config, params, bank)
    expected = render_naive(config, params, bank)
    for name, value in expected.items():
        assert np.array_equal(getattr(batch, name).numpy(), value), name


def test_canvas_smaller_than_the_sprite(digits: SpriteBank) -> None:
    with pytest.raises(ValueError, match="do not fit the canvas 20×64"):
        render(CLASSIC.replace(canvas=(20, 64)), digits, [0])


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"backend": "cuda"}, ValueError, "backend must be one of auto, torch, triton; got 'cuda'"),
        ({"config": "classic"}, TypeError, "config must be a SceneConfig"),
        ({"sprites": torch.zeros(1, 28, 28)}, TypeError, "sprites must be a SpriteBank"),
    ],
)
def test_bad_render_arguments(digits: SpriteBank, kwargs: dict, error: type, pattern: str) -> None:
    arguments = {"config": CLASSIC, "sprites": digits, "indices": [0], **kwargs}
    with pytest.raises(error, match=pattern):
        render(**arguments)


def test_seed_boxes_format(digits: SpriteBank) -> None:
    batch = render(CLASSIC, digits, range(2))
    seed = batch.seed_boxes()
    assert seed.shape == (2, 20, 2, 5)
    assert torch.equal(seed[..., 0], batch.labels[:, None, :].expand(-1, 20, -1))
    assert torch.equal(seed[..., 1:], batch.boxes.long())
    with pytest.raises(ValueError, match="boxes=True"):
        render(CLASSIC, digits, [0], boxes=False).seed_boxes()
