"""Digits for the benchmarks: one sprite set shared by the peers and by our renderer.

The peers (``benchmarks/peers.py``) take a NumPy uint8 ``[N, 28, 28]`` array; our renderer
takes a :class:`gpu_mmnist.sprites.SpriteBank`. :func:`load_digits` returns both, built from
the same images, and says where they came from:

* ``kind="mnist"``: the MNIST training images through ``SpriteBank.mnist(split="train")``
  (which reads ``$GPU_MMNIST_DATA``). If ``gpu_mmnist.sprites`` cannot be imported, the IDX
  file ``$GPU_MMNIST_DATA/train-images-idx3-ubyte[.gz]`` is read directly (peers only). If no
  MNIST files are found, falls back to glyphs.
* ``kind="glyphs"``: ``SpriteBank.glyphs()`` (offline). If that is not available, a small
  deterministic synthetic set (:func:`synthetic_digits`), which costs the peers the same.

The peers' cost does not depend on pixel values, only on the 28×28 size, so every source
gives comparable peer timings; the source is reported with every result.
"""

from __future__ import annotations

import gzip
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
MNIST_TRAIN_IMAGES = "train-images-idx3-ubyte"
DATA_ENV = "GPU_MMNIST_DATA"


def ensure_repo_importable() -> None:
    """Make ``import gpu_mmnist`` find the checkout when the package is not installed."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.append(root)


ensure_repo_importable()


@dataclass
class Digits:
    """The same sprites twice: ``images`` for the peers, ``bank`` for our renderer."""

    images: np.ndarray  # uint8 [N, 28, 28]
    source: str  # human-readable origin, reported with the results
    bank: Any | None = None  # gpu_mmnist.sprites.SpriteBank, or None if unavailable
    bank_error: str | None = None  # why ``bank`` is None


def read_idx_images(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX3 image file (raw or ``.gz``) as uint8 ``[N, rows, cols]``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 0x00000803:
        raise ValueError(f"{path}: not an IDX3 uint8 image file (magic {magic:#010x})")
    n, rows, cols = (int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    images = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if images.size != n * rows * cols:
        raise ValueError(f"{path}: expected {n * rows * cols} pixels, found {images.size}")
    return images.reshape(n, rows, cols)


def find_mnist_train_images() -> Path | None:
    """``$GPU_MMNIST_DATA/train-images-idx3-ubyte[.gz]``, or None."""
    root = os.environ.get(DATA_ENV)
    if not root:
        return None
    for name in (MNIST_TRAIN_IMAGES + ".gz", MNIST_TRAIN_IMAGES):
        candidate = Path(root) / name
        if candidate.is_file():
            return candidate
    return None


def synthetic_digits(count: int = 1000, seed: int = 0) -> np.ndarray:
    """``count`` deterministic 28×28 uint8 blobs: random strokes on a zero background."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for k in range(count):
        cy, cx = rng.uniform(9, 19, size=2)
        ry, rx = rng.uniform(4, 9, size=2)
        ring = np.abs(((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 - 1.0)
        images[k] = np.clip(255.0 * (1.0 - 3.0 * ring), 0, 255).astype(np.uint8)
    return images


def _sprite_bank_class() -> tuple[Any | None, str | None]:
    try:
        from gpu_mmnist.sprites import SpriteBank
    except Exception as exc:  # the module is being written; any failure means "not yet"
        return None, f"gpu_mmnist.sprites.SpriteBank unavailable ({type(exc).__name__}: {exc})"
    return SpriteBank, None


def _bank_images(bank: Any) -> np.ndarray:
    images = bank.images.detach().cpu().numpy()
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"sprite bank holds {images.dtype} {images.shape}, peers need [N, 28, 28]")
    return np.ascontiguousarray(images)


def _bank_from_images(sprite_bank: Any, images: np.ndarray, source: str) -> Any:
    import torch

    labels = torch.zeros(images.shape[0], dtype=torch.int64)
    return sprite_bank.from_tensors(torch.from_numpy(images.copy()), labels, source=source)


def load_digits(kind: str = "mnist") -> Digits:
    """Load the digits for both the peers and our renderer; see the module docstring."""
    if kind not in ("mnist", "glyphs"):
        raise ValueError(f"kind must be 'mnist' or 'glyphs', got {kind!r}")
    sprite_bank, bank_error = _sprite_bank_class()
    notes: list[str] = []

    if kind == "mnist":
        if sprite_bank is not None:
            try:
                bank = sprite_bank.mnist(split="train")
                return Digits(_bank_images(bank), "MNIST train (SpriteBank.mnist)", bank)
            except FileNotFoundError as exc:
                first_line = (str(exc).splitlines() or [""])[0]
                notes.append(f"MNIST not found ({first_line})")
            except Exception as exc:
                notes.append(f"SpriteBank.mnist failed ({type(exc).__name__}: {exc})")
        path = find_mnist_train_images()
        if path is not None:
            images = np.ascontiguousarray(read_idx_images(path))
            source = f"MNIST train (read from {path})"
            if sprite_bank is None:
                return Digits(images, source, None, bank_error)
            return Digits(images, source, _bank_from_images(sprite_bank, images, "mnist"))
        notes.append(f"no {MNIST_TRAIN_IMAGES}[.gz] under ${DATA_ENV}; falling back to glyphs")

    if sprite_bank is not None:
        try:
            bank = sprite_bank.glyphs()
            source = "glyphs (SpriteBank.glyphs)"
            if notes:
                source += "; " + "; ".join(notes)
            return Digits(_bank_images(bank), source, bank)
        except Exception as exc:
            notes.append(f"SpriteBank.glyphs failed ({type(exc).__name__}: {exc})")
    images = synthetic_digits()
    source = "synthetic blobs (benchdata.synthetic_digits); " + "; ".join(
        notes + ([bank_error] if bank_error else [])
    )
    if sprite_bank is None:
        return Digits(images, source, None, bank_error)
    return Digits(images, source, _bank_from_images(sprite_bank, images, "synthetic"))
