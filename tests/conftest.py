"""Shared fixtures. Triton runs on the CPU through its interpreter when no GPU is present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from gpu_mmnist import SpriteBank
from gpu_mmnist.sprites import DATA_ENV, find_idx_files


def _mnist_root() -> Path | None:
    root = os.environ.get(DATA_ENV)
    if not root or any(find_idx_files(Path(root), "mnist", s) is None for s in ("train", "test")):
        return None
    return Path(root)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The real MNIST folder named by $GPU_MMNIST_DATA (CI sets it); skip when absent."""
    root = _mnist_root()
    if root is None:
        pytest.skip(f"set {DATA_ENV} to a folder with the MNIST IDX files")
    return root


@pytest.fixture(scope="session")
def mnist_train(mnist_root: Path) -> SpriteBank:
    return SpriteBank.mnist(mnist_root, split="train")


@pytest.fixture(scope="session")
def mnist_test(mnist_root: Path) -> SpriteBank:
    return SpriteBank.mnist(mnist_root, split="test")


@pytest.fixture(scope="session")
def digits() -> SpriteBank:
    """Real MNIST train digits when available, else the built-in glyphs (same shapes)."""
    root = _mnist_root()
    if root is None:
        return SpriteBank.glyphs(count=500, split="train")
    return SpriteBank.mnist(root, split="train")
