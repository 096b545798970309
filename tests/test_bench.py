"""Tests for the benchmark engine (gpu_mmnist.bench): timing loop on a fake clock, statistics,
ratios, table, environment, and a tiny real run of every kind of row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_mmnist import SpriteBank, bench
from gpu_mmnist.bench import BASELINE, FRAMES, FRAMES_BOXES_MASKS, Case, Result, RowUnavailable


class FakeClock:
    """Wall and CPU clocks that only move when the timed call runs: each call takes the next
    scripted duration of wall time and ``cpu_factor`` times as much CPU time."""

    def __init__(self, durations: list[float], cpu_factor: float = 1.0) -> None:
        self.durations = list(durations)
        self.cpu_factor = cpu_factor
        self.now = 0.0
        self.cpu = 0.0
        self.calls = 0

    def wall(self) -> float:
        return self.now

    def process(self) -> float:
        return self.cpu

    def call(self) -> str:
        step = self.durations.pop(0)
        self.now += step
        self.cpu += self.cpu_factor * step
        self.calls += 1
        return "batch"


# --------------------------------------------------------------------------------------------------
# Timing loop and statistics
# --------------------------------------------------------------------------------------------------


def test_measure_warms_up_then_times_until_seconds_and_min_calls() -> None:
    # warm-up 1.0 s (untimed), then 0.25 + 0.75 + 0.5 = 1.5 s < 2 s, + 0.5 = 2.0 s: stop
    clock = FakeClock([1.0, 0.25, 0.75, 0.5, 0.5, 8.0], cpu_factor=2.0)
    times, cpu_per_wall = bench.measure(
        clock.call, seconds=2.0, warmup=1, clock=clock.wall, cpu_clock=clock.process
    )
    assert times == [0.25, 0.75, 0.5, 0.5]
    assert clock.calls == 5
    assert cpu_per_wall == 2.0
    stats = bench.summarize(times, batch=64)
    assert stats["median_s"] == 0.5
    assert stats["sequences_per_s"] == 128.0
    assert stats["mean_s"] == 0.5
    assert (stats["min_s"], stats["max_s"]) == (0.25, 0.75)


def test_measure_makes_at_least_three_calls() -> None:
    clock = FakeClock([4.0, 4.0, 1.0, 2.0, 99.0])
    times, _ = bench.measure(
        clock.call, seconds=0.0, warmup=0, clock=clock.wall, cpu_clock=clock.process
    )
    assert times == [4.0, 4.0, 1.0]
    assert bench.summarize(times, batch=8)["median_s"] == 4.0


def test_summarize_even_count_median_is_the_mean_of_the_middle_two() -> None:
    stats = bench.summarize([0.5, 0.125, 0.25, 1.0], batch=3)
    assert stats["median_s"] == 0.375
    assert stats["sequences_per_s"] == 8.0
    with pytest.raises(ValueError):
        bench.summarize([], batch=3)


def test_run_case_reports_setup_failures_as_the_row_error() -> None:
    def unavailable():
        raise RowUnavailable("gpu_mmnist.datasets is not available (ImportError: nope)")

    def broken():
        raise KeyError("boom")

    for setup, expected in [(unavailable, "gpu_mmnist.datasets is not available"), (broken, "")]:
        result = bench.run_case(Case("row", FRAMES, 4, setup), seconds=0.0)
        assert result.sequences_per_s is None
        assert result.calls == 0
        assert expected in result.error
    assert bench.run_case(Case("row", FRAMES, 4, broken), 0.0).error == "KeyError('boom')"


def test_run_case_with_a_fake_clock() -> None:
    clock = FakeClock([9.0, 0.5, 0.25, 0.25])
    case = Case("ours", FRAMES, 16, lambda: clock.call, kind="render", backend="torch")
    result = bench.run_case(case, seconds=1.0, warmup=1, clock=clock.wall, cpu_clock=clock.process)
    assert result.error is None
    assert result.times_s == [0.5, 0.25, 0.25]
    assert result.median_s == 0.25
    assert result.sequences_per_s == 64.0
    assert (result.calls, result.warmup_calls) == (3, 1)
    assert (result.kind, result.backend, result.device) == ("render", "torch", "cpu")


def result(name: str, produces: str, batch: int, median: float, kind: str, **kw) -> Result:
    return Result(
        name, produces, batch, sequences_per_s=batch / median, median_s=median, kind=kind, **kw
    )


def test_ratios_against_openstl_and_the_bare_render_call() -> None:
    results = [
        result(BASELINE, "frames (f32)", 256, 0.08, "peer"),
        result("Srivastava", "frames (f32)", 256, 0.04, "peer"),
        result("render", FRAMES, 256, 0.01, "render", backend="torch"),
        result("render", FRAMES_BOXES_MASKS, 256, 0.02, "render", backend="torch"),
        result("stream", FRAMES_BOXES_MASKS, 256, 0.025, "loader", backend="torch"),
        result("map", FRAMES, 256, 0.011, "loader", backend="torch"),
        result("map", FRAMES, 256, 0.011, "loader", backend="auto"),  # no auto render row
        result("render", FRAMES, 16, 0.001, "render", backend="torch"),  # no baseline at 16
        Result("map", FRAMES, 16, kind="loader", backend="torch", error="not there"),
    ]
    bench.compute_ratios(results)
    ratios = [r.ratio_vs_openstl for r in results]
    assert ratios[:6] == pytest.approx([1.0, 2.0, 8.0, 4.0, 3.2, 0.08 / 0.011])
    assert ratios[7:] == [None, None]
    overheads = [r.overhead_vs_render for r in results]
    assert overheads[4:6] == pytest.approx([1.25, 1.1])
    assert overheads[:4] == [None] * 4
    assert overheads[6:] == [None] * 3


# --------------------------------------------------------------------------------------------------
# Table, warnings, environment, JSON
# --------------------------------------------------------------------------------------------------


def test_table_columns_follow_the_rows() -> None:
    peer = result(BASELINE, "frames (f32)", 8, 0.5, "peer", ratio_vs_openstl=1.0)
    ours = result("gpu_mmnist render, CPU", FRAMES, 8, 0.25, "render", backend="torch")
    loader = result("map", FRAMES, 8, 0.5, "loader", backend="torch", overhead_vs_render=2.0)
    failed = Result("stream", FRAMES_BOXES_MASKS, 8, kind="loader", backend="torch", error="x")

    table = bench.format_table([peer, ours, loader, failed]).splitlines()
    header = table[0].split()
    assert header[:3] == ["generator", "backend", "produces"]
    assert "OpenSTL" in header
    assert "overhead" in header
    assert set(table[1]) == {"-", " "}
    assert len(table) == 6
    assert "32.0" in table[3]  # 8 / 0.25 sequences/s
    assert "2.00×" in table[4]
    assert "FAILED" in table[5]
    assert "stream" in table[5]

    only_ours = bench.format_table([ours]).splitlines()[0]
    assert "OpenSTL" not in only_ours
    assert "overhead" not in only_ours


def test_load_warning_only_when_busy() -> None:
    rows = [Result("a", FRAMES, 1, loadavg_1min=0.5), Result("b", FRAMES, 1, loadavg_1min=3.5)]
    assert bench.load_warnings(rows[:1], cpu_count=2) == []
    (warning,) = bench.load_warnings(rows, cpu_count=2)
    assert "3.50" in warning
    assert "2 CPUs" in warning


def test_git_commit_in_this_checkout_and_elsewhere(tmp_path: Path) -> None:
    commit = bench.git_commit()
    if (Path(bench.__file__).resolve().parents[1] / ".git").exists():
        assert len(commit.removesuffix("+dirty")) == 40
        int(commit.removesuffix("+dirty"), 16)
    else:
        assert commit == "unknown"
    outside = tmp_path / "bench.py"
    outside.write_text("")
    assert bench.git_commit(outside) == "unknown"


def test_environment_and_report_are_json() -> None:
    env = bench.environment("cpu")
    assert env["torch"] == torch.__version__
    assert env["cpu_count"] >= 1
    results = [result(BASELINE, "frames (f32)", 4, 0.5, "peer")]
    document = bench.report(results, env, {"batch_sizes": [4]}, ["w"], "gpu-mmnist bench")
    parsed = json.loads(json.dumps(document))
    assert parsed["environment"]["commit"] == env["commit"]
    assert parsed["settings"]["min_calls"] == bench.MIN_CALLS
    assert parsed["settings"]["batch_sizes"] == [4]
    assert parsed["results"][0]["name"] == BASELINE
    assert parsed["warnings"] == ["w"]


# --------------------------------------------------------------------------------------------------
# Real rows, tiny
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_digits() -> bench.Digits:
    bank = SpriteBank.glyphs(count=100, split="train")
    return bench.Digits(np.ascontiguousarray(bank.images.numpy()), "glyphs (100)", bank)


def test_every_row_kind_runs(small_digits: bench.Digits) -> None:
    cases = bench.build_cases(small_digits, [3], backends=["torch"])
    names = [c.name for c in cases]
    assert names == [
        "Srivastava 2015 BouncingMNIST",
        BASELINE,
        "OpenSTL MovingMNIST, DataLoader",
        "gpu_mmnist render, CPU",
        "gpu_mmnist render, CPU",
        "gpu_mmnist MovingMNISTStream, DataLoader, CPU",
        "gpu_mmnist MovingMNIST, DataLoader, CPU",
    ]
    results = bench.run_cases(cases, seconds=0.0, progress=False)
    for r in results:
        assert r.error is None, (r.name, r.error)
        assert r.calls >= bench.MIN_CALLS
        assert r.sequences_per_s > 0
        assert r.ratio_vs_openstl is not None
    assert [r.overhead_vs_render is not None for r in results] == [False] * 5 + [True] * 2


def test_build_cases_options(small_digits: bench.Digits) -> None:
    cases = bench.build_cases(
        small_digits, [2, 5], backends=["auto", "torch"], peers=False, loaders=False
    )
    assert [(c.batch, c.backend, c.produces) for c in cases] == [
        (b, backend, produces)
        for b in (2, 5)
        for backend in ("auto", "torch")
        for produces in (FRAMES, FRAMES_BOXES_MASKS)
    ]


def test_peers_refuse_a_canvas_they_cannot_draw(small_digits: bench.Digits, monkeypatch) -> None:
    original = bench.SceneConfig.preset
    monkeypatch.setattr(
        bench.SceneConfig,
        "preset",
        staticmethod(lambda name, **kw: original(name, canvas=(64, 80), **kw)),
    )
    row = bench.run_case(bench.srivastava_case(small_digits, 2), seconds=0.0)
    assert "square" in row.error


def test_load_digits_names_its_source(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        SpriteBank, "glyphs", classmethod(lambda cls, **kw: SpriteBank.from_tensors(
            torch.zeros(3, 28, 28, dtype=torch.uint8), torch.arange(3), source="glyphs"
        ))
    )  # fmt: skip
    digits = bench.load_digits("auto", root=tmp_path)
    assert digits.images.shape == (3, 28, 28)
    assert digits.source.startswith("glyphs")
    assert f"MNIST not found under {tmp_path}" in digits.source
    with pytest.raises(FileNotFoundError):
        bench.load_digits("mnist", root=tmp_path)
    with pytest.raises(ValueError, match="digits"):
        bench.load_digits("emnist")


def test_load_digits_reads_mnist(mnist_root: Path) -> None:
    digits = bench.load_digits("auto", root=mnist_root)
    assert digits.source == "MNIST train (SpriteBank.mnist)"
    assert digits.images.shape == (60_000, 28, 28)
    assert digits.bank.source == "mnist"
