"""Tests for gpu_mmnist.sprites: IDX reading, file lookup, download, and the SpriteBank.

Real-MNIST tests need ``GPU_MMNIST_DATA`` pointing at a folder with the four MNIST IDX files
(raw or .gz, flat or torchvision layout); they are skipped otherwise.  Download tests run against
a local HTTP server, never the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_mmnist import sprites
from gpu_mmnist.sprites import (
    DATA_ENV,
    FASHION_CLASSES,
    SpriteBank,
    download,
    find_idx_files,
    read_idx,
    resolve_root,
)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Unsigned-byte IDX encoding of ``array`` (``magic`` overrides the header's magic)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, cut: int = 0) -> Path:
    """Write ``array`` as IDX to ``path`` (gzipped if it ends in .gz), minus ``cut`` final bytes."""
    data = idx_bytes(array, magic)
    if cut:
        data = data[:-cut]
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def synthetic_split(n: int = 6, h: int = 5, w: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    images[rng.random((n, h, w)) < 0.5] = 0
    images[0] = 0  # one blank sprite
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_split(folder: Path, split: str = "train", gz: bool = True, **kwargs) -> tuple:
    images, labels = synthetic_split(**kwargs)
    ext = ".gz" if gz else ""
    img_name, lbl_name = NAMES[split]
    write_idx(folder / f"{img_name}{ext}", images)
    write_idx(folder / f"{lbl_name}{ext}", labels)
    return images, labels


def brute_box(image: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(image)
    if len(xs) == 0:
        return [-1, -1, -1, -1]
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


# --------------------------------------------------------------------------------------------------
# Real MNIST
# --------------------------------------------------------------------------------------------------


def test_mnist_train_contents(mnist_train: SpriteBank) -> None:
    bank = mnist_train
    assert len(bank) == 60000
    assert (bank.height, bank.width) == (28, 28)
    assert bank.images.dtype == torch.uint8 and bank.images.shape == (60000, 28, 28)
    assert bank.labels.dtype == torch.int64 and bank.labels.shape == (60000,)
    assert bank.ink_boxes.dtype == torch.int32 and bank.ink_boxes.shape == (60000, 4)
    assert bank.labels[:3].tolist() == [5, 0, 4]
    assert torch.bincount(bank.labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert bank.source == "mnist" and bank.split == "train"
    assert bank.classes == tuple("0123456789") and bank.num_classes == 10
    assert bank.device == torch.device("cpu")
    assert int(bank.images.max()) == 255
    assert repr(bank) == "SpriteBank(mnist train, n=60000, 28×28, device=cpu)"
    # Every MNIST digit has ink.
    assert bool((bank.ink_boxes >= 0).all())


def test_mnist_test_contents(mnist_test: SpriteBank) -> None:
    assert len(mnist_test) == 10000
    assert mnist_test.images.shape == (10000, 28, 28)
    assert mnist_test.labels[:3].tolist() == [7, 2, 1]
    assert torch.bincount(mnist_test.labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert mnist_test.split == "test"


def test_mnist_ink_boxes_match_brute_force(mnist_train: SpriteBank) -> None:
    picks = [0, 1, 2, 12345, 31337, 59999, *np.random.default_rng(1).integers(0, 60000, 20)]
    for i in picks:
        assert mnist_train.ink_boxes[i].tolist() == brute_box(mnist_train.images[i].numpy()), i


def test_mnist_torchvision_layout(tmp_path: Path, mnist_root: Path, mnist_test) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for path in find_idx_files(mnist_root, "mnist", "test"):
        (raw / path.name).symlink_to(path.resolve())
    found = find_idx_files(tmp_path, "mnist", "test")
    assert found is not None and found[0].parent == raw
    bank = SpriteBank.mnist(tmp_path, split="test")
    assert torch.equal(bank.images, mnist_test.images)
    assert torch.equal(bank.labels, mnist_test.labels)


def test_mnist_raw_files(tmp_path: Path, mnist_root: Path, mnist_test) -> None:
    for path in find_idx_files(mnist_root, "mnist", "test"):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        (tmp_path / path.name.removesuffix(".gz")).write_bytes(data)
    images_path, _ = find_idx_files(tmp_path, "mnist", "test")
    assert images_path.suffix != ".gz"
    bank = SpriteBank.mnist(tmp_path, split="test")
    assert torch.equal(bank.images, mnist_test.images)
    assert torch.equal(bank.ink_boxes, mnist_test.ink_boxes)


def test_mnist_files_are_not_fashion(mnist_root: Path) -> None:
    # Same file names: MNIST's files in a flat folder must not pass for Fashion-MNIST.
    with pytest.raises(FileNotFoundError, match="MNIST's, not Fashion-MNIST's"):
        SpriteBank.fashion_mnist(mnist_root, split="test")


def test_auto_finds_mnist(mnist_root: Path) -> None:
    bank = SpriteBank.auto(mnist_root, split="test")
    assert bank.source == "mnist" and len(bank) == 10000


# --------------------------------------------------------------------------------------------------
# Root resolution and lookup
# --------------------------------------------------------------------------------------------------


def test_resolve_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert resolve_root() == home / ".cache" / "gpu_mmnist"
    monkeypatch.setenv(DATA_ENV, "")
    assert resolve_root() == home / ".cache" / "gpu_mmnist"
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert resolve_root() == tmp_path / "env"
    assert resolve_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_root(str(tmp_path / "arg")) == tmp_path / "arg"
    assert resolve_root("~/x") == home / "x"


def test_mnist_loads_from_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images, labels = write_split(tmp_path / "env", "test")
    write_split(tmp_path / "arg", "test", n=3)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    bank = SpriteBank.mnist(split="test")
    assert torch.equal(bank.images, torch.from_numpy(images))
    assert bank.labels.tolist() == labels.tolist()
    assert len(SpriteBank.mnist(tmp_path / "arg", split="test")) == 3  # argument wins


def test_mnist_loads_from_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    write_split(tmp_path / ".cache" / "gpu_mmnist" / "MNIST" / "raw", "train", n=4)
    assert len(SpriteBank.mnist()) == 4


def test_find_idx_files_layouts(tmp_path: Path) -> None:
    assert find_idx_files(tmp_path, "mnist", "train") is None
    write_split(tmp_path, "train")
    images, labels = find_idx_files(tmp_path, "mnist", "train")
    assert (images.name, labels.name) == tuple(f"{n}.gz" for n in NAMES["train"])
    assert find_idx_files(tmp_path, "mnist", "test") is None
    # Torchvision's layout is preferred over the flat one.
    write_split(tmp_path / "MNIST" / "raw", "train", gz=False)
    images, labels = find_idx_files(tmp_path, "mnist", "train")
    assert images == tmp_path / "MNIST" / "raw" / NAMES["train"][0]
    # Fashion-MNIST: FashionMNIST/raw, and the flat root.
    write_split(tmp_path / "FashionMNIST" / "raw", "test")
    assert find_idx_files(tmp_path, "fashion_mnist", "test")[0].parent.name == "raw"
    assert find_idx_files(tmp_path, "fashion_mnist", "train")[0].parent == tmp_path


def test_fashion_mnist_classes(tmp_path: Path) -> None:
    write_split(tmp_path / "FashionMNIST" / "raw", "train", n=10)
    bank = SpriteBank.fashion_mnist(tmp_path)
    assert bank.source == "fashion_mnist" and bank.split == "train"
    assert bank.classes == FASHION_CLASSES and len(FASHION_CLASSES) == 10
    assert bank.classes[int(bank.labels[9])] == "Ankle boot"
    with pytest.raises(FileNotFoundError, match="Fashion-MNIST test split"):
        SpriteBank.fashion_mnist(tmp_path, split="test")


# --------------------------------------------------------------------------------------------------
# IDX parsing and error messages
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_read_idx_roundtrip(tmp_path: Path, name: str) -> None:
    images, _ = synthetic_split(n=7, h=3, w=9)
    out = read_idx(write_idx(tmp_path / name, images))
    assert out.dtype == torch.uint8 and out.shape == (7, 3, 9)
    assert np.array_equal(out.numpy(), images)
    out[0, 0, 0] = 1  # writable, owns its memory


def test_missing_files_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        SpriteBank.mnist(tmp_path / "nowhere", split="test")
    msg = str(info.value)
    assert "MNIST test split" in msg
    assert "download=True" in msg and "gpu-mmnist download" in msg and DATA_ENV in msg
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in msg
    assert str(tmp_path / "nowhere") in msg
    assert "t10k-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg


def test_missing_labels_named(tmp_path: Path) -> None:
    images, _ = synthetic_split()
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(FileNotFoundError, match=r"holds only train-images-idx3-ubyte\.gz"):
        SpriteBank.mnist(tmp_path)


def test_truncated_file(tmp_path: Path) -> None:
    images, _ = synthetic_split()
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, cut=5)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        read_idx(path)
    path = tmp_path / "short-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01\x00")
    with pytest.raises(ValueError, match="short-idx1-ubyte: truncated"):
        read_idx(path)


def test_trailing_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(4)) + b"\x00")
    with pytest.raises(ValueError, match="x-idx1-ubyte: 1 unexpected trailing bytes"):
        read_idx(path)


def test_wrong_magic(tmp_path: Path) -> None:
    images, labels = synthetic_split()
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images, magic=0x00000903)
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte: bad IDX magic number 0x00000903, expected 0x00000803",
    ):
        read_idx(path)
    # Labels where images are expected: right format, wrong number of dims.
    path = write_idx(tmp_path / "train-images-idx3-ubyte", labels)
    with pytest.raises(ValueError, match="magic number 0x00000801, expected 0x00000803"):
        read_idx(path)
    # Extra dimension.
    with pytest.raises(ValueError, match="magic number 0x00000804, expected 0x00000803"):
        read_idx(write_idx(tmp_path / "a-idx3-ubyte.gz", images[None]))


def test_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100)))[:-12])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: not a valid gzip file"):
        read_idx(path)
    path.write_bytes(idx_bytes(np.arange(100)))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: not a valid gzip file"):
        read_idx(path)


def test_count_mismatch_names_both_files(tmp_path: Path) -> None:
    images, labels = synthetic_split(n=6)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:5])
    with pytest.raises(
        ValueError,
        match=r"t10k-images-idx3-ubyte holds 6 images.*t10k-labels-idx1-ubyte\.gz holds 5",
    ):
        SpriteBank.mnist(tmp_path, split="test")


def test_labels_out_of_range(tmp_path: Path) -> None:
    images, labels = synthetic_split(n=6)
    labels[4] = 10
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: label 10 at index 4 is outside"):
        SpriteBank.mnist(tmp_path, split="test")


def test_bad_split_and_dataset(tmp_path: Path) -> None:
    for call in (
        lambda: SpriteBank.mnist(tmp_path, split="val"),
        lambda: SpriteBank.fashion_mnist(tmp_path, split="val"),
        lambda: SpriteBank.auto(tmp_path, split="val"),
        lambda: SpriteBank.glyphs(split="val"),
        lambda: find_idx_files(tmp_path, "mnist", "val"),
    ):
        with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
            call()
    with pytest.raises(ValueError, match=r"dataset must be .* got 'kmnist'"):
        find_idx_files(tmp_path, "kmnist", "train")
    with pytest.raises(ValueError, match=r"dataset must be .* got 'kmnist'"):
        download("kmnist", tmp_path, progress=False)


# --------------------------------------------------------------------------------------------------
# SpriteBank
# --------------------------------------------------------------------------------------------------


def test_from_tensors_and_ink_boxes() -> None:
    images = torch.zeros(5, 6, 7, dtype=torch.uint8)
    images[1, 2, 3] = 9  # single pixel at x=3, y=2
    images[2, 0, 0] = images[2, 5, 6] = 255  # opposite corners
    images[3, 1:4, 2] = 1  # vertical bar
    images[4] = torch.randint(0, 256, (6, 7), generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 4], dtype=torch.int32)
    bank = SpriteBank.from_tensors(images, labels)
    assert bank.ink_boxes.dtype == torch.int32
    assert bank.ink_boxes[:4].tolist() == [
        [-1, -1, -1, -1],
        [3, 2, 3, 2],
        [0, 0, 6, 5],
        [2, 1, 2, 3],
    ]
    for i in range(5):
        assert bank.ink_boxes[i].tolist() == brute_box(images[i].numpy())
    assert bank.labels.dtype == torch.int64
    assert bank.classes == ("0", "1", "2", "3", "4")
    assert bank.source == "tensors" and bank.split is None
    assert (len(bank), bank.height, bank.width, bank.num_classes) == (5, 6, 7, 5)
    assert repr(bank) == "SpriteBank(tensors, n=5, 6×7, device=cpu)"
    named = SpriteBank.from_tensors(images, labels, classes=list("abcdef"), split="train")
    assert named.classes == tuple("abcdef") and named.split == "train"


def test_ink_boxes_random_batch() -> None:
    images, labels = synthetic_split(n=200, h=11, w=13, seed=3)
    images[images < 200] = 0  # sparse ink, some blanks
    bank = SpriteBank.from_tensors(torch.from_numpy(images), torch.from_numpy(labels))
    expected = [brute_box(img) for img in images]
    assert bank.ink_boxes.tolist() == expected


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "error", "match"),
    [
        (
            np.zeros((2, 3, 3), np.uint8),
            torch.zeros(2),
            {},
            TypeError,
            "images must be a torch.Tensor",
        ),
        (torch.zeros(2, 3, 3), torch.zeros(2), {}, TypeError, "images must have dtype torch.uint8"),
        (torch.zeros(3, 3, dtype=torch.uint8), torch.zeros(3), {}, ValueError, r"images.*\[3, 3\]"),
        (torch.zeros(0, 3, 3, dtype=torch.uint8), torch.zeros(0), {}, ValueError, "images must"),
        (torch.zeros(2, 0, 3, dtype=torch.uint8), torch.zeros(2), {}, ValueError, "N, h, w >= 1"),
        (torch.zeros(2, 3, 3, dtype=torch.uint8), [0, 1], {}, TypeError, "labels must be a torch"),
        (torch.zeros(2, 3, 3, dtype=torch.uint8), torch.zeros(2), {}, TypeError, "labels.*float32"),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.zeros(2, dtype=torch.bool),
            {},
            TypeError,
            "labels must have an integer dtype",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.zeros(3, dtype=torch.long),
            {},
            ValueError,
            r"labels must have shape \[2\].*\[3\]",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.tensor([0, -1]),
            {},
            ValueError,
            "labels must be >= 0, got minimum -1",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.tensor([0, 2]),
            {"classes": ("a", "b")},
            ValueError,
            r"labels must be in \[0, 2\).*maximum 2",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.tensor([0, 0]),
            {"classes": "ab"},
            TypeError,
            "classes must be a sequence of str",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.uint8),
            torch.tensor([0, 0]),
            {"classes": (1, 2)},
            TypeError,
            "classes must be a non-empty sequence of str",
        ),
    ],
)
def test_from_tensors_rejects(images, labels, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        SpriteBank.from_tensors(images, labels, **kwargs)


def test_to_keeps_content() -> None:
    images, labels = synthetic_split(n=9)
    bank = SpriteBank.from_tensors(torch.from_numpy(images), torch.from_numpy(labels), split="test")
    devices = ["cpu", torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append("cuda")
    for device in devices:
        moved = bank.to(device)
        assert moved.device.type == torch.device(device).type
        assert moved.ink_boxes.device == moved.labels.device == moved.images.device
        back = moved.to("cpu")
        assert torch.equal(back.images, bank.images)
        assert torch.equal(back.labels, bank.labels)
        assert torch.equal(back.ink_boxes, bank.ink_boxes)
        assert (back.source, back.split, back.classes) == (bank.source, bank.split, bank.classes)
    assert bank.to("cpu") is bank


def test_bank_is_frozen_and_checks_fields() -> None:
    bank = SpriteBank.from_tensors(torch.ones(2, 2, 2, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(AttributeError):
        bank.source = "x"
    with pytest.raises(TypeError, match="ink_boxes must be an int32 tensor"):
        SpriteBank(bank.images, bank.labels, bank.ink_boxes.long(), "tensors", None, ("0", "1"))


# --------------------------------------------------------------------------------------------------
# Glyphs and auto
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_glyphs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Stand-in ``gpu_mmnist.glyphs`` (fast, always present) recording its calls."""
    calls: list[dict] = []

    def glyph_sprites(count: int = 10_000, seed: int = 0, size: int = 28):
        calls.append({"count": count, "seed": seed, "size": size})
        gen = torch.Generator().manual_seed(seed)
        images = torch.randint(0, 256, (count, size, size), dtype=torch.uint8, generator=gen)
        return images, torch.arange(count, dtype=torch.int64) % 10

    module = types.ModuleType("gpu_mmnist.glyphs")
    module.glyph_sprites = glyph_sprites
    monkeypatch.setitem(sys.modules, "gpu_mmnist.glyphs", module)
    return calls


def test_glyphs_seed_per_split(fake_glyphs: list[dict]) -> None:
    train = SpriteBank.glyphs(count=12, seed=3, split="train", size=9)
    test = SpriteBank.glyphs(count=12, seed=3, split="test", size=9)
    assert fake_glyphs == [
        {"count": 12, "seed": 6, "size": 9},
        {"count": 12, "seed": 7, "size": 9},
    ]
    assert train.source == "glyphs" and train.split == "train" and test.split == "test"
    assert train.classes == tuple("0123456789")
    assert train.images.shape == (12, 9, 9)
    assert train.ink_boxes.tolist() == [brute_box(img) for img in train.images.numpy()]
    SpriteBank.glyphs(count=1, seed=np.int64(-2), split="test")
    assert fake_glyphs[-1]["seed"] == -3 and type(fake_glyphs[-1]["seed"]) is int
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        SpriteBank.glyphs(count=1, seed=1.5)


def test_auto_falls_back_to_glyphs(tmp_path: Path, fake_glyphs: list[dict]) -> None:
    bank = SpriteBank.auto(tmp_path, split="test")
    assert bank.source == "glyphs" and bank.split == "test"
    assert fake_glyphs == [{"count": 10_000, "seed": 1, "size": 28}]
    assert not any(tmp_path.iterdir())  # no download attempted


def test_real_glyphs_splits_differ() -> None:
    pytest.importorskip("gpu_mmnist.glyphs")
    train = SpriteBank.glyphs(count=10, seed=0, split="train")
    test = SpriteBank.glyphs(count=10, seed=0, split="test")
    assert train.images.shape == test.images.shape == (10, 28, 28)
    assert train.labels.tolist() == test.labels.tolist() == list(range(10))
    assert bool((train.ink_boxes >= 0).all())
    assert not torch.equal(train.images, test.images)


def test_auto_uses_mnist_when_found(tmp_path: Path) -> None:
    write_split(tmp_path / "MNIST" / "raw", "train", n=8)
    bank = SpriteBank.auto(tmp_path)
    assert bank.source == "mnist" and len(bank) == 8


# --------------------------------------------------------------------------------------------------
# Download (local HTTP server)
# --------------------------------------------------------------------------------------------------


class _Server:
    def __init__(self, directory: Path) -> None:
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def do_GET(self):
                log.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Local server holding a synthetic MNIST under /good/; /missing/ is empty (404s).  Patches the
    mirror and MD5 tables to point at it; yields (server, {gz name: bytes})."""
    serve = tmp_path / "serve"
    good = serve / "good"
    good.mkdir(parents=True)
    (serve / "missing").mkdir()
    files = {}
    for seed, split in enumerate(("train", "test")):
        images, labels = synthetic_split(n=5 + seed, seed=seed)
        for name, array in zip(NAMES[split], (images, labels), strict=True):
            files[f"{name}.gz"] = gzip.compress(idx_bytes(array))
            (good / f"{name}.gz").write_bytes(files[f"{name}.gz"])
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    server = _Server(serve)
    monkeypatch.setitem(sprites.MIRRORS, "mnist", (f"{server.url}/missing/", f"{server.url}/good/"))
    monkeypatch.setitem(
        sprites.MD5, "mnist", {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    )
    monkeypatch.setitem(sprites.RAW_MD5, "mnist", {})
    monkeypatch.setattr(sprites, "DOWNLOAD_TIMEOUT", 5.0)
    yield server, files
    server.close()


def test_download_falls_back_and_loads(tmp_path: Path, mirror) -> None:
    server, files = mirror
    root = tmp_path / "data"
    folder = download("mnist", root, progress=False)
    assert folder == root / "MNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
        assert (folder / name).stat().st_mode & 0o444 == 0o444  # readable by all
    # Each file: a 404 from the first mirror, then the second.
    assert len(server.requests) == 8
    assert sum(r.startswith("/missing/") for r in server.requests) == 4
    bank = SpriteBank.mnist(root, split="test")
    assert len(bank) == 6 and bank.images.shape == (6, 5, 4)
    # Everything present: nothing is fetched again.
    assert download("mnist", root, progress=False) == folder
    assert len(server.requests) == 8


def test_download_via_mnist_download_flag(tmp_path: Path, mirror) -> None:
    server, _ = mirror
    bank = SpriteBank.mnist(tmp_path, split="train", download=True)
    assert len(bank) == 5 and len(server.requests) == 8
    SpriteBank.mnist(tmp_path, split="train", download=True)
    assert len(server.requests) == 8


def test_download_skips_present_files(tmp_path: Path, mirror) -> None:
    server, files = mirror
    # Test split already present, uncompressed, in the flat layout: only train is fetched.
    for name in NAMES["test"]:
        (tmp_path / name).write_bytes(gzip.decompress(files[f"{name}.gz"]))
    folder = download("mnist", tmp_path, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == [f"{n}.gz" for n in NAMES["train"]]
    assert all("t10k" not in r for r in server.requests)
    # A corrupt file in the target folder is replaced.
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"junk")
    server.requests.clear()
    download("mnist", tmp_path, progress=False)
    assert server.requests == [
        "/missing/train-labels-idx1-ubyte.gz",
        "/good/train-labels-idx1-ubyte.gz",
    ]
    assert (folder / "train-labels-idx1-ubyte.gz").read_bytes() == files[
        "train-labels-idx1-ubyte.gz"
    ]


def test_download_md5_mismatch_leaves_nothing(
    tmp_path: Path, mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = mirror
    bad = dict(sprites.MD5["mnist"], **{"train-images-idx3-ubyte.gz": "0" * 32})
    monkeypatch.setitem(sprites.MD5, "mnist", bad)
    with pytest.raises(RuntimeError) as info:
        download("mnist", tmp_path, progress=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg
    assert f"{server.url}/missing/" in msg and f"{server.url}/good/" in msg
    assert "404" in msg and "MD5 mismatch" in msg
    folder = tmp_path / "MNIST" / "raw"
    assert list(folder.iterdir()) == []  # no final file, no temp file


def test_download_accepts_recompressed_file(
    tmp_path: Path, mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, files = mirror
    name = "t10k-labels-idx1-ubyte"
    raw = gzip.decompress(files[f"{name}.gz"])
    (tmp_path / "serve" / "good" / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
    monkeypatch.setitem(sprites.RAW_MD5, "mnist", {name: hashlib.md5(raw).hexdigest()})
    folder = download("mnist", tmp_path, progress=False)
    assert gzip.decompress((folder / f"{name}.gz").read_bytes()) == raw


def test_download_all_mirrors_down(tmp_path: Path, mirror, monkeypatch) -> None:
    server, _ = mirror
    monkeypatch.setitem(sprites.MIRRORS, "mnist", (f"{server.url}/missing/",))
    with pytest.raises(RuntimeError, match=r"could not download train-images-idx3-ubyte\.gz"):
        SpriteBank.mnist(tmp_path, download=True)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_published_tables() -> None:
    assert sprites.MIRRORS["mnist"][0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    for dataset in ("mnist", "fashion_mnist"):
        assert sorted(sprites.MD5[dataset]) == sorted(f"{n}.gz" for v in NAMES.values() for n in v)
        assert all(len(v) == 32 for v in sprites.MD5[dataset].values())
    assert sprites.MD5["mnist"]["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
