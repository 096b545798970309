"""The Triton kernel equals the torch reference bit for bit, on every output, run on the CPU
under TRITON_INTERPRET=1 (set by conftest.py when there is no GPU) or on CUDA when present.

Outputs are poisoned before each launch, twice with different values, so an element the kernel
fails to write cannot match by accident."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gpu_mmnist import PRESETS, SceneConfig, SpriteBank, reference, render, sample

kernel = pytest.importorskip("gpu_mmnist.kernels.render")  # needs triton
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
POISONS = (
    {torch.uint8: 0x5A, torch.int32: -123_456, torch.float32: float("nan"), torch.bool: True},
    {torch.uint8: 0xA5, torch.int32: 777_777, torch.float32: float("inf"), torch.bool: False},
)


def random_bank(count: int, height: int, width: int, seed: int) -> SpriteBank:
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, height, width), generator=gen, dtype=torch.uint8)
    images[torch.rand(images.shape, generator=gen) < 0.4] = 0  # holes and empty borders
    images[0] = 0  # one blank sprite: never visible
    images[1, :, : width // 2] = 0
    return SpriteBank.from_tensors(images, torch.arange(count) % 7).to(DEVICE)


def assert_kernel_equals_reference(config, params, bank, monkeypatch, **outputs) -> None:
    expected = reference.render(config, params, bank, **outputs)
    for poison in POISONS:

        def poisoned(shape, dtype, device, poison=poison):
            return torch.full(shape, poison[dtype], dtype=dtype, device=device)

        monkeypatch.setattr(kernel, "_empty", poisoned)
        got = kernel.render(config, params, bank, **outputs)
        assert set(got.to_dict()) == set(expected.to_dict())
        for name, value in expected.to_dict().items():
            assert torch.equal(getattr(got, name).cpu(), value.cpu()), name


CASES = {
    # name: (canvas, sprite h×w, digits K, frames T, step, batch, first index)
    "classic": ((64, 64), (28, 28), 2, 3, 0.1, 2, 0),
    "odd canvas 63x65": ((63, 65), (28, 28), 2, 2, 0.1, 2, 5),
    "tall canvas 128x96": ((128, 96), (28, 28), 1, 1, 0.1, 1, 0),
    "row tiles, K=6": ((100, 40), (10, 10), 6, 3, 0.2, 2, 0),
    "small sprites, K=5": ((20, 30), (13, 9), 5, 4, 0.25, 3, 0),
    "walls every frame": ((16, 16), (5, 7), 3, 5, 1.0, 2, 11),
    "indices above 2**32": ((32, 40), (6, 6), 2, 2, 0.3, 2, 2**32 + 3),
    "sprite fills the canvas": ((9, 9), (9, 9), 2, 2, 0.1, 2, 0),
    "one frame": ((24, 24), (8, 8), 4, 1, 0.1, 2, 0),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_kernel_equals_reference(case: str, monkeypatch) -> None:
    canvas, (h, w), digits, frames, step, batch, first = CASES[case]
    bank = random_bank(12, h, w, seed=len(case))
    config = SceneConfig(canvas=canvas, num_frames=frames, num_digits=digits, step=step)
    params = sample(config, bank, range(first, first + batch), seed=first + 1)
    assert_kernel_equals_reference(config, params, bank, monkeypatch)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize(
    "outputs",
    [{"boxes": True, "masks": True}, {"boxes": True, "masks": False}],
    ids=["all outputs", "boxes without masks"],
)
def test_every_preset_equals_the_reference(preset: str, outputs: dict, monkeypatch) -> None:
    """Each preset at its own canvas, fewer frames, with MNIST-like 28×28 sprites."""
    bank = random_bank(12, 28, 28, seed=len(preset))
    config = SceneConfig.preset(preset, num_frames=3)
    params = sample(config, bank, [0, 2**33 + 1, -7], seed=2**63 + len(preset))
    assert_kernel_equals_reference(config, params, bank, monkeypatch, **outputs)


SCENES = {
    # Each feature alone and in odd combinations, on small canvases and sprites.
    "rotation only": {"angle": (0.0, 360.0), "rotation": (-45.0, 45.0)},
    "scale only, oscillating": {"scale": (0.5, 2.0), "scale_period": 3.0},
    "brightness ramp": {"brightness": (0.0, 1.0), "brightness_mode": "ramp"},
    "over, digit range, noise": {
        "compositing": "over", "num_digits": (1, 5), "noise_density": 0.3,
        "noise_brightness": (0.0, 1.0),
    },
    "sum, shapes, rotation": {
        "compositing": "sum", "num_shapes": (0, 4), "shape_size": (2, 9), "rotation": 20.0,
    },
    "every motion": {"motion": ("classic", "tfds", "stochastic", "reflect", "circular", "linear"),
                     "step": (0.05, 0.9), "max_velocity": 7},
}  # fmt: skip


@pytest.mark.parametrize("scene", list(SCENES), ids=list(SCENES))
def test_scene_features_equal_the_reference(scene: str, monkeypatch) -> None:
    bank = random_bank(10, 9, 7, seed=len(scene))
    config = SceneConfig(canvas=(23, 37), num_frames=4, **({"num_digits": 4} | SCENES[scene]))
    params = sample(config, bank, range(5, 9), seed=len(scene))
    assert_kernel_equals_reference(config, params, bank, monkeypatch)


@pytest.mark.parametrize(
    "outputs",
    [
        {"boxes": False, "masks": False},
        {"boxes": True, "masks": False},
        {"boxes": False, "masks": True},
    ],
    ids=["frames only", "boxes only", "masks only"],
)
def test_outputs_nobody_asked_for_are_not_written(outputs: dict, monkeypatch) -> None:
    bank = random_bank(8, 7, 5, seed=3)
    config = SceneConfig(canvas=(18, 21), num_frames=2, num_digits=3)
    params = sample(config, bank, [0, 9, -4])
    assert_kernel_equals_reference(config, params, bank, monkeypatch, **outputs)


def test_negative_and_huge_indices_with_glyphs(monkeypatch) -> None:
    bank = SpriteBank.glyphs(count=30).to(DEVICE)
    config = SceneConfig.preset("classic", num_frames=2)
    params = sample(config, bank, torch.tensor([-1, 2**62, 7]), seed=2**63 + 5)
    assert_kernel_equals_reference(config, params, bank, monkeypatch)


def test_render_dispatches_to_the_kernel() -> None:
    bank = SpriteBank.glyphs(count=30).to(DEVICE)
    config = SceneConfig.preset("classic", num_frames=2)
    torch_batch = render(config, bank, [3, 4], backend="torch")
    triton_batch = render(config, bank, [3, 4], backend="triton")
    for name, value in torch_batch.to_dict().items():
        assert torch.equal(getattr(triton_batch, name), value), name


def test_triton_on_the_cpu_needs_the_interpreter(monkeypatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    bank = SpriteBank.glyphs(count=10)
    with pytest.raises(ValueError, match="backend='triton' renders CUDA tensors, but the sprites"):
        render(SceneConfig.preset("classic"), bank, [0], backend="triton")
    batch = render(SceneConfig.preset("classic"), bank, [0], backend="auto")  # torch on the CPU
    assert batch.frames.shape == (1, 20, 1, 64, 64)


def test_importing_the_package_does_not_import_triton() -> None:
    code = "import sys, gpu_mmnist; sys.exit('triton' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
