"""Recycled CPU output buffers are reused only once nothing can see them any more."""

from __future__ import annotations

import gc

import torch

from gpu_mmnist import SceneConfig, SpriteBank, buffers, render


def test_block_is_reused_only_after_every_view_is_gone() -> None:
    shape = (3, 1000, 7)  # a size no other test allocates
    first = buffers.empty_uint8(shape, torch.device("cpu"))
    first.fill_(11)
    view = first[1:, :10]
    pointer = first.data_ptr()
    del first
    gc.collect()
    second = buffers.empty_uint8(shape, torch.device("cpu"))
    assert second.data_ptr() != pointer  # the view still holds the first block
    assert bool((view == 11).all())
    del view
    gc.collect()
    third = buffers.empty_uint8(shape, torch.device("cpu"))
    assert third.data_ptr() == pointer
    assert third.shape == shape and third.dtype == torch.uint8 and third.is_contiguous()
    del second, third


def test_live_batches_are_never_overwritten(digits: SpriteBank) -> None:
    config = SceneConfig.preset("classic")
    kept = render(config, digits, range(8), seed=1)
    frames_view = kept.frames[2:5]
    masks_view = kept.instance_masks[:, 3]
    expected_frames, expected_masks = frames_view.clone(), masks_view.clone()
    del kept
    gc.collect()
    for seed in range(2, 6):  # same shapes: recycled blocks must not be the live ones
        render(config, digits, range(8), seed=seed)
    assert torch.equal(frames_view, expected_frames)
    assert torch.equal(masks_view, expected_masks)


def test_idle_pool_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(buffers, "MAX_IDLE_BYTES", buffers._idle_bytes + 100)
    big = buffers.empty_uint8((1000,), torch.device("cpu"))
    held = buffers._idle_bytes
    del big
    gc.collect()
    assert buffers._idle_bytes == held  # over the bound: returned to the allocator, not kept
