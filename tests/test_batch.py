"""Batch ergonomics: device moves, float frames, input/target split, dicts, per-sequence targets."""

from __future__ import annotations

import pytest
import torch

from gpu_mmnist import Batch, SceneConfig, SpriteBank, render
from gpu_mmnist.batch import seed_format


@pytest.fixture(scope="module")
def batch() -> Batch:
    return render(SceneConfig.preset("classic"), SpriteBank.glyphs(count=50), range(3), seed=4)


def test_to_moves_every_tensor_and_keeps_values(batch: Batch) -> None:
    moved = batch.to("meta")
    for name, value in moved.to_dict().items():
        assert value.device.type == "meta", name
        assert value.shape == getattr(batch, name).shape
    back = batch.to("cpu")
    assert all(torch.equal(v, getattr(batch, k)) for k, v in back.to_dict().items())


def test_to_dict_leaves_out_what_was_not_rendered() -> None:
    bare = render(
        SceneConfig.preset("classic"), SpriteBank.glyphs(count=20), [0], boxes=False, masks=False
    )
    assert set(bare.to_dict()) == {"frames", "labels", "sprite_ids", "positions", "indices"}


def test_float_frames(batch: Batch) -> None:
    frames = batch.float_frames()
    assert frames.dtype == torch.float32 and frames.shape == batch.frames.shape
    assert torch.equal((frames * 255).round().to(torch.uint8), batch.frames)
    assert batch.frames.dtype == torch.uint8  # the batch itself is untouched


def test_split_frames_keeps_time_order(batch: Batch) -> None:
    inputs, targets = batch.split_frames(10)
    assert torch.equal(inputs, batch.frames[:, :10]) and torch.equal(targets, batch.frames[:, 10:])
    inputs, targets = batch.split_frames(5, as_float=True)
    assert inputs.shape[1] == 5 and targets.shape[1] == 15 and targets.dtype == torch.float32
    assert torch.equal(torch.cat([inputs, targets], dim=1), batch.float_frames())
    with pytest.raises(ValueError, match=r"num_input must be in \[1, 19\], got 20"):
        batch.split_frames(20)
    with pytest.raises(TypeError, match="num_input must be an int"):
        batch.split_frames(2.5)


def test_sequence_target(batch: Batch) -> None:
    target = batch.sequence(1)
    assert set(target) == {
        "labels",
        "sprite_ids",
        "positions",
        "boxes",
        "visible",
        "instance_masks",
        "semantic_masks",
        "index",
    }
    assert torch.equal(target["boxes"], batch.boxes[1]) and int(target["index"]) == 1
    assert torch.equal(seed_format(target["labels"], target["boxes"]), batch.seed_boxes()[1])


def test_detection_target_uses_exclusive_max(batch: Batch) -> None:
    pytest.importorskip("torchvision")
    target = batch.detection_target(0, 5)
    expected = batch.boxes[0, 5].to(torch.float32)
    expected[:, 2:] += 1
    assert torch.equal(target["boxes"].as_subclass(torch.Tensor), expected)
    assert torch.equal(target["labels"], batch.labels[0])


def test_detection_target_without_torchvision(batch: Batch, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "torchvision", None)
    with pytest.raises(ImportError, match="pip install torchvision"):
        batch.detection_target(0, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinning needs CUDA")
def test_pin_memory(batch: Batch) -> None:
    pinned = batch.pin_memory()
    assert all(value.is_pinned() for value in pinned.to_dict().values())
