"""Sprite bank: the digit (or other) images the renderer composites, plus MNIST / Fashion-MNIST I/O.

Conventions used throughout this module:

* Sprite images are ``uint8`` with 0 = background and 255 = full ink, shaped ``[N, h, w]``
  (row-major: ``h`` rows by ``w`` columns).  ``x`` is the column index and ``y`` the row index.
* Labels are ``int64`` class indices in ``[0, len(classes))``.
* Data files are the original IDX files (``train-images-idx3-ubyte`` etc.), raw or ``.gz``.
  They are looked for under a *root* folder that :func:`resolve_root` picks: the ``root``
  argument, else the ``$GPU_MMNIST_DATA`` environment variable, else ``~/.cache/gpu_mmnist``.

Files read from disk are validated structurally (IDX header, sizes, label range) but not
checksummed, so re-compressed copies of the data work; only :func:`download` checks MD5 sums.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import numbers
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

__all__ = [
    "DATA_ENV",
    "DIGIT_CLASSES",
    "DOWNLOAD_TIMEOUT",
    "FASHION_CLASSES",
    "MD5",
    "MIRRORS",
    "RAW_MD5",
    "SpriteBank",
    "download",
    "find_idx_files",
    "read_idx",
    "resolve_root",
]

DATA_ENV = "GPU_MMNIST_DATA"
"""Environment variable naming the data directory (used when no ``root`` argument is given)."""

DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DATASETS = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")

# Sub-folder of the root used by torchvision's layout (``root/<folder>/raw/<file>``); downloads go
# there too.
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_DISPLAY_NAME = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
_CLASSES = {"mnist": DIGIT_CLASSES, "fashion_mnist": FASHION_CLASSES}
# Base names (without ``.gz``) of the images and labels files of each split.
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
"""Download mirrors per dataset, tried in order; a file's URL is ``mirror + name + ".gz"``."""

MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
"""Published MD5 sums of the ``.gz`` files, checked on download."""

RAW_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
}
"""MD5 sums of the *uncompressed* files.  A download whose ``.gz`` MD5 differs from :data:`MD5` is
still accepted when its decompressed content matches this table (a mirror that re-compressed the
same data); datasets missing here need the exact ``.gz`` MD5."""

DOWNLOAD_TIMEOUT = 30.0
"""Seconds :func:`download` waits on a connection or a read before trying the next mirror."""

_FIX_HINT = (
    "use download=True, run `gpu-mmnist download`, or set "
    f"{DATA_ENV} to a folder that holds the IDX files"
)


# --------------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------------


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Data folder: ``root`` if given, else ``$GPU_MMNIST_DATA`` if set and non-empty, else
    ``~/.cache/gpu_mmnist``.  ``~`` is expanded; the folder is not created."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "gpu_mmnist"


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split  # type: ignore[return-value]


def _check_dataset(dataset: object) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be 'mnist' or 'fashion_mnist', got {dataset!r}")
    return dataset  # type: ignore[return-value]


def _search_dirs(root: Path, dataset: str) -> list[Path]:
    """Folders searched, in order: torchvision's ``root/<MNIST|FashionMNIST>/raw``, then
    ``root``."""
    return [root / _TORCHVISION_FOLDER[dataset] / "raw", root]


def _existing(folder: Path, name: str) -> Path | None:
    """``folder/name`` (uncompressed: preferred, faster to read) or else ``folder/name.gz``."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _is_mnist_labels(path: Path, split: str) -> bool:
    """Whether ``path`` holds MNIST's labels for ``split`` (byte-identical after decompression)."""
    try:
        data = _read_bytes(path)
    except (OSError, ValueError):
        return False
    return hashlib.md5(data).hexdigest() == RAW_MD5["mnist"][_FILES[split][1]]


def find_idx_files(
    root: str | os.PathLike[str], dataset: str = "mnist", split: str = "train"
) -> tuple[Path, Path] | None:
    """``(images_path, labels_path)`` of ``dataset``'s ``split`` under ``root``, or ``None``.

    Looks in ``root/MNIST/raw`` (``root/FashionMNIST/raw`` for ``"fashion_mnist"``), then in
    ``root`` itself; both files must sit in the same folder, each raw or ``.gz`` (raw preferred).
    Files are only located, not validated.  MNIST and Fashion-MNIST use the same file names, so a
    flat folder whose labels file is byte-identical to MNIST's is skipped for ``"fashion_mnist"``.
    """
    dataset = _check_dataset(dataset)
    split = _check_split(split)
    root = Path(root)
    images_name, labels_name = _FILES[split]
    for folder in _search_dirs(root, dataset):
        images = _existing(folder, images_name)
        labels = _existing(folder, labels_name)
        if images is None or labels is None:
            continue
        if dataset == "fashion_mnist" and folder == root and _is_mnist_labels(labels, split):
            continue
        return images, labels
    return None


def root_origin(root: object, argument: str = "the root argument") -> str:
    """Where :func:`resolve_root` takes the data folder from, in words."""
    if root is not None:
        return argument
    if os.environ.get(DATA_ENV):
        return f"${DATA_ENV}"
    return f"the default (${DATA_ENV} is not set)"


def _not_found_message(root: Path, dataset: str, split: str, root_arg: object) -> str:
    names = " and ".join(f"{name}[.gz]" for name in _FILES[split])
    folders = _search_dirs(root, dataset)
    looked = ", ".join(str(folder) for folder in folders)
    origin = root_origin(root_arg)
    msg = (
        f"{_DISPLAY_NAME[dataset]} {split} split not found under {root} (root from {origin}): "
        f"looked for {names} in {looked}."
    )
    for folder in folders:
        present = [p for name in _FILES[split] if (p := _existing(folder, name)) is not None]
        if len(present) == 1:
            msg += f" {folder} holds only {present[0].name}."
    if dataset == "fashion_mnist":
        flat_labels = _existing(root, _FILES[split][1])
        if flat_labels is not None and _is_mnist_labels(flat_labels, split):
            msg += f" The files in {root} are MNIST's, not Fashion-MNIST's."
    return f"{msg} Dataset not found: {_FIX_HINT}."


# --------------------------------------------------------------------------------------------------
# IDX reading
# --------------------------------------------------------------------------------------------------

_IDX_UINT8 = 0x08


def _read_bytes(path: Path) -> bytes:
    """File content, gunzipped when it starts with the gzip magic.  A ``.gz`` name with no gzip
    content, or a broken gzip stream, raises ``ValueError`` naming the file."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    if path.suffix == ".gz":
        raise ValueError(f"{path}: not a valid gzip file (name ends in .gz, no gzip header)")
    return data


def _ndim_from_name(path: Path) -> int | None:
    if "idx3" in path.name:
        return 3
    if "idx1" in path.name:
        return 1
    return None


def read_idx(path: str | os.PathLike[str], ndim: int | None = None) -> torch.Tensor:
    """Read an unsigned-byte IDX file (raw or gzip-compressed) into a ``uint8`` CPU tensor.

    The header is big-endian: magic ``0x000008NN`` (``08`` = unsigned byte, ``NN`` = number of
    dimensions) followed by ``NN`` uint32 sizes, then the data in row-major order.  ``ndim`` is the
    expected number of dimensions; when ``None`` it is taken from the file name (``idx3`` → 3,
    ``idx1`` → 1), else 1 or 3 is accepted.  A wrong magic number, a header or data shorter than
    the sizes say, trailing bytes, or a broken gzip stream raise ``ValueError`` naming the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if ndim is None:
        ndim = _ndim_from_name(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(data)} bytes, header needs 4)")
    magic = int.from_bytes(data[:4], "big")
    found_ndim = magic & 0xFF
    ok = magic >> 8 == _IDX_UINT8 and (found_ndim == ndim if ndim is not None else found_ndim >= 1)
    if not ok:
        if ndim is not None:
            expected = f"0x{(_IDX_UINT8 << 8) | ndim:08X} (unsigned bytes, {ndim} dims)"
        else:
            expected = "0x000008NN (unsigned bytes, NN dims)"
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08X}, expected {expected}")
    header = 4 + 4 * found_ndim
    if len(data) < header:
        raise ValueError(
            f"{path}: truncated IDX file ({len(data)} bytes, header for {found_ndim} dims "
            f"needs {header})"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=found_ndim, offset=4))
    expected_bytes = int(np.prod(dims, dtype=np.int64))
    available = len(data) - header
    if available < expected_bytes:
        raise ValueError(
            f"{path}: truncated IDX file: dims {list(dims)} need {expected_bytes} data bytes, "
            f"file holds {available}"
        )
    if available > expected_bytes:
        raise ValueError(
            f"{path}: {available - expected_bytes} unexpected trailing bytes after the "
            f"{expected_bytes} data bytes of dims {list(dims)}"
        )
    array = np.frombuffer(data, dtype=np.uint8, count=expected_bytes, offset=header)
    return torch.from_numpy(array.reshape(dims).copy())


def _load_pair(images_path: Path, labels_path: Path, num_classes: int) -> tuple[torch.Tensor, ...]:
    """Images uint8 ``[N, h, w]`` and labels int64 ``[N]`` from an IDX pair, cross-checked."""
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"image/label count mismatch: {images_path} holds {images.shape[0]} images but "
            f"{labels_path} holds {labels.shape[0]} labels"
        )
    if labels.numel() and int(labels.max()) >= num_classes:
        bad = int(torch.nonzero(labels >= num_classes)[0, 0])
        raise ValueError(
            f"{labels_path}: label {int(labels[bad])} at index {bad} is outside "
            f"0..{num_classes - 1}"
        )
    return images, labels.long()


# --------------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------------


def _parses(path: Path, ndim: int) -> bool:
    try:
        read_idx(path, ndim=ndim)
    except (OSError, ValueError):
        return False
    return True


def _pair_ok(files: tuple[Path, Path], num_classes: int) -> bool:
    try:
        _load_pair(*files, num_classes)
    except (OSError, ValueError):
        return False
    return True


def _fetch(url: str, tmp: BinaryIO, name: str, progress: bool) -> str:
    """Stream ``url`` into the open binary file ``tmp``; returns the hex MD5 of what was written."""
    from tqdm.auto import tqdm

    digest = hashlib.md5()
    request = urllib.request.Request(url, headers={"User-Agent": "gpu-mmnist"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=name,
            disable=not progress,
        ) as bar:
            while chunk := response.read(1 << 16):
                tmp.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def _download_file(dataset: str, name: str, folder: Path, progress: bool) -> Path:
    """Fetch ``name + ".gz"`` into ``folder`` from the first mirror that gives the right bytes."""
    gz_name = f"{name}.gz"
    target = folder / gz_name
    expected = MD5[dataset][gz_name]
    expected_raw = RAW_MD5.get(dataset, {}).get(name)
    mirrors = MIRRORS[dataset]
    errors: list[str] = []
    for mirror in mirrors:
        url = f"{mirror}{gz_name}"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{gz_name}.", suffix=".part", dir=folder)
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as tmp:
                got = _fetch(url, tmp, gz_name, progress)
            if got != expected:
                # A mirror may serve the same data compressed differently: accept it when the
                # uncompressed content matches the published uncompressed MD5.
                raw_md5 = None
                if expected_raw is not None:
                    with contextlib.suppress(OSError, ValueError):
                        raw_md5 = hashlib.md5(_read_bytes(tmp_path)).hexdigest()
                if raw_md5 != expected_raw or raw_md5 is None:
                    raise ValueError(f"MD5 mismatch: got {got}, expected {expected}")
            os.chmod(tmp_path, 0o644)  # mkstemp makes it owner-only
            os.replace(tmp_path, target)
            return target
        except Exception as exc:
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
    raise RuntimeError(
        f"could not download {gz_name} into {folder}; tried {len(mirrors)} mirror(s): "
        + "; ".join(errors)
    )


def download(
    dataset: str = "mnist", root: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """Download the four IDX ``.gz`` files of ``dataset`` into ``root/<MNIST|FashionMNIST>/raw``
    and return that folder (created if needed).  ``root`` is resolved with :func:`resolve_root`.

    A split whose files are already present and valid anywhere :func:`find_idx_files` looks (raw
    or ``.gz``, either layout) is not fetched again, so the returned folder may then hold none of
    them.  Each file is written to a temporary file in the target folder, MD5-checked against
    :data:`MD5` (or :data:`RAW_MD5` after decompression), then renamed into place; a failing
    mirror's partial file is removed and the next mirror in :data:`MIRRORS` is tried.  When every
    mirror fails, ``RuntimeError`` names the file, the mirrors and their errors.  ``progress``
    shows a tqdm bar per file.
    """
    dataset = _check_dataset(dataset)
    root = resolve_root(root)
    folder = root / _TORCHVISION_FOLDER[dataset] / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    num_classes = len(_CLASSES[dataset])
    for split in SPLITS:
        found = find_idx_files(root, dataset, split)
        if found is not None and _pair_ok(found, num_classes):
            continue
        for name, ndim in zip(_FILES[split], (3, 1), strict=True):
            present = _existing(folder, name)
            if present is not None and _parses(present, ndim):
                continue
            _download_file(dataset, name, folder, progress)
    return folder


# --------------------------------------------------------------------------------------------------
# Sprite bank
# --------------------------------------------------------------------------------------------------


def _ink_boxes(images: torch.Tensor) -> torch.Tensor:
    """``[N, 4]`` int32 ``[x_min, y_min, x_max, y_max]`` inclusive bounds of pixels > 0 (x = column,
    y = row); ``[-1, -1, -1, -1]`` for blank sprites.  Vectorised over sprites."""
    _, h, w = images.shape
    ink = images > 0
    cols = ink.any(dim=1)  # [N, w]: column holds ink
    rows = ink.any(dim=2)  # [N, h]: row holds ink
    xs = torch.arange(w, device=images.device)
    ys = torch.arange(h, device=images.device)
    x_min = torch.where(cols, xs, w).amin(dim=1)
    x_max = torch.where(cols, xs, -1).amax(dim=1)
    y_min = torch.where(rows, ys, h).amin(dim=1)
    y_max = torch.where(rows, ys, -1).amax(dim=1)
    boxes = torch.stack([x_min, y_min, x_max, y_max], dim=1)
    blank = ~cols.any(dim=1)
    boxes[blank] = -1
    return boxes.to(torch.int32)


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {list(x.shape)}"
    return type(x).__name__


@dataclass(frozen=True, eq=False)
class SpriteBank:
    """Sprites the renderer draws. images uint8 [N, h, w] (0 = background), labels int64 [N],
    ink_boxes int32 [N, 4] = [x_min, y_min, x_max, y_max] inclusive bounds of pixels > 0
    (x = column, y = row), [-1, -1, -1, -1] for a blank sprite. All on one device.

    Build one with :meth:`mnist`, :meth:`fashion_mnist`, :meth:`glyphs`, :meth:`auto` or
    :meth:`from_tensors` (which validates and computes ``ink_boxes``); the constructor only checks
    that the fields agree.  ``source`` is ``"mnist"``, ``"fashion_mnist"``, ``"glyphs"`` or
    ``"tensors"``; ``split`` is ``"train"``, ``"test"`` or ``None``; ``classes[label]`` names a
    class.
    The tensors are not copied, so do not modify them in place.
    """

    images: torch.Tensor
    labels: torch.Tensor
    ink_boxes: torch.Tensor
    source: str
    split: str | None
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        images, labels, boxes = self.images, self.labels, self.ink_boxes
        if not (
            isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.ndim == 3
        ):
            raise TypeError(f"images must be a uint8 tensor [N, h, w], got {_describe(images)}")
        n = images.shape[0]
        if not (
            isinstance(labels, torch.Tensor)
            and labels.dtype == torch.int64
            and labels.shape == (n,)
        ):
            raise TypeError(f"labels must be an int64 tensor [{n}], got {_describe(labels)}")
        if not (
            isinstance(boxes, torch.Tensor) and boxes.dtype == torch.int32 and boxes.shape == (n, 4)
        ):
            raise TypeError(f"ink_boxes must be an int32 tensor [{n}, 4], got {_describe(boxes)}")
        if not images.device == labels.device == boxes.device:
            raise ValueError(
                f"images, labels and ink_boxes must share one device, got {images.device}, "
                f"{labels.device}, {boxes.device}"
            )
        if not isinstance(self.classes, tuple):
            object.__setattr__(self, "classes", tuple(self.classes))

    # ---------------------------------------------------------------------------- constructors

    @classmethod
    def from_tensors(
        cls,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        classes: Sequence[str] | None = None,
        device: torch.device | str | None = None,
        source: str = "tensors",
        split: str | None = None,
    ) -> SpriteBank:
        """Validate ``images`` (uint8 tensor ``[N, h, w]``, N, h, w ≥ 1, 0 = background) and
        ``labels`` (integer tensor ``[N]``, converted to int64), move both to ``device`` (default:
        the images' device), and compute ``ink_boxes``.  ``classes`` defaults to
        ``("0", …, str(max label))``; every label must be in ``[0, len(classes))``."""
        if not isinstance(images, torch.Tensor):
            raise TypeError(
                f"images must be a torch.Tensor (uint8 [N, h, w]), got {_describe(images)}; "
                "use torch.from_numpy for NumPy arrays"
            )
        if images.dtype != torch.uint8:
            raise TypeError(
                f"images must have dtype torch.uint8 (0 = background, 255 = full ink), got "
                f"{images.dtype}; convert floats in [0, 1] with (x * 255).round().to(torch.uint8)"
            )
        if images.ndim != 3 or min(images.shape) < 1:
            raise ValueError(
                "images must have shape [N, h, w] with N, h, w >= 1, got shape "
                f"{list(images.shape)}"
            )
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be a torch.Tensor (integer [N]), got {_describe(labels)}")
        if labels.dtype == torch.bool or labels.dtype.is_floating_point or labels.dtype.is_complex:
            raise TypeError(f"labels must have an integer dtype, got {labels.dtype}")
        n = images.shape[0]
        if labels.shape != (n,):
            raise ValueError(
                f"labels must have shape [{n}] (one per image), got shape {list(labels.shape)}"
            )
        if not isinstance(source, str):
            raise TypeError(f"source must be a str, got {_describe(source)}")
        if split is not None and not isinstance(split, str):
            raise TypeError(f"split must be a str or None, got {_describe(split)}")

        target = torch.device(device) if device is not None else images.device
        images = images.to(target).contiguous()
        labels = labels.to(target, torch.int64).contiguous()
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            raise ValueError(f"labels must be >= 0, got minimum {low}")
        if classes is None:
            classes = tuple(str(i) for i in range(high + 1))
        else:
            if isinstance(classes, str) or not isinstance(classes, Sequence):
                raise TypeError(f"classes must be a sequence of str, got {_describe(classes)}")
            classes = tuple(classes)
            if not classes or not all(isinstance(c, str) for c in classes):
                raise TypeError(f"classes must be a non-empty sequence of str, got {classes!r}")
            if high >= len(classes):
                raise ValueError(
                    f"labels must be in [0, {len(classes)}) for {len(classes)} classes, "
                    f"got maximum {high}"
                )
        return cls(images, labels, _ink_boxes(images), source, split, classes)

    @classmethod
    def _from_idx(
        cls,
        dataset: str,
        root: str | os.PathLike[str] | None,
        split: str,
        download_missing: bool,
        device: torch.device | str | None,
    ) -> SpriteBank:
        split = _check_split(split)
        resolved = resolve_root(root)
        files = find_idx_files(resolved, dataset, split)
        if files is None and download_missing:
            download(dataset, resolved)
            files = find_idx_files(resolved, dataset, split)
        if files is None:
            raise FileNotFoundError(_not_found_message(resolved, dataset, split, root))
        classes = _CLASSES[dataset]
        images, labels = _load_pair(*files, len(classes))
        return cls.from_tensors(
            images, labels, classes=classes, device=device, source=dataset, split=split
        )

    @classmethod
    def mnist(
        cls,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        download: bool = False,
        device: torch.device | str | None = None,
    ) -> SpriteBank:
        """MNIST digits (28×28, 60000 train / 10000 test) from the IDX files under
        :func:`resolve_root` ``(root)``; see :func:`find_idx_files` for the layouts searched.
        ``download=True`` fetches missing files first; otherwise missing files raise
        ``FileNotFoundError`` listing where they were looked for."""
        return cls._from_idx("mnist", root, split, download, device)

    @classmethod
    def fashion_mnist(
        cls,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        download: bool = False,
        device: torch.device | str | None = None,
    ) -> SpriteBank:
        """Fashion-MNIST (28×28, 60000 train / 10000 test, :data:`FASHION_CLASSES`), found and
        loaded like :meth:`mnist` (``root/FashionMNIST/raw`` or flat ``root``)."""
        return cls._from_idx("fashion_mnist", root, split, download, device)

    @classmethod
    def glyphs(
        cls,
        count: int = 10_000,
        seed: int = 0,
        split: str = "train",
        size: int = 28,
        device: torch.device | str | None = None,
    ) -> SpriteBank:
        """``count`` synthetic digit glyphs (``size``×``size``, classes ``"0"``–``"9"``) made by
        :func:`gpu_mmnist.glyphs.glyph_sprites`, needing no data files.  The generator seed is
        ``2 * seed`` for ``split="train"`` and ``2 * seed + 1`` for ``"test"``, so the splits differ
        and each is deterministic."""
        split = _check_split(split)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
        from gpu_mmnist.glyphs import glyph_sprites

        derived = 2 * int(seed) + (1 if split == "test" else 0)
        images, labels = glyph_sprites(count=count, seed=derived, size=size)
        return cls.from_tensors(
            images, labels, classes=DIGIT_CLASSES, device=device, source="glyphs", split=split
        )

    @classmethod
    def auto(
        cls,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        device: torch.device | str | None = None,
    ) -> SpriteBank:
        """MNIST if its ``split`` is found under :func:`resolve_root` ``(root)``, else
        :meth:`glyphs` with default arguments; never downloads.  Check ``.source`` to see which.
        MNIST files that are found but corrupt raise ``ValueError`` rather than falling back."""
        split = _check_split(split)
        if find_idx_files(resolve_root(root), "mnist", split) is not None:
            return cls.mnist(root, split=split, device=device)
        return cls.glyphs(split=split, device=device)

    # ---------------------------------------------------------------------------- accessors

    @functools.cached_property
    def ink_reach(self) -> tuple[int, int, int]:
        """How far ink reaches from the sprite centre, in half pixels, over the whole bank:
        ``(max |X|, max |Y|, max X² + Y²)`` with ``X = 2x - (w - 1)``, ``Y = 2y - (h - 1)`` over
        every pixel > 0 (zeros for a bank without ink). Computed once per bank."""
        height, width = self.height, self.width
        xs = (2 * torch.arange(width, device=self.images.device) - (width - 1)).abs()
        ys = (2 * torch.arange(height, device=self.images.device) - (height - 1)).abs()
        radius2 = ys[:, None] ** 2 + xs[None, :] ** 2
        far_x = far_y = far = 0
        for first in range(0, len(self), 4096):
            ink = self.images[first : first + 4096] > 0
            if bool(ink.any()):
                far_x = max(far_x, int(xs[ink.any(dim=1).any(dim=0)].max()))
                far_y = max(far_y, int(ys[ink.any(dim=2).any(dim=0)].max()))
                far = max(far, int(radius2[ink.any(dim=0)].max()))
        return far_x, far_y, far

    def to(self, device: torch.device | str) -> SpriteBank:
        """The same bank on ``device`` (``self`` if already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return replace(
            self,
            images=self.images.to(device),
            labels=self.labels.to(device),
            ink_boxes=self.ink_boxes.to(device),
        )

    def __len__(self) -> int:
        """Number of sprites N."""
        return self.images.shape[0]

    @property
    def height(self) -> int:
        """Sprite height h in pixels (rows)."""
        return self.images.shape[1]

    @property
    def width(self) -> int:
        """Sprite width w in pixels (columns)."""
        return self.images.shape[2]

    @property
    def device(self) -> torch.device:
        """Device holding all tensors."""
        return self.images.device

    @property
    def num_classes(self) -> int:
        """``len(classes)``."""
        return len(self.classes)

    def __repr__(self) -> str:
        split = "" if self.split is None else f" {self.split}"
        return (
            f"SpriteBank({self.source}{split}, n={len(self)}, {self.height}×{self.width}, "
            f"device={self.device})"
        )
