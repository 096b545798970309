"""Tests for the ``gpu-mmnist`` command line (gpu_mmnist.cli)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from gpu_mmnist import SpriteBank, bench, cli
from gpu_mmnist.sprites import DATA_ENV

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def few_glyphs(monkeypatch):
    """Make every built-in glyph bank 200 sprites (the same first 200 glyphs), so in-process
    demos are fast; the subprocess test runs the CLI's own bank."""
    original = SpriteBank.glyphs.__func__

    def glyphs(cls, count=10_000, *args, **kwargs):
        return original(cls, 200, *args, **kwargs)

    monkeypatch.setattr(SpriteBank, "glyphs", classmethod(glyphs))


@pytest.fixture
def no_mnist(monkeypatch, tmp_path) -> Path:
    """An environment where MNIST cannot be found: $GPU_MMNIST_DATA and HOME are empty folders."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(DATA_ENV, str(empty))
    monkeypatch.setenv("HOME", str(empty))
    return empty


def one_error_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("gpu-mmnist: error: "), text
    assert "Traceback" not in text
    return lines[0]


def test_demo_with_glyphs_writes_png_and_gif(tmp_path, capsys, few_glyphs):
    out = tmp_path / "out"
    assert cli.main(["demo", "--digits", "glyphs", "--out", str(out), "--num-sequences", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    with Image.open(out / "classic.png") as png:
        assert png.format == "PNG"
        assert png.size[1] > 3 * 64 * 3  # three rows of 64-pixel frames at scale 3
    with Image.open(out / "classic.gif") as gif:
        assert gif.n_frames == 20
        assert gif.size[0] == 3 * 64 * 3 + 4 * 2  # three sequences side by side
    for expected in ("classic.png", "classic.gif", "glyph", "cpu", "[3, 20, 1, 64, 64]"):
        assert expected in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["classic.gif", "classic.png"]


def test_demo_auto_without_mnist_prints_one_notice(tmp_path, capsys, no_mnist, few_glyphs):
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--num-sequences", "1"]) == 0
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"gpu-mmnist: MNIST not found under {no_mnist};")
    assert "built-in glyph digits" in lines[0]
    assert "gpu-mmnist download" in lines[0]
    assert (tmp_path / "out" / "classic.png").is_file()
    assert (tmp_path / "out" / "classic.gif").is_file()


def test_demo_auto_with_root_uses_it(tmp_path, capsys, no_mnist, few_glyphs):
    other = tmp_path / "other"
    other.mkdir()
    args = ["demo", "--root", str(other), "--out", str(tmp_path), "--num-sequences", "1"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert f"not found under {other};" in err
    assert f"gpu-mmnist download --root {other}" in err


def test_demo_auto_finds_real_mnist(tmp_path, capsys, mnist_root):
    args = ["demo", "--root", str(mnist_root), "--out", str(tmp_path), "--num-sequences", "1"]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "MNIST train" in captured.out
    assert (tmp_path / "classic.png").is_file()


def test_demo_mnist_missing_is_one_error_line(tmp_path, capsys, no_mnist):
    code = cli.main(["demo", "--digits", "mnist", "--root", str(no_mnist), "--out", str(tmp_path)])
    assert code == 1
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert "not found" in line
    assert not (tmp_path / "classic.png").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["demo", "--preset", "nope"], ["--preset", "nope", "classic"]),
        (["demo", "--num-sequences", "0"], ["--num-sequences"]),
        (["demo", "--num-sequences", "65"], ["--num-sequences", "64"]),
        (["demo", "--seed", "-1"], ["--seed"]),
        (["demo", "--digits", "emnist"], ["--digits"]),
        (["demo", "--bogus"], ["--bogus"]),
        (["download", "--dataset", "cifar"], ["--dataset"]),
        (["bench", "--batch-sizes", "0"], ["--batch-sizes", "0"]),
        (["bench", "--batch-sizes", "x"], ["--batch-sizes", "'x'"]),
        (["bench", "--batch-sizes", "-5"], ["--batch-sizes", "-5"]),
        (["bench", "--batch-sizes", "16,-1"], ["--batch-sizes", "-1"]),
        (["bench", "--batch-sizes", "16,,256"], ["--batch-sizes"]),
        (["bench", "--backends", "tpu"], ["--backends", "'tpu'", "auto, torch, triton"]),
        (["bench", "--backends", "torch,cuda"], ["--backends", "'cuda'"]),
        (["bench", "--seconds", "-1"], ["--seconds"]),
        (["bench", "--device", "tpu"], ["--device"]),
        (["bench", "--digits", "emnist"], ["--digits"]),
        (["info", "--bogus"], ["--bogus"]),
        (["frobnicate"], ["frobnicate"]),
        ([], ["demo", "download", "bench", "info"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, args, words):
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    for word in words:
        assert word in line
    assert captured.out == ""


def test_library_errors_exit_1(tmp_path, capsys, few_glyphs):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    args = ["demo", "--digits", "glyphs", "--num-sequences", "1", "--out", str(blocker)]
    assert cli.main(args) == 1
    one_error_line(capsys.readouterr().err)
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_clean_error(tmp_path, capsys):
    assert cli.main(["demo", "--device", "cuda", "--out", str(tmp_path)]) == 1
    assert "CUDA" in one_error_line(capsys.readouterr().err)


def test_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("demo", "download", "examples", "GPU_MMNIST_DATA"):
        assert word in out
    assert cli.main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--digits", "--num-sequences", "--out", "--device", "glyphs", "examples"):
        assert word in out
    assert cli.main(["download", "--help"]) == 0
    assert "--dataset" in capsys.readouterr().out
    assert cli.main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    for word in ("--batch-sizes", "--backends", "--no-peers", "--no-loaders", "--json", "examples"):
        assert word in out
    assert cli.main(["info", "--help"]) == 0
    assert "--root" in capsys.readouterr().out


def test_download_calls_the_library(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_download(dataset, root, progress):
        calls.append((dataset, root, progress))
        return tmp_path / "FashionMNIST" / "raw"

    monkeypatch.setattr(cli.sprites, "download", fake_download)
    args = ["download", "--dataset", "fashion_mnist", "--root", str(tmp_path)]
    assert cli.main(args) == 0
    assert calls == [("fashion_mnist", str(tmp_path), True)]
    assert str(tmp_path / "FashionMNIST" / "raw") in capsys.readouterr().out

    assert cli.main(["download"]) == 0
    assert calls[-1] == ("mnist", None, True)


def test_download_failure_is_one_error_line(capsys, monkeypatch):
    def failing_download(dataset, root, progress):
        raise RuntimeError("could not download train-images-idx3-ubyte.gz\nsecond line")

    monkeypatch.setattr(cli.sprites, "download", failing_download)
    assert cli.main(["download"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == "gpu-mmnist: error: could not download train-images-idx3-ubyte.gz"


def test_python_dash_m_runs_the_demo(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop(DATA_ENV, None)
    args = ["demo", "--digits", "glyphs", "--num-sequences", "2", "--out", str(tmp_path / "demo")]
    result = subprocess.run(
        [sys.executable, "-m", "gpu_mmnist.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "demo" / "classic.png").is_file()
    assert (tmp_path / "demo" / "classic.gif").is_file()


# --------------------------------------------------------------------------------------------------
# bench
# --------------------------------------------------------------------------------------------------

ALL_ROWS = [
    "Srivastava 2015 BouncingMNIST",
    "OpenSTL MovingMNIST, items",
    "OpenSTL MovingMNIST, DataLoader",
    "gpu_mmnist render, CPU",
    "gpu_mmnist MovingMNISTStream, DataLoader, CPU",
    "gpu_mmnist MovingMNIST, DataLoader, CPU",
]


def table_rows(out: str) -> list[str]:
    """The table's data lines (after the dashes under the header)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("generator"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_bench_prints_the_table_and_writes_json(tmp_path, capsys, few_glyphs):
    path = tmp_path / "out" / "bench.json"
    args = ["bench", "--batch-sizes", "3", "--seconds", "0", "--digits", "glyphs"]
    assert cli.main([*args, "--json", str(path)]) == 0
    captured = capsys.readouterr()
    assert "FAILED" not in captured.out + captured.err
    assert "Traceback" not in captured.err
    assert f"torch {torch.__version__}" in captured.out
    rows = table_rows(captured.out)
    assert len(rows) == 7  # 3 peers, render × 2 outputs, 2 DataLoader paths
    for name in ALL_ROWS:
        assert any(row.startswith(name) for row in rows), name
    header = next(line for line in captured.out.splitlines() if line.startswith("generator"))
    for column in ("backend", "sequences/s", "vs OpenSTL", "overhead", "cpu/wall"):
        assert column in header

    document = json.loads(path.read_text())
    assert document["command"] == f"gpu-mmnist {' '.join(args)} --json {path}"
    assert document["environment"]["torch"] == torch.__version__
    assert "commit" in document["environment"]
    assert document["settings"]["batch_sizes"] == [3]
    assert document["settings"]["backends"] == ["auto"]
    results = document["results"]
    assert len(results) == 7
    assert all(r["error"] is None and r["sequences_per_s"] > 0 for r in results)
    assert all(r["calls"] >= 3 for r in results)
    loaders = [r for r in results if r["kind"] == "loader"]
    assert len(loaders) == 2
    assert all(r["overhead_vs_render"] > 0 for r in loaders)


def test_bench_without_peers_and_loaders(capsys, few_glyphs):
    args = ["bench", "--batch-sizes", "2,3", "--backends", "auto,torch", "--seconds", "0"]
    assert cli.main([*args, "--digits", "glyphs", "--no-peers", "--no-loaders"]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert len(rows) == 8  # 2 batch sizes × 2 backends × 2 output sets
    assert all(row.startswith("gpu_mmnist render, CPU") for row in rows)
    backends = [row.split()[3] for row in rows]  # after "gpu_mmnist render, CPU"
    assert backends == ["auto", "auto", "torch", "torch"] * 2
    assert "vs OpenSTL" not in out
    assert "overhead" not in out


def test_bench_reports_a_failed_row_and_exits_1(capsys, few_glyphs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("dataset broken for this test")

    monkeypatch.setattr(bench.datasets, "MovingMNISTStream", broken)
    monkeypatch.setattr(bench.datasets, "MovingMNIST", broken)
    args = ["bench", "--batch-sizes", "2", "--seconds", "0", "--digits", "glyphs", "--no-peers"]
    assert cli.main(args) == 1
    captured = capsys.readouterr()
    rows = table_rows(captured.out)
    assert len(rows) == 4
    assert [("FAILED" in row) for row in rows] == [False, False, True, True]
    failed = [line for line in captured.err.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2
    assert all("dataset broken for this test" in line for line in failed)


def test_bench_auto_without_mnist_says_so(capsys, few_glyphs, no_mnist):
    args = ["bench", "--batch-sizes", "1", "--seconds", "0", "--no-peers", "--no-loaders"]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert f"MNIST not found under {no_mnist}" in captured.err
    assert "glyphs" in captured.out


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_bench_cuda_without_cuda_is_a_clean_error(capsys):
    assert cli.main(["bench", "--device", "cuda"]) == 1
    assert "CUDA" in one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------------


def test_info_without_data(capsys, no_mnist):
    assert cli.main(["info"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert f"torch                {torch.__version__}" in out
    for word in ("python", "numpy", "Pillow", "triton", "cuda", "backends", "TRITON_INTERPRET=1"):
        assert word in out
    assert f"{no_mnist} (from $GPU_MMNIST_DATA)" in out
    mnist = [line for line in out.splitlines() if line.strip().startswith("MNIST ")]
    assert len(mnist) == 2
    assert all("not found (run `gpu-mmnist download`)" in line for line in mnist)
    assert "download --dataset fashion_mnist" in out


def test_info_finds_real_mnist(capsys, mnist_root):
    assert cli.main(["info", "--root", str(mnist_root)]) == 0
    out = capsys.readouterr().out
    assert f"{mnist_root} (from --root)" in out
    train = next(line for line in out.splitlines() if line.strip().startswith("MNIST train"))
    assert str(mnist_root) in train
    assert "train-images-idx3-ubyte" in train
