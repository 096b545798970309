"""PyTorch datasets over the renderer: a map-style drop-in and an infinite, shard-safe stream.

Both render on demand; sequence ``i`` is always the same bytes (see :func:`gpu_mmnist.render`).

- :class:`MovingMNIST` behaves like ``torchvision.datasets.MovingMNIST``: ``ds[i]`` is
  ``uint8 [T, 1, H, W]``; ``__getitems__`` renders a whole DataLoader batch in one call.
- :class:`MovingMNISTStream` yields :class:`~gpu_mmnist.Batch` objects. The stream is a fixed
  sequence of global batches, batch ``b`` holding indices ``[b·B, (b+1)·B)``. With ``R`` ranks and
  ``W`` DataLoader workers per rank, worker ``w`` of rank ``r`` takes batches
  ``cursor + w·R + r + j·W·R`` (``j = 0, 1, …``): each rank receives ``cursor + r, cursor + r + R,
  …`` in order, and the union over ranks and workers is exactly the single-process stream.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, IterableDataset, default_collate, get_worker_info

from .batch import Batch
from .config import SceneConfig
from .render import render, resolve_backend
from .sampler import check_seed_and_split
from .sprites import SpriteBank

DIGIT_SOURCES = ("mnist", "fashion_mnist", "glyphs", "auto")


def load_digits(
    digits: str | SpriteBank,
    split: str,
    root: str | Path | None = None,
    download: bool = False,
    device: torch.device | str = "cpu",
) -> SpriteBank:
    """The sprite bank named by ``digits`` ("mnist", "fashion_mnist", "glyphs", "auto": MNIST if
    found, else glyphs) for ``split``, on ``device``; a ``SpriteBank`` is moved to ``device``."""
    if isinstance(digits, SpriteBank):
        return digits.to(device)
    if digits == "mnist":
        return SpriteBank.mnist(root, split=split, download=download, device=device)
    if digits == "fashion_mnist":
        return SpriteBank.fashion_mnist(root, split=split, download=download, device=device)
    if digits == "glyphs":
        return SpriteBank.glyphs(split=split, device=device)
    if digits == "auto":
        return SpriteBank.auto(root, split=split, device=device)
    raise ValueError(
        f"digits must be a SpriteBank or one of {', '.join(DIGIT_SOURCES)}; got {digits!r}"
    )


class _Scene:
    """What both datasets share: a validated config, sprites, seed, split, device, backend."""

    def __init__(
        self,
        preset: str,
        split: str,
        seed: int,
        device: torch.device | str,
        backend: str,
        digits: str | SpriteBank,
        root: str | Path | None,
        download: bool,
        overrides: dict[str, Any],
    ) -> None:
        check_seed_and_split(seed, split)
        resolve_backend(backend, torch.device(device))  # a clear error now rather than later
        self.config = SceneConfig.preset(preset, **overrides)
        self.split = split
        self.seed = seed
        self.device = torch.device(device)
        self.backend = backend
        self.sprites = load_digits(digits, split, root, download, self.device)

    def render(self, indices: Sequence[int] | range, boxes: bool, masks: bool) -> Batch:
        return render(
            self.config,
            self.sprites,
            indices,
            seed=self.seed,
            split=self.split,
            backend=self.backend,
            boxes=boxes,
            masks=masks,
        )

    def describe(self) -> str:
        return (
            f"preset={self.config.name!r}, split={self.split!r}, seed={self.seed}, "
            f"digits={self.sprites.source}, device={self.device}, backend={self.backend!r}"
        )


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


class MovingMNIST(Dataset):
    """Map-style Moving MNIST, a drop-in for the stored datasets.

    ``ds[i]`` is ``uint8 [T, 1, H, W]`` (torchvision's layout), after ``transform`` if given; with
    ``annotations=True`` it is ``(frames, target)``, ``target`` being the sequence's labels,
    sprite ids, positions, boxes, visible, masks and index (see :meth:`gpu_mmnist.Batch.sequence`;
    :func:`gpu_mmnist.batch.seed_format` gives ``[class_id, x_min, y_min, x_max, y_max]`` rows).
    Negative indices count from the end; ``**overrides`` are SceneConfig fields. With a
    DataLoader, pass ``collate_fn=gpu_mmnist.datasets.collate`` to get each rendered batch
    without the copy ``default_collate`` makes.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "train",
        num_sequences: int = 10_000,
        preset: str = "classic",
        seed: int = 0,
        transform: Callable[[torch.Tensor], Any] | None = None,
        download: bool = False,
        annotations: bool = False,
        device: torch.device | str = "cpu",
        backend: str = "auto",
        digits: str | SpriteBank = "mnist",
        **overrides: Any,
    ) -> None:
        self.num_sequences = _positive_int("num_sequences", num_sequences)
        self.scene = _Scene(preset, split, seed, device, backend, digits, root, download, overrides)
        self.transform = transform
        self.annotations = annotations

    def __len__(self) -> int:
        return self.num_sequences

    def _position(self, index: object) -> int:
        position = operator.index(index)  # TypeError for anything but an integer
        if position < 0:
            position += self.num_sequences
        if not 0 <= position < self.num_sequences:
            raise IndexError(
                f"index {index} is out of range for a dataset of {self.num_sequences} sequences"
            )
        return position

    def __getitem__(self, index: int) -> Any:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        """Items ``indices`` from one ``render`` call (the DataLoader calls this per batch)."""
        positions = [self._position(index) for index in indices]
        batch = self.scene.render(positions, boxes=self.annotations, masks=self.annotations)
        items = []
        for i in range(len(positions)):
            frames = batch.frames[i]
            if self.transform is not None:
                frames = self.transform(frames)
            items.append((frames, batch.sequence(i)) if self.annotations else frames)
        return items

    def __repr__(self) -> str:
        config = self.scene.config
        height, width = config.canvas
        shape = f"{config.num_frames}×1×{height}×{width}"
        return (
            f"MovingMNIST({self.num_sequences} sequences of {shape}, {config.num_digits} digits, "
            f"{self.scene.describe()}, annotations={self.annotations})"
        )


def collate(items: list[Any]) -> Any:
    """A DataLoader ``collate_fn`` for :class:`MovingMNIST`: the items of one ``__getitems__`` call
    are consecutive rows of one rendered batch, so their stack is that batch, returned without a
    copy (tuples and dicts are collated field by field); anything else goes to
    ``default_collate``. ``DataLoader(ds, batch_size=B, collate_fn=collate)``."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(collate(list(fields)) for fields in zip(*items, strict=True))
    if isinstance(first, dict):
        return {key: collate([item[key] for item in items]) for key in first}
    if isinstance(first, torch.Tensor) and _consecutive_rows(items):
        shape = (len(items), *first.shape)
        return first.new_empty(0).set_(first.untyped_storage(), first.storage_offset(), shape)
    return default_collate(items)


def _consecutive_rows(tensors: list[torch.Tensor]) -> bool:
    """Whether ``tensors`` are contiguous, equal-shaped and back to back in one storage."""
    first = tensors[0]
    pointer, size = first.untyped_storage().data_ptr(), first.numel()
    return all(
        tensor.is_contiguous()
        and tensor.shape == first.shape
        and tensor.dtype == first.dtype
        and tensor.untyped_storage().data_ptr() == pointer
        and tensor.storage_offset() == first.storage_offset() + i * size
        for i, tensor in enumerate(tensors)
    )


class MovingMNISTStream(IterableDataset):
    """An infinite (or ``num_batches`` long) stream of rendered :class:`~gpu_mmnist.Batch`es.

    Use it with ``DataLoader(stream, batch_size=None)`` or :meth:`loader`. Ranks come from
    ``rank``/``world_size`` or an initialised ``torch.distributed``; DataLoader workers split a
    rank's batches (see the module docstring), so nothing repeats and nothing is skipped. A CUDA
    stream must run in the main process (``num_workers=0``).

    Resuming: :meth:`state_dict` holds the *cursor*, the global batch from which every rank
    continues. It advances as batches are consumed: automatically when the stream is iterated in
    this process or through :meth:`loader`; with a plain multi-worker DataLoader, call
    :meth:`consumed` on each batch. Resuming is exact for any number of workers, and for any
    number of ranks when all ranks consumed the same number of batches (as in DDP). Iterating
    again continues from the cursor (a stream never repeats itself); a new stream starts at 0.
    """

    def __init__(
        self,
        batch_size: int,
        preset: str = "classic",
        split: str = "train",
        seed: int = 0,
        device: torch.device | str = "cpu",
        backend: str = "auto",
        num_batches: int | None = None,
        root: str | Path | None = None,
        digits: str | SpriteBank = "mnist",
        download: bool = False,
        boxes: bool = True,
        masks: bool = True,
        rank: int | None = None,
        world_size: int | None = None,
        **overrides: Any,
    ) -> None:
        self.batch_size = _positive_int("batch_size", batch_size)
        if num_batches is not None:
            _positive_int("num_batches", num_batches)
        self.num_batches = num_batches
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither")
        if world_size is not None:
            _positive_int("world_size", world_size)
            if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
                raise ValueError(f"rank must be an int in [0, {world_size}), got {rank!r}")
        self.rank, self.world_size = rank, world_size
        self.scene = _Scene(preset, split, seed, device, backend, digits, root, download, overrides)
        self.boxes, self.masks = boxes, masks
        self.cursor = 0

    def topology(self) -> tuple[int, int]:
        """``(rank, world_size)``: the arguments, else torch.distributed's, else ``(0, 1)``."""
        if self.world_size is not None:
            return self.rank, self.world_size
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def batch(self, number: int) -> Batch:
        """Global batch ``number``: sequences ``[number·B, (number+1)·B)``."""
        first = number * self.batch_size
        return self.scene.render(range(first, first + self.batch_size), self.boxes, self.masks)

    def __iter__(self) -> Iterator[Batch]:
        worker = get_worker_info()
        if worker is not None and self.scene.device.type != "cpu":
            raise RuntimeError(
                f"MovingMNISTStream on {self.scene.device} cannot render inside a DataLoader "
                "worker process; use num_workers=0 (rendering on the GPU needs no workers)"
            )
        rank, world_size = self.topology()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        number = self.cursor + worker_id * world_size + rank
        step = num_workers * world_size
        while self.num_batches is None or number < self.num_batches:
            batch = self.batch(number)
            if worker is None:
                self.consumed(batch)  # delivered: a loop that stops after it resumes past it
            yield batch
            number += step

    def consumed(self, batch: Batch) -> None:
        """Record that ``batch`` (one of this stream's, on this rank) has been consumed."""
        rank, world_size = self.topology()
        number = int(batch.indices[0]) // self.batch_size
        self.cursor = max(self.cursor, number - rank + world_size)

    def loader(self, **kwargs: Any) -> DataLoader:
        """A ``DataLoader(self, batch_size=None, **kwargs)`` that keeps :meth:`state_dict`
        current whatever ``num_workers`` is."""
        return _TrackingLoader(self, batch_size=None, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """Where to resume: the cursor and what it depends on."""
        return {
            "cursor": self.cursor,
            "batch_size": self.batch_size,
            "seed": self.scene.seed,
            "split": self.scene.split,
            "preset": self.scene.config.name,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``; refuses a state of a different stream, where resuming would
        silently change which sequences follow."""
        for key in ("batch_size", "seed", "split", "preset"):
            mine = self.state_dict()[key]
            if state.get(key) != mine:
                raise ValueError(
                    f"cannot resume: the state has {key}={state.get(key)!r} but this stream has "
                    f"{key}={mine!r}, so batch numbers would name other sequences"
                )
        cursor = state.get("cursor")
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise ValueError(f"state cursor must be an int >= 0, got {cursor!r}")
        self.cursor = cursor

    def __repr__(self) -> str:
        length = "infinite" if self.num_batches is None else f"{self.num_batches} batches"
        return (
            f"MovingMNISTStream(batch_size={self.batch_size}, {length}, {self.scene.describe()}, "
            f"boxes={self.boxes}, masks={self.masks}, cursor={self.cursor})"
        )


class _TrackingLoader(DataLoader):
    """A DataLoader over a stream that reports each delivered batch back to the stream."""

    def __iter__(self) -> Iterator[Batch]:
        for batch in super().__iter__():
            self.dataset.consumed(batch)
            yield batch
