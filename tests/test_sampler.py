"""sample(): counter-keyed parameters, independent of batch composition; the classic motion law."""

from __future__ import annotations

import math

import pytest
import torch

from gpu_mmnist import SceneConfig, SpriteBank, sample
from gpu_mmnist.sampler import ONE

CLASSIC = SceneConfig.preset("classic")


def fields(params) -> list[torch.Tensor]:
    return [params.indices, params.sprite_ids, params.labels, params.start, params.velocity]


def test_sequence_does_not_depend_on_its_batch(digits: SpriteBank) -> None:
    whole = sample(CLASSIC, digits, range(10), seed=3)
    part = sample(CLASSIC, digits, [5, 6], seed=3)
    for a, b in zip(fields(whole), fields(part), strict=True):
        assert torch.equal(a[5:7], b)


def test_large_and_negative_indices_are_distinct_counters(digits: SpriteBank) -> None:
    idx = torch.tensor([7, 7 + 2**32, 7 + 2**40, -7, 2**63 - 1], dtype=torch.int64)
    params = sample(CLASSIC, digits, idx)
    starts = params.start.reshape(len(idx), -1)
    assert len({tuple(row.tolist()) for row in starts}) == len(idx)
    again = sample(CLASSIC, digits, idx[1:2])
    assert torch.equal(again.start[0], params.start[1])


def test_seed_and_split_change_the_draws(digits: SpriteBank) -> None:
    glyph_test = SpriteBank.glyphs(count=50, split="test")
    base = sample(CLASSIC, digits, range(64), seed=0)
    other_seed = sample(CLASSIC, digits, range(64), seed=1)
    assert not torch.equal(base.start, other_seed.start)
    test = sample(CLASSIC, glyph_test, range(64), seed=0, split="test")
    assert not torch.equal(base.start, test.start)


def test_ranges_and_labels(digits: SpriteBank) -> None:
    params = sample(CLASSIC, digits, range(2000))
    assert params.sprite_ids.shape == (2000, 2)
    assert int(params.sprite_ids.min()) >= 0 and int(params.sprite_ids.max()) < len(digits)
    assert torch.equal(params.labels, digits.labels[params.sprite_ids])
    assert int(params.start.min()) >= 0 and int(params.start.max()) < ONE
    assert params.start.dtype == params.velocity.dtype == torch.int64


def test_classic_speed_is_3_6_pixels_per_frame(digits: SpriteBank) -> None:
    params = sample(CLASSIC, digits, range(4000))
    free = 64 - 28
    speed = torch.linalg.vector_norm(params.velocity.double(), dim=-1) * free / ONE
    # Every velocity is 0.1 of the free range up to fixed-point rounding (half a unit per axis).
    assert float((speed - 3.6).abs().max()) < 1e-3
    assert abs(float(speed.mean()) - 3.6) < 1e-4


def test_directions_are_uniform(digits: SpriteBank) -> None:
    params = sample(CLASSIC, digits, range(8000))
    angle = torch.atan2(params.velocity[..., 1].double(), params.velocity[..., 0].double())
    bins = torch.floor((angle + math.pi) / (2 * math.pi) * 8).clamp(0, 7).long()
    counts = torch.bincount(bins.flatten(), minlength=8).double()
    expected = counts.sum() / 8
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 24.3  # p = 0.001 for 7 degrees of freedom
    # x comes from cos θ and y from sin θ: both signs occur on both axes
    assert (params.velocity[..., 0] > 0).any() and (params.velocity[..., 1] < 0).any()


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\)"),
        ({"seed": 2**64}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"split": "val"}, ValueError, "split must be one of train, test; got 'val'"),
        ({"indices": torch.tensor([1.0])}, TypeError, "indices must be an integer tensor"),
        ({"indices": torch.zeros(2, 2, dtype=torch.int64)}, ValueError, "1-D"),
        ({"indices": []}, ValueError, "non-empty"),
        ({"indices": [1, "2"]}, TypeError, "indices"),
    ],
)
def test_bad_inputs(digits: SpriteBank, kwargs: dict, error: type, pattern: str) -> None:
    arguments = {"indices": [0, 1], **kwargs}
    with pytest.raises(error, match=pattern):
        sample(CLASSIC, digits, **arguments)


def test_split_must_match_the_sprite_bank() -> None:
    train = SpriteBank.glyphs(count=20, split="train")
    with pytest.raises(ValueError, match="split='test' but the sprite bank holds glyphs 'train'"):
        sample(CLASSIC, train, [0], split="test")
