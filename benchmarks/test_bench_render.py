"""pytest-benchmark suite: the peers and our CPU renderer, 256 sequences per call.

pyproject's ``addopts`` carry ``--benchmark-disable``, so measure with::

    GPU_MMNIST_DATA=/path/to/mnist python -m pytest benchmarks/test_bench_render.py \\
        --benchmark-enable

Without ``--benchmark-enable`` every benchmark runs once, as a smoke test. Digits come from
:func:`gpu_mmnist.bench.load_digits` (MNIST if found, else the built-in glyphs).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gpu_mmnist import SceneConfig, render
from gpu_mmnist.bench import Digits, load_digits
from gpu_mmnist.peers import OpenSTLMovingMNIST, SrivastavaBouncingMNIST

BATCH = 256
SEQ_LENGTH = 20
IMAGE_SIZE = 64


@pytest.fixture(scope="module")
def digits() -> Digits:
    return load_digits("auto")


@pytest.fixture(scope="module")
def renderer(digits: Digits) -> tuple[Any, Any, Any]:
    """``(render, config, sprites)``."""
    return render, SceneConfig.preset("classic"), digits.bank


def test_srivastava_batch(benchmark: Any, digits: Digits) -> None:
    handler = SrivastavaBouncingMNIST(digits.images, BATCH, seed=0)
    benchmark.extra_info.update(sequences_per_call=BATCH, digits=digits.source)
    data = benchmark(handler.get_batch)
    assert data.shape == (BATCH, SEQ_LENGTH, IMAGE_SIZE, IMAGE_SIZE)


def test_openstl_items(benchmark: Any, digits: Digits) -> None:
    ds = OpenSTLMovingMNIST(digits.images, seed=0)
    benchmark.extra_info.update(sequences_per_call=BATCH, digits=digits.source)
    items = benchmark(lambda: [ds[i] for i in range(BATCH)])
    assert len(items) == BATCH
    assert items[0][0].shape == items[0][1].shape == (SEQ_LENGTH // 2, 1, IMAGE_SIZE, IMAGE_SIZE)


def test_openstl_dataloader(benchmark: Any, digits: Digits) -> None:
    ds = OpenSTLMovingMNIST(digits.images, seed=0, length=BATCH)
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, num_workers=0)
    benchmark.extra_info.update(sequences_per_call=BATCH, digits=digits.source)
    inputs, outputs = benchmark(lambda: next(iter(loader)))
    assert inputs.shape == outputs.shape == (BATCH, SEQ_LENGTH // 2, 1, IMAGE_SIZE, IMAGE_SIZE)


class FreshIndices:
    """Calls ``render`` on the next ``BATCH`` sequence indices each time: nothing is cached."""

    def __init__(self, renderer: tuple[Any, Any, Any], extras: bool) -> None:
        self.render, self.config, self.sprites = renderer
        self.extras = extras
        self.start = 0

    def __call__(self) -> Any:
        indices = torch.arange(self.start, self.start + BATCH)
        self.start += BATCH
        return self.render(
            self.config,
            self.sprites,
            indices,
            seed=0,
            split="train",
            boxes=self.extras,
            masks=self.extras,
        )


def test_render_frames(benchmark: Any, renderer: tuple[Any, Any, Any], digits: Digits) -> None:
    benchmark.extra_info.update(sequences_per_call=BATCH, digits=digits.source)
    batch = benchmark(FreshIndices(renderer, extras=False))
    assert batch.frames.dtype == torch.uint8
    assert tuple(batch.frames.shape[:2]) == (BATCH, SEQ_LENGTH)


def test_render_frames_boxes_masks(
    benchmark: Any, renderer: tuple[Any, Any, Any], digits: Digits
) -> None:
    benchmark.extra_info.update(sequences_per_call=BATCH, digits=digits.source)
    batch = benchmark(FreshIndices(renderer, extras=True))
    assert tuple(batch.frames.shape[:2]) == (BATCH, SEQ_LENGTH)
    assert tuple(batch.boxes.shape[:2]) == (BATCH, SEQ_LENGTH)
    assert batch.boxes.dtype == torch.int32
    assert tuple(batch.instance_masks.shape[:2]) == (BATCH, SEQ_LENGTH)
    assert batch.instance_masks.dtype == torch.uint8
