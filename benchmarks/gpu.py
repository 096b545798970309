"""GPU truth in one command: correctness, bandwidth, throughput and the goals, into one JSON file.

Run it on a machine with a CUDA GPU (it is sized to finish well within 10 minutes on an H100)::

    python benchmarks/gpu.py                      # batch sizes 16,256,4096,65536
    python benchmarks/gpu.py --quick              # batch sizes 16,4096
    TRITON_INTERPRET=1 python benchmarks/gpu.py --allow-cpu --quick   # smoke test, no GPU

Sections, in order (every section is printed as it finishes):

1. *Environment*: GPU, capability, memory, driver and CUDA versions, library versions, commit.
2. *Correctness*: for a few index ranges (up to ``2**63 - 1``, across ``2**32``, negative) and
   both output sets (frames; frames + boxes + masks), the Triton kernel's ``Batch`` (and that of
   ``render(..., backend="triton")``) equals the torch reference on the same GPU and on the CPU,
   field by field with ``torch.equal``. Any FAIL → exit status 1 (after the JSON is written).
3. *Bandwidth*: ``dst.copy_(src)`` of a large uint8 buffer (bytes moved = read + write =
   2 × size) and the write-only fills ``dst.fill_(1)`` and ``dst.zero_()``; the faster fill is
   *the measured write bandwidth*, the bound every row is compared with.
4. *Throughput*: per batch size and output set, the kernel on pre-sampled parameters, ``sample``
   alone, the whole ``render(..., backend="triton")`` call, the torch reference on the same GPU,
   ``render(..., device="cpu")`` and the OpenSTL generator on the CPU; then the small-batch
   latency, eager and under a CUDA graph.
5. *Goals* (from the issue), met or not, with the numbers.

Timing: GPU rows use ``triton.testing.do_bench`` (its default warm-up and repetition times; it
flushes the L2 cache before every timed call and times with CUDA events); the statistic is the
median, computed as ``do_bench(fn, return_mode="median")`` computes it (``statistics.median``
of the timed calls), with the 20th and 80th percentiles beside it. CPU rows use
:func:`gpu_mmnist.bench.measure` (wall clock, median per call). GB = 10⁹ bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import torch

from gpu_mmnist import PRESETS, Batch, SceneConfig, bench, reference, render, sample
from gpu_mmnist.sprites import SpriteBank

PROG = "benchmarks/gpu.py"
REPO = Path(__file__).resolve().parent.parent

DEFAULT_BATCH_SIZES = (16, 256, 4096, 65536)
QUICK_BATCH_SIZES = (16, 4096)
SMOKE_BATCH_SIZES = (2, 4)  # --allow-cpu: the Triton interpreter is slow
SMOKE_FRAMES = 4
GOAL_BATCH = 4096
LATENCY_BATCH = 16
MEMORY_FRACTION = 0.4  # a row runs only when its outputs fit in this fraction of free memory
CPU_MAX_BATCH = 4096  # render(device="cpu") rows stop here (65536 would take a minute a row)
PEER_ITEMS = 256
BANDWIDTH_BYTES = 1 << 30
GB = 1e9

FRAMES = "frames"
ALL = "frames+boxes+masks"
ROTATION = "rotation, frames"
OUTPUT_SETS = {FRAMES: (False, False), ALL: (True, True)}  # name -> (boxes, masks)

KERNEL = "triton kernel"
RENDER_TRITON = "render(triton)"
SAMPLE = "sample()"
TORCH_DEVICE = "torch reference"
CPU_RENDER = "render(cpu)"
PEER = "OpenSTL items"

# Batch fields a render call writes; labels, sprite_ids and indices are the parameters passed
# through, not written by the renderer.
WRITTEN_FIELDS = (
    "frames",
    "positions",
    "boxes",
    "visible",
    "instance_masks",
    "semantic_masks",
)

GOAL_TARGETS = {
    "frames": 50.0,  # % of the measured write bandwidth
    "all": 40.0,
    "rotation": 20.0,
    "vs_openstl": 1000.0,  # ×
    "vs_torch": 10.0,  # ×
    "latency_us": 20.0,
}

NO_ROTATION = "no rotation in this preset yet"


# --------------------------------------------------------------------------- pure helpers


def device_slug(name: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` → ``"nvidia-h100-80gb-hbm3"``: lower case, runs of anything
    but letters and digits become one ``-``; ``"unknown"`` when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "unknown"


def default_json_path(slug: str, when: datetime, smoke: bool = False) -> Path:
    """``benchmarks/results/gpu-<slug>-<YYYY-MM-DD>.json`` in this checkout; a CPU smoke run
    goes to the temporary folder instead, so that it never lands among the results."""
    name = f"gpu-{slug}-{when:%Y-%m-%d}.json"
    if smoke:
        return Path(tempfile.gettempdir()) / f"gpu_mmnist-smoke-{name}"
    return REPO / "benchmarks" / "results" / name


def bytes_written(batch: Batch) -> int:
    """Bytes a render call writes: the ``nbytes`` of the :data:`WRITTEN_FIELDS` it returned."""
    return sum(
        getattr(batch, name).nbytes for name in WRITTEN_FIELDS if getattr(batch, name) is not None
    )


def output_bytes(config: SceneConfig, batch: int, *, boxes: bool, masks: bool) -> int:
    """What :func:`bytes_written` will count, from the shapes alone: frames ``B·T·H·W``,
    positions ``B·T·K·8`` (float32 x, y), masks ``2·B·T·H·W``, boxes ``B·T·K·16`` (int32 × 4)
    plus visible ``B·T·K``."""
    height, width = config.canvas
    frames = batch * config.num_frames * height * width
    slots = batch * config.num_frames * config.num_digits
    total = frames + 8 * slots
    if masks:
        total += 2 * frames
    if boxes:
        total += 17 * slots
    return total


def fits_in_memory(needed: int, free: int | None, fraction: float = MEMORY_FRACTION) -> bool:
    """Whether ``needed`` bytes are at most ``fraction`` of ``free`` (unknown free: yes)."""
    return free is None or needed <= fraction * free


def gb_per_s(nbytes: float, seconds: float | None) -> float | None:
    if seconds is None or not seconds > 0:
        return None
    return nbytes / seconds / GB


def percent(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or not whole > 0:
        return None
    return 100.0 * part / whole


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or not denominator > 0:
        return None
    return numerator / denominator


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile ``q`` in [0, 1] of ``values`` (not empty)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Timing:
    """Per-call times in seconds: the median and the 20th / 80th percentiles of ``calls``."""

    median_s: float
    p20_s: float
    p80_s: float
    calls: int
    method: str

    @classmethod
    def from_seconds(cls, times: Sequence[float], method: str) -> Timing:
        return cls(
            statistics.median(times), quantile(times, 0.2), quantile(times, 0.8), len(times), method
        )


def rotation_field(config_type: type = SceneConfig) -> str | None:
    """The name of ``config_type``'s rotation field (one whose name contains ``rotat``)."""
    for f in dataclasses.fields(config_type):
        if "rotat" in f.name.lower():
            return f.name
    return None


def rotation_config(
    presets: Mapping[str, Any] = PRESETS, overrides: Mapping[str, Any] | None = None
) -> tuple[Any | None, str]:
    """``(config, description)`` for the *with rotation* rows: the first preset whose rotation
    field differs from the field's default, with ``overrides``; ``(None, why not)`` when the
    config has no rotation field or no preset rotates."""
    if not presets:
        return None, NO_ROTATION
    config_type = type(next(iter(presets.values())))
    name = rotation_field(config_type)
    if name is None:
        return None, NO_ROTATION
    spec = next(f for f in dataclasses.fields(config_type) if f.name == name)
    default = spec.default if spec.default is not dataclasses.MISSING else None
    for preset, config in presets.items():
        value = getattr(config, name)
        if value != default:
            chosen = dataclasses.replace(config, **dict(overrides or {}))
            return chosen, f"preset {preset!r} ({name}={value!r})"
    return None, f"SceneConfig has {name!r}, but no preset sets it"


# ------------------------------------------------------------------------------ records


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Row:
    """One timed call. ``status``: ``ok``, ``skipped`` or ``n/a`` (``note`` says why), or
    ``failed`` (``note`` holds the error)."""

    batch: int
    outputs: str
    path: str
    device: str
    status: str = "ok"
    note: str = ""
    median_s: float | None = None
    p20_s: float | None = None
    p80_s: float | None = None
    calls: int = 0
    method: str = ""
    bytes_written: int | None = None
    sequences_per_s: float | None = None
    gb_per_s: float | None = None
    pct_write_bw: float | None = None
    vs_torch_device: float | None = None  # torch reference median / this median
    vs_openstl: float | None = None  # sequences/s over the OpenSTL generator's

    def timed(self, timing: Timing, nbytes: int | None, write_bw: float | None) -> Row:
        self.median_s, self.p20_s, self.p80_s = timing.median_s, timing.p20_s, timing.p80_s
        self.calls, self.method = timing.calls, timing.method
        self.sequences_per_s = ratio(self.batch, timing.median_s)
        if nbytes is not None:
            self.bytes_written = nbytes
            self.gb_per_s = gb_per_s(nbytes, timing.median_s)
            self.pct_write_bw = percent(self.gb_per_s, write_bw)
        return self


def fill_ratios(rows: Sequence[Row], peer_sequences_per_s: float | None) -> None:
    """``vs_openstl`` for every timed row but ``sample()``; ``vs_torch_device`` for the kernel
    and torch reference rows (the torch reference row with the same batch and outputs)."""
    torch_median = {
        (r.batch, r.outputs): r.median_s for r in rows if r.path == TORCH_DEVICE and r.median_s
    }
    for r in rows:
        if r.status != "ok":
            continue
        if r.path not in (SAMPLE, PEER):
            r.vs_openstl = ratio(r.sequences_per_s, peer_sequences_per_s)
        if r.path in (KERNEL, TORCH_DEVICE):
            r.vs_torch_device = ratio(torch_median.get((r.batch, r.outputs)), r.median_s)


@dataclass
class Goal:
    goal: str
    status: str  # "met", "not met", "n/a" or "not measured"
    value: float | None = None
    target: float | None = None
    detail: str = ""


def _find(rows: Sequence[Row], path: str, outputs: str, batch: int) -> Row | None:
    for r in rows:
        if (r.path, r.outputs, r.batch) == (path, outputs, batch):
            return r
    return None


def _judge(
    goal: str, value: float | None, target: float, detail: str, missing: str, *, most: bool = False
) -> Goal:
    """Met when ``value >= target`` (``value <= target`` with ``most``); not measured when
    ``value`` is None (``missing`` says why)."""
    if value is None:
        return Goal(goal, "not measured", None, target, missing)
    met = value <= target if most else value >= target
    return Goal(goal, "met" if met else "not met", value, target, detail)


def _row_missing(row: Row | None, what: str) -> str:
    if row is None:
        return f"{what} was not run"
    return f"{what}: {row.status}" + (f" ({row.note})" if row.note else "")


def evaluate_goals(
    rows: Sequence[Row],
    latency: Mapping[str, Any],
    goal_batch: int = GOAL_BATCH,
    latency_batch: int = LATENCY_BATCH,
    targets: Mapping[str, float] = GOAL_TARGETS,
) -> list[Goal]:
    """The issue's goals from the rows and the latency section (see ``--help``)."""
    goals = []
    for key, outputs, label in (
        ("frames", FRAMES, "classic uint8 frames only"),
        ("all", ALL, "frames + boxes + masks"),
    ):
        row = _find(rows, KERNEL, outputs, goal_batch)
        what = f"kernel, {outputs}, batch {goal_batch}"
        value = row.pct_write_bw if row is not None else None
        detail = (
            f"{row.gb_per_s:.1f} GB/s written = {value:.1f} % of the measured write bandwidth"
            if value is not None and row.gb_per_s is not None
            else ""
        )
        name = f"{label} ≥ {targets[key]:g} % of the measured write bandwidth at batch {goal_batch}"
        goals.append(_judge(name, value, targets[key], detail, _row_missing(row, what)))

    name = (
        f"with rotation ≥ {targets['rotation']:g} % of the frames-only bound at batch {goal_batch}"
    )
    row = _find(rows, KERNEL, ROTATION, goal_batch)
    unavailable = [r for r in rows if r.outputs == ROTATION and r.status == "n/a"]
    if unavailable:
        goals.append(Goal(name, "n/a", None, targets["rotation"], unavailable[0].note))
    else:
        value = row.pct_write_bw if row is not None else None
        detail = "" if value is None else f"{value:.1f} % of the measured write bandwidth"
        missing = _row_missing(row, f"kernel, {ROTATION}, batch {goal_batch}")
        goals.append(_judge(name, value, targets["rotation"], detail, missing))

    row = _find(rows, RENDER_TRITON, FRAMES, goal_batch)
    value = row.vs_openstl if row is not None else None
    detail = (
        f"render(triton), frames, batch {goal_batch}: {row.sequences_per_s:,.0f} sequences/s"
        f" = {value:,.0f}× the OpenSTL generator"
        if value is not None and row.sequences_per_s is not None
        else ""
    )
    name = f"≥ {targets['vs_openstl']:g}× the OpenSTL generator on this machine's CPU"
    missing = _row_missing(row, f"render(triton), frames, batch {goal_batch}")
    goals.append(_judge(name, value, targets["vs_openstl"], detail, missing))

    speedups = {o: _find(rows, KERNEL, o, goal_batch) for o in (FRAMES, ALL)}
    values = {o: (r.vs_torch_device if r is not None else None) for o, r in speedups.items()}
    name = f"the torch path on the same GPU beaten by ≥ {targets['vs_torch']:g}×"
    if any(v is None for v in values.values()):
        missing = "; ".join(
            _row_missing(r, f"kernel vs torch, {o}, batch {goal_batch}")
            for o, r in speedups.items()
            if values[o] is None
        )
        goals.append(Goal(name, "not measured", None, targets["vs_torch"], missing))
    else:
        worst = min(values.values())
        detail = ", ".join(f"{o}: {v:.1f}×" for o, v in values.items())
        detail = f"kernel over the torch reference at batch {goal_batch}, worst of {detail}"
        goals.append(_judge(name, worst, targets["vs_torch"], detail, ""))

    name = f"batch {latency_batch} in ≤ {targets['latency_us']:g} µs per call"
    eager = latency.get("eager_us")
    graph = latency.get("graph_us")
    parts = [f"eager kernel.render, {ALL}, back to back: {eager:,.1f} µs"] if eager else []
    if latency.get("do_bench_us"):
        parts.append(f"do_bench median {latency['do_bench_us']:,.1f} µs")
    parts.append(
        f"CUDA graph replay {graph:,.1f} µs"
        if graph
        else f"CUDA graph: {latency.get('graph_error') or 'not measured'}"
    )
    missing = latency.get("error") or "the latency section did not run"
    goal = _judge(name, eager, targets["latency_us"], "; ".join(parts), missing, most=True)
    if goal.status == "not met" and graph is not None and graph <= targets["latency_us"]:
        goal.detail += " (met under the CUDA graph only)"
    goals.append(goal)
    return goals


# ------------------------------------------------------------------------------ formatting


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _status_text(row: Row) -> str:
    if row.status == "n/a":
        return f"n/a ({row.note})"
    return f"{row.status}: {row.note}" if row.note else row.status


def format_rows(rows: Sequence[Row]) -> str:
    """The throughput table: one line per row; rows that did not run say why."""
    titles = (
        "batch",
        "outputs",
        "path",
        "dev",
        "median µs",
        "p20-p80 µs",
        "sequences/s",
        "MB/call",
        "GB/s",
        "% write BW",
        "vs torch",
        "vs OpenSTL",
    )
    lines = [titles]
    for r in rows:
        head = (str(r.batch), r.outputs, r.path, r.device)
        if r.status != "ok":
            lines.append((*head, _status_text(r)))
            continue
        spread = (
            f"{r.p20_s * 1e6:,.1f}-{r.p80_s * 1e6:,.1f}"
            if r.p20_s is not None and r.p80_s is not None
            else "-"
        )
        lines.append(
            (
                *head,
                _fmt(r.median_s and r.median_s * 1e6, ",.1f"),
                spread,
                _fmt(r.sequences_per_s, ",.0f"),
                _fmt(r.bytes_written and r.bytes_written / 1e6, ",.2f"),
                _fmt(r.gb_per_s, ",.1f"),
                _fmt(r.pct_write_bw, ".1f", " %"),
                _fmt(r.vs_torch_device, ",.1f", "×"),
                _fmt(r.vs_openstl, ",.1f", "×"),
            )
        )
    full = [line for line in lines if len(line) == len(titles)]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    widths += [max(len(line[i]) for line in full) for i in range(4, len(titles))]
    out = []
    for k, line in enumerate(lines):
        # batch and numbers right-aligned, text left; a row that did not run ends with why
        cells = [f"{c:{'<' if 1 <= i <= 3 else '>'}{widths[i]}}" for i, c in enumerate(line[:4])]
        if len(line) < len(titles):
            cells.append(line[4])
        else:
            cells += [f"{c:>{w}}" for c, w in zip(line[4:], widths[4:], strict=True)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def compare_batches(got: Batch, want: Batch) -> list[str]:
    """Every field of two batches on the CPU with ``torch.equal``; the differences, or []."""
    problems = []
    for f in dataclasses.fields(Batch):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if a is None or b is None:
            if (a is None) != (b is None):
                problems.append(f"{f.name}: {'None' if a is None else 'set'} vs "
                                f"{'None' if b is None else 'set'}")  # fmt: skip
            continue
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.dtype != b.dtype or a.shape != b.shape:
            problems.append(f"{f.name}: {a.dtype} {list(a.shape)} vs {b.dtype} {list(b.shape)}")
        elif not torch.equal(a, b):
            differ = int(torch.ne(a, b).sum())
            problems.append(f"{f.name}: {differ} of {a.numel()} elements differ")
    return problems


# ------------------------------------------------------------------------------ measuring


@dataclass
class Settings:
    device: torch.device
    smoke: bool
    batch_sizes: list[int]
    config: SceneConfig
    goal_batch: int
    latency_batch: int
    check_ranges: list[tuple[int, int, int]]  # (first index, count, seed)
    bandwidth_bytes: int
    cpu_seconds: float
    peer_items: int
    peer_seconds: float
    latency_seconds: float
    memory_fraction: float = MEMORY_FRACTION


def make_settings(args: argparse.Namespace, device: torch.device) -> Settings:
    smoke = device.type != "cuda"
    if smoke:
        sizes = args.batch_sizes or list(SMOKE_BATCH_SIZES)
        config = SceneConfig.preset("classic", num_frames=SMOKE_FRAMES)
        ranges = [(0, 3, 0), (2**32 - 1, 2, 12345), (-1, 2, 0), (2**63 - 2, 2, 2**64 - 1)]
        return Settings(
            device, True, sizes, config, max(sizes), min(sizes), ranges,
            bandwidth_bytes=64 << 20, cpu_seconds=0.1, peer_items=16, peer_seconds=0.1,
            latency_seconds=0.1,
        )  # fmt: skip
    sizes = args.batch_sizes or list(QUICK_BATCH_SIZES if args.quick else DEFAULT_BATCH_SIZES)
    ranges = [(0, 1000, 0), (2**32 - 100, 200, 12345), (-50, 100, 0), (2**63 - 257, 257, 2**64 - 1)]
    return Settings(
        device, False, sizes, SceneConfig.preset("classic"), GOAL_BATCH, LATENCY_BATCH, ranges,
        bandwidth_bytes=BANDWIDTH_BYTES, cpu_seconds=1.0, peer_items=PEER_ITEMS,
        peer_seconds=2.0, latency_seconds=0.5,
    )  # fmt: skip


class Runner:
    """Device-dependent timing: ``do_bench`` on CUDA, :func:`bench.measure` on the CPU."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device = settings.device
        self.cuda = self.device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def time(self, fn: Callable[[], object]) -> Timing:
        if not self.cuda:
            return self.time_cpu(fn, self.settings.cpu_seconds)
        from triton.testing import do_bench

        try:
            times_ms = do_bench(fn, return_mode="all")
        except (AssertionError, TypeError, ValueError):  # a Triton without return_mode="all"
            median = do_bench(fn, return_mode="median")
            return Timing(median / 1e3, median / 1e3, median / 1e3, 0, "do_bench median")
        return Timing.from_seconds([t / 1e3 for t in times_ms], "do_bench")

    @staticmethod
    def time_cpu(fn: Callable[[], object], seconds: float) -> Timing:
        times, _ = bench.measure(fn, seconds, warmup=1)
        return Timing.from_seconds(times, "wall clock")

    def wall_per_call(self, fn: Callable[[], object], seconds: float, runs: int = 5) -> float:
        """Seconds per call of ``fn`` called back to back with one synchronize at the end: the
        median over ``runs`` runs of as many calls as fill ``seconds / runs``."""
        fn()
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        estimate = max(time.perf_counter() - t0, 1e-7)
        calls = max(1, min(100_000, int(seconds / runs / estimate)))
        per_call = []
        for _ in range(runs):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            self.sync()
            per_call.append((time.perf_counter() - t0) / calls)
        return statistics.median(per_call)

    def free_memory(self) -> int | None:
        if self.cuda:
            torch.cuda.empty_cache()
            return torch.cuda.mem_get_info(self.device)[0]
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            return None


def _say(text: str = "") -> None:
    print(text, flush=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


def environment(device: torch.device) -> dict[str, Any]:
    """:func:`gpu_mmnist.bench.environment` plus the date, Triton, and the GPU's capability,
    memory, multiprocessors and driver."""
    env = bench.environment(str(device))
    env["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        env["triton"] = importlib.import_module("triton").__version__
    except ImportError:
        env["triton"] = "not installed"
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["gpu_capability"] = f"{props.major}.{props.minor}"
        env["gpu_memory_bytes"] = int(props.total_memory)
        env["gpu_multiprocessors"] = int(props.multi_processor_count)
        env["cuda_runtime"] = torch.version.cuda
        env["cuda_driver_api"] = _cuda_driver_api()
        env["nvidia_driver"] = _nvidia_driver()
    return env


def _cuda_driver_api() -> str:
    getter = getattr(torch._C, "_cuda_getDriverVersion", None)
    try:
        version = int(getter()) if getter is not None else 0
    except Exception:
        version = 0
    return f"{version // 1000}.{version % 1000 // 10}" if version else "unknown"


def _nvidia_driver() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def describe_environment(env: Mapping[str, Any]) -> list[str]:
    lines = [
        f"date {env['date']}  commit {env['commit']}  gpu_mmnist {env['gpu_mmnist']}",
        f"python {env['python']}  torch {env['torch']}  triton {env['triton']}  "
        f"numpy {env['numpy']}",
        f"CPU: {env['cpu_model']}, {env['cpu_count']} logical CPUs, torch threads "
        f"{env['torch_num_threads']}",
    ]
    if "gpu" in env:
        lines.append(
            f"GPU: {env['gpu']}, capability {env['gpu_capability']}, "
            f"{env['gpu_memory_bytes'] / 2**30:.1f} GiB, {env['gpu_multiprocessors']} SMs; "
            f"CUDA runtime {env['cuda_runtime']}, driver API {env['cuda_driver_api']}, "
            f"NVIDIA driver {env['nvidia_driver']}"
        )
    return lines


def measure_bandwidth(runner: Runner, nbytes: int) -> dict[str, Any]:
    """Copy (read + write = 2 × size) and write-only fills of ``nbytes`` uint8 on the device;
    the faster fill is the measured write bandwidth."""
    free = runner.free_memory()
    if free is not None:  # two buffers in at most a fifth of the free memory, whole MiB
        nbytes = max(1 << 20, min(nbytes, (int(0.1 * free) >> 20) << 20))
    src = torch.full((nbytes,), 7, dtype=torch.uint8, device=runner.device)
    dst = torch.empty_like(src)
    copy = runner.time(partial(dst.copy_, src))
    fills = {
        "dst.fill_(1)": runner.time(partial(dst.fill_, 1)),
        "dst.zero_()": runner.time(dst.zero_),
    }
    del src, dst
    result: dict[str, Any] = {
        "bytes": nbytes,
        "copy": {**asdict(copy), "gb_per_s": gb_per_s(2 * nbytes, copy.median_s)},
        "fills": {
            name: {**asdict(t), "gb_per_s": gb_per_s(nbytes, t.median_s)}
            for name, t in fills.items()
        },
    }
    best = max(result["fills"], key=lambda name: result["fills"][name]["gb_per_s"] or 0.0)
    result["write_bandwidth_gb_s"] = result["fills"][best]["gb_per_s"]
    result["write_bandwidth_from"] = best
    return result


def _attempt(runner: Runner, make: Callable[[], Batch]) -> tuple[Batch | None, str]:
    """``(make(), "")``, or ``(None, the error in one line)``."""
    try:
        out = make()
        runner.sync()
    except Exception as exc:
        return None, _one_line(exc)
    return out, ""


def run_checks(
    runner: Runner, settings: Settings, kernel: Any, kernel_error: str | None, bank: SpriteBank
) -> list[Check]:
    """Per index range and output set: the kernel equals the torch reference on the device and
    on the CPU; so does ``render(backend="triton")``; and the torch reference on the device
    equals the one on the CPU (which samples on the CPU too)."""
    device, config = settings.device, settings.config
    here = device.type
    cpu_bank = bank.to("cpu")
    checks: list[Check] = []
    for first, count, seed in settings.check_ranges:
        indices = torch.arange(count, dtype=torch.int64) + first
        on_device = indices.to(device)
        for outputs, (boxes, masks) in OUTPUT_SETS.items():
            flags = {"boxes": boxes, "masks": masks}
            where = f"indices [{first}, {first + count}) seed {seed}, {outputs}"
            try:
                params = sample(config, bank, on_device, seed=seed)
            except Exception as exc:
                checks.append(Check(f"{where}: sample() on {here}", False, _one_line(exc)))
                continue
            cpu_ref = _attempt(
                runner,
                partial(render, config, cpu_bank, indices, seed, "train", "cpu", "torch", **flags),
            )
            dev_ref = _attempt(runner, partial(reference.render, config, params, bank, **flags))
            if kernel is None:
                kern: tuple[Batch | None, str] = (None, kernel_error or "no kernel")
            else:
                kern = _attempt(runner, partial(kernel.render, config, params, bank, **flags))
            full = _attempt(
                runner,
                partial(render, config, bank, on_device, seed=seed, backend="triton", **flags),
            )
            on_cpu = "render(device='cpu', backend='torch')"
            pairs = (
                (f"kernel.render on {here}", kern, f"reference.render on {here}", dev_ref),
                (f"kernel.render on {here}", kern, on_cpu, cpu_ref),
                (f"render(backend='triton') on {here}", full, on_cpu, cpu_ref),
                (f"reference.render on {here}", dev_ref, on_cpu, cpu_ref),
            )
            for got_name, (got, got_error), want_name, (want, want_error) in pairs:
                name = f"{where}: {got_name} == {want_name}"
                if got is None or want is None:
                    error = got_error if got is None else f"{want_name} failed: {want_error}"
                    checks.append(Check(name, False, error))
                    continue
                problems = compare_batches(got, want)
                checks.append(Check(name, not problems, "; ".join(problems)))
            del params, cpu_ref, dev_ref, kern, full
    return checks


def _probe(fn: Callable[[], Batch], batch: int, config: SceneConfig) -> int:
    """Call ``fn`` once, check the frames' shape, and return the bytes it wrote."""
    out = fn()
    expected = (batch, config.num_frames, 1, *config.canvas)
    if tuple(out.frames.shape) != expected or out.frames.dtype != torch.uint8:
        raise RuntimeError(
            f"frames are {out.frames.dtype} {list(out.frames.shape)}, expected uint8 "
            f"{list(expected)}"
        )
    return bytes_written(out)


def _fresh_cpu_render(
    config: SceneConfig, sprites: SpriteBank, batch: int, flags: Mapping[str, bool]
) -> Callable[[], Batch]:
    """``render(..., device="cpu")`` of ``batch`` fresh sequences per call, as
    :mod:`gpu_mmnist.bench` does, so that nothing can be cached."""
    start = 0

    def call() -> Batch:
        nonlocal start
        start += batch
        indices = torch.arange(start, start + batch)
        return render(config, sprites, indices, device="cpu", backend="torch", **flags)

    return call


def progress_line(row: Row) -> str:
    """One row as it finishes (the aligned table comes at the end)."""
    head = f"  B={row.batch:<6} {row.outputs:<20} {row.path:<16} {row.device:<4}"
    if row.status != "ok":
        return f"{head} {_status_text(row)}"
    text = f"{head} {_fmt(row.median_s and row.median_s * 1e6, ',.1f')} µs"
    text += f", {_fmt(row.sequences_per_s, ',.0f')} seq/s"
    if row.gb_per_s is not None:
        text += f", {row.gb_per_s:,.1f} GB/s"
    if row.pct_write_bw is not None:
        text += f" = {row.pct_write_bw:.1f} % of the write bandwidth"
    return text


def time_batch(
    runner: Runner,
    settings: Settings,
    batch: int,
    kernel: Any,
    kernel_error: str | None,
    bank: SpriteBank,
    rotation: tuple[SceneConfig | None, str],
    write_bw: float | None,
) -> list[Row]:
    """Every row of one batch size: sample(), then per output set the kernel, render(triton),
    the torch reference on the device and render on the CPU."""
    device, base = settings.device, settings.config
    here = device.type
    cpu_bank = bank.to("cpu")
    rows: list[Row] = []

    def add(row: Row) -> None:
        rows.append(row)
        _say(progress_line(row))

    def timed(row: Row, config: SceneConfig, fn: Callable[[], Any], *, probe: bool = True) -> None:
        try:
            nbytes = _probe(fn, batch, config) if probe else None
            if row.device == "cpu" and here != "cpu":
                timing = runner.time_cpu(fn, settings.cpu_seconds)
            else:
                timing = runner.time(fn)
            row.timed(timing, nbytes, write_bw if row.device == here else None)
        except Exception as exc:
            row.status, row.note = "failed", _one_line(exc)
        add(row)

    indices = torch.arange(batch, dtype=torch.int64, device=device)
    timed(Row(batch, "-", SAMPLE, here), base, partial(sample, base, bank, indices), probe=False)
    free = runner.free_memory()
    rotating, why = rotation
    sets = [(FRAMES, base, False, False), (ALL, base, True, True)]
    sets.append((ROTATION, rotating, False, False))
    for outputs, config, boxes, masks in sets:
        if config is None:
            add(Row(batch, outputs, KERNEL, here, status="n/a", note=why))
            continue
        flags = {"boxes": boxes, "masks": masks}
        need = output_bytes(config, batch, **flags)
        if not fits_in_memory(need, free, settings.memory_fraction):
            note = (
                f"outputs need {need / GB:.2f} GB, more than {settings.memory_fraction:.0%} of "
                f"the {(free or 0) / GB:.2f} GB free"
            )
            for path in (KERNEL, RENDER_TRITON, TORCH_DEVICE):
                add(Row(batch, outputs, path, here, status="skipped", note=note))
        else:
            params = sample(config, bank, indices)
            if kernel is None:
                add(Row(batch, outputs, KERNEL, here, status="failed", note=kernel_error or ""))
            else:
                call = partial(kernel.render, config, params, bank, **flags)
                timed(Row(batch, outputs, KERNEL, here), config, call)
            call = partial(render, config, bank, indices, backend="triton", **flags)
            timed(Row(batch, outputs, RENDER_TRITON, here), config, call)
            call = partial(reference.render, config, params, bank, **flags)
            timed(Row(batch, outputs, TORCH_DEVICE, here), config, call)
            del params, call
        if batch > CPU_MAX_BATCH:
            note = f"CPU rows stop at batch {CPU_MAX_BATCH}"
            add(Row(batch, outputs, CPU_RENDER, "cpu", status="skipped", note=note))
        else:
            call = _fresh_cpu_render(config, cpu_bank, batch, flags)
            timed(Row(batch, outputs, CPU_RENDER, "cpu"), config, call)
    return rows


def measure_latency(
    runner: Runner, settings: Settings, kernel: Any, bank: SpriteBank
) -> dict[str, Any]:
    """Batch ``latency_batch``, frames + boxes + masks: the kernel eager (back to back, and
    do_bench's median), and replaying a CUDA graph captured with static parameters."""
    batch, config = settings.latency_batch, settings.config
    result: dict[str, Any] = {"batch": batch, "outputs": ALL}
    if kernel is None:
        result["error"] = "the kernel could not be imported"
        return result
    params = sample(config, bank, torch.arange(batch, device=settings.device))

    def call() -> Batch:
        return kernel.render(config, params, bank, boxes=True, masks=True)

    try:
        result["eager_us"] = 1e6 * runner.wall_per_call(call, settings.latency_seconds)
        result["do_bench_us"] = 1e6 * runner.time(call).median_s
    except Exception as exc:
        result["error"] = _one_line(exc)
        return result
    if not runner.cuda:
        result["graph_error"] = "CUDA graphs need CUDA"
        return result
    try:
        expected = call()
        side = torch.cuda.Stream(settings.device)
        side.wait_stream(torch.cuda.current_stream(settings.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                call()
        torch.cuda.current_stream(settings.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static = call()
        graph.replay()
        runner.sync()
        problems = compare_batches(static, expected)
        if problems:
            raise RuntimeError("graph replay differs from the eager call: " + "; ".join(problems))
        result["graph_us"] = 1e6 * runner.wall_per_call(graph.replay, settings.latency_seconds)
        result["graph_do_bench_us"] = 1e6 * runner.time(graph.replay).median_s
    except Exception as exc:
        result["graph_error"] = f"capture or replay failed: {_one_line(exc)}"
    return result


# ------------------------------------------------------------------------------ command line

SMOKE_SIZES = ",".join(map(str, SMOKE_BATCH_SIZES))
_EPILOG = f"""\
rows, per batch size and output set (frames; {ALL}; "{ROTATION}" once a preset
rotates, n/a until then):
  {SAMPLE:<18} sample(config, sprites, indices) on the device (parameters only)
  {KERNEL:<18} kernel.render(config, params, sprites, ...) on pre-sampled params
  {RENDER_TRITON:<18} render(..., backend="triton"): sample + kernel, the user's call
  {TORCH_DEVICE:<18} reference.render on the same device, pre-sampled params
  {CPU_RENDER:<18} render(..., device="cpu", backend="torch"), fresh indices per call
                     (batch <= {CPU_MAX_BATCH})
  {PEER:<18} OpenSTL MovingMNIST item by item, {PEER_ITEMS} items (gpu_mmnist.peers)
columns: median µs (do_bench on the GPU: median of the timed calls, L2 flushed before each;
  wall clock on the CPU), p20-p80 µs, sequences/s = batch / median, MB/call = bytes written
  per call (frames B·T·H·W + positions B·T·K·8, + masks 2·B·T·H·W, + boxes B·T·K·16 +
  visible B·T·K), GB/s = MB/call / median, % write BW = GB/s over the measured write
  bandwidth (the faster of dst.fill_(1) and dst.zero_() on a 1 GiB buffer), vs torch =
  torch reference median / this median, vs OpenSTL = sequences/s over the OpenSTL row.
A row runs only when its outputs fit in {MEMORY_FRACTION:.0%} of the free GPU memory.
latency: batch {LATENCY_BATCH}, {ALL}: kernel.render back to back (µs per call, one
  synchronize at the end), do_bench's median, and a CUDA graph of it replayed.
goals (at batch {GOAL_BATCH}): frames only >= 50 % of the write bandwidth; {ALL} >= 40 %;
  with rotation >= 20 % (n/a until a preset rotates); render(triton) frames >= 1000× the
  OpenSTL generator; kernel >= 10× the torch reference (worst of the two output sets);
  batch {LATENCY_BATCH} <= 20 µs per call eager (the CUDA graph figure is shown beside it).
exit status: 0 done (goals may be unmet); 1 a correctness check or a row failed (the JSON is
  written first); 2 no CUDA (without --allow-cpu), no Triton, TRITON_INTERPRET set on a CUDA
  machine, or a bad argument.
--allow-cpu, without CUDA: batch sizes {SMOKE_SIZES}, {SMOKE_FRAMES} frames, the kernel under
  TRITON_INTERPRET=1: it tests this script, not a GPU (timings and goals mean nothing); the
  JSON goes to the temporary folder unless --json says otherwise.
"""


def _batch_sizes(text: str) -> list[int]:
    sizes: list[int] = []
    for item in text.split(","):
        try:
            value = int(item)
        except ValueError:
            value = 0
        if not 1 <= value <= 1 << 22:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated batch sizes in [1, {1 << 22}], got {text!r}"
            )
        if value not in sizes:
            sizes.append(value)
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--batch-sizes",
        type=_batch_sizes,
        metavar="B[,B...]",
        help=f"batch sizes to time (default: {','.join(map(str, DEFAULT_BATCH_SIZES))})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"batch sizes {','.join(map(str, QUICK_BATCH_SIZES))} only",
    )
    parser.add_argument(
        "--digits",
        choices=("auto", "mnist", "glyphs"),
        default="auto",
        help="digit sprites: MNIST when found (auto), MNIST, or the built-in glyphs "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--root", metavar="DIR", help="MNIST folder (default: $GPU_MMNIST_DATA, else ~/.cache)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="result file (default: benchmarks/results/gpu-<device>-<date>.json)",
    )
    parser.add_argument(
        "--allow-cpu",
        action="store_true",
        help="without CUDA, run a tiny smoke test on the CPU under TRITON_INTERPRET=1 instead "
        "of refusing",
    )
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "").strip() not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if torch.cuda.is_available():
        if importlib.util.find_spec("triton") is None:
            _error("triton is not installed (pip install triton, or pip install -e '.[dev]')")
            return 2
        if _interpreting():
            _error("TRITON_INTERPRET is set, so the kernel would run in the interpreter; unset "
                   "it for GPU timings")  # fmt: skip
            return 2
        device = torch.device("cuda", torch.cuda.current_device())
    elif args.allow_cpu:
        os.environ["TRITON_INTERPRET"] = "1"  # before Triton decorates the kernel
        device = torch.device("cpu")
    else:
        _error(
            "CUDA is not available to PyTorch (torch.cuda.is_available() is False); run this on "
            "a GPU machine, or pass --allow-cpu for a tiny smoke test on the CPU"
        )
        return 2
    command = " ".join([PROG, *(sys.argv[1:] if argv is None else argv)])
    return run(args, device, command)


def _settings_document(settings: Settings, args: argparse.Namespace, source: str) -> dict:
    config = settings.config
    return {
        "device": str(settings.device),
        "smoke": settings.smoke,
        "batch_sizes": settings.batch_sizes,
        "preset": config.name,
        "num_frames": config.num_frames,
        "canvas": list(config.canvas),
        "num_digits": config.num_digits,
        "digits": args.digits,
        "digits_source": source,
        "goal_batch": settings.goal_batch,
        "latency_batch": settings.latency_batch,
        "check_ranges": [list(r) for r in settings.check_ranges],
        "memory_fraction": settings.memory_fraction,
        "cpu_max_batch": CPU_MAX_BATCH,
        "peer_items": settings.peer_items,
        "goal_targets": GOAL_TARGETS,
        "timing": "GPU: triton.testing.do_bench defaults (warm-up 25 ms, repetitions 100 ms, "
        "L2 flushed before each call, CUDA events); median = statistics.median of the timed "
        "calls, as return_mode='median' computes it; p20/p80 linearly interpolated. CPU: "
        "gpu_mmnist.bench.measure, wall clock, median per call",
        "bytes_written": "nbytes of the returned frames, positions, boxes, visible, "
        "instance_masks, semantic_masks (labels, sprite_ids and indices are passed through)",
        "write_bandwidth": "the faster of dst.fill_(1) and dst.zero_()",
        "gb": "1e9 bytes",
    }


def _peer_row(digits: bench.Digits, settings: Settings) -> Row:
    """The OpenSTL generator item by item on the CPU (always the classic preset)."""
    case = bench.openstl_items_case(digits, settings.peer_items, "classic")
    result = bench.run_case(case, settings.peer_seconds)
    row = Row(settings.peer_items, "frames (f32, classic)", PEER, "cpu")
    if result.error is None and result.times_s:
        row.timed(Timing.from_seconds(result.times_s, "wall clock"), None, None)
    else:
        row.status, row.note = "failed", result.error or "no timing"
    return row


def _print_bandwidth(bandwidth: Mapping[str, Any]) -> None:
    size = bandwidth["bytes"] / 2**20
    _say(f"copy   dst.copy_(src), {size:,.0f} MiB uint8, bytes moved = read + write = 2 × size: "
         f"{_fmt(bandwidth['copy']['gb_per_s'], ',.1f')} GB/s")  # fmt: skip
    for name, fill in bandwidth["fills"].items():
        _say(f"fill   {name}, {size:,.0f} MiB, write only: {_fmt(fill['gb_per_s'], ',.1f')} GB/s")
    _say(f"the measured write bandwidth is the faster fill, {bandwidth['write_bandwidth_from']}: "
         f"{_fmt(bandwidth['write_bandwidth_gb_s'], ',.1f')} GB/s; '% write BW' is relative to "
         "it")  # fmt: skip


def _print_latency(latency: Mapping[str, Any]) -> None:
    for key, label in (
        ("eager_us", "kernel.render, back to back"),
        ("do_bench_us", "kernel.render, median of timed calls"),
        ("graph_us", "CUDA graph replay, back to back"),
        ("graph_do_bench_us", "CUDA graph replay, median of timed calls"),
    ):
        if key in latency:
            _say(f"{label:<40} {latency[key]:,.1f} µs per call")
    for key in ("error", "graph_error"):
        if key in latency:
            _say(f"{key.replace('_', ' ')}: {latency[key]}")


def _measure_all(
    args: argparse.Namespace, settings: Settings, runner: Runner, document: dict[str, Any]
) -> bool:
    """Sections 2-5, filling ``document`` as they finish; True when something failed."""
    digits = bench.load_digits(args.digits, args.root)
    bank = digits.bank.to(settings.device)
    config = settings.config
    document["settings"] = _settings_document(settings, args, digits.source)
    h, w = config.canvas
    _say(f"digits: {digits.source}; sequences: {config.num_frames} frames of {h}×{w}, "
         f"{config.num_digits} digits; batch sizes {settings.batch_sizes}")  # fmt: skip
    kernel, kernel_error = None, None
    try:
        kernel = importlib.import_module("gpu_mmnist.kernels.render")
    except Exception as exc:
        kernel_error = f"cannot import gpu_mmnist.kernels.render: {_one_line(exc)}"
        _say(kernel_error)

    _say("\n== correctness: field by field, torch.equal on the CPU")
    checks = run_checks(runner, settings, kernel, kernel_error, bank)
    document["checks"] = [asdict(c) for c in checks]
    for c in checks:
        _say(f"{'PASS' if c.passed else 'FAIL'}  {c.name}" + (f"  [{c.detail}]" * bool(c.detail)))
    failed = not all(c.passed for c in checks)
    _say(f"{sum(c.passed for c in checks)} of {len(checks)} checks passed")

    _say("\n== bandwidth")
    bandwidth = measure_bandwidth(runner, settings.bandwidth_bytes)
    document["bandwidth"] = bandwidth
    _print_bandwidth(bandwidth)

    _say("\n== throughput")
    rows = [_peer_row(digits, settings)]
    _say(progress_line(rows[0]))
    overrides = {"num_frames": config.num_frames}
    rotation = rotation_config(PRESETS, overrides)
    for batch in settings.batch_sizes:
        rows += time_batch(
            runner, settings, batch, kernel, kernel_error, bank, rotation,
            document["bandwidth"]["write_bandwidth_gb_s"],
        )  # fmt: skip
        document["rows"] = [asdict(r) for r in rows]
    fill_ratios(rows, rows[0].sequences_per_s)
    document["rows"] = [asdict(r) for r in rows]
    _say("")
    _say(format_rows(rows))
    failed |= any(r.status == "failed" for r in rows)

    _say(f"\n== latency: batch {settings.latency_batch}, {ALL}")
    latency = measure_latency(runner, settings, kernel, bank)
    document["latency"] = latency
    _print_latency(latency)
    failed |= "error" in latency

    _say(f"\n== goals (batch {settings.goal_batch})")
    if settings.smoke:
        _say("(a CPU smoke run: these say nothing about a GPU)")
    goals = evaluate_goals(rows, latency, settings.goal_batch, settings.latency_batch)
    document["goals"] = [asdict(g) for g in goals]
    for g in goals:
        _say(f"{g.status.upper():<12} {g.goal}" + (f": {g.detail}" * bool(g.detail)))
    return failed


def run(args: argparse.Namespace, device: torch.device, command: str) -> int:
    """Everything after the device is chosen; the JSON is written whatever happens."""
    started = time.perf_counter()
    settings = make_settings(args, device)
    runner = Runner(settings)
    document: dict[str, Any] = {"command": command, "status": "running"}
    try:
        env = environment(device)
    except Exception as exc:
        env = {"error": _one_line(exc), "date": datetime.now(timezone.utc).isoformat()}
    document["environment"] = env
    slug = device_slug(str(env.get("gpu", "cpu")))
    path = args.json or default_json_path(slug, datetime.now(timezone.utc), settings.smoke)
    _say("== environment")
    if "error" not in env:
        for line in describe_environment(env):
            _say(line)
    if settings.smoke:
        _say("SMOKE RUN on the CPU under TRITON_INTERPRET=1 with tiny shapes: it tests this "
             "script; its timings, ratios and goals mean nothing")  # fmt: skip
    try:
        failed = _measure_all(args, settings, runner, document)
        document["status"] = "failed" if failed else "done"
    except KeyboardInterrupt:
        document["status"], failed = "interrupted", True
    except Exception as exc:  # keep what was measured and say what broke
        document.update(status="error", error=_one_line(exc), traceback=traceback.format_exc())
        _error(f"stopped early: {_one_line(exc)}")
        failed = True
    document["seconds"] = round(time.perf_counter() - started, 1)
    bench.write_json(path, document)
    _say(f"\nwrote {path} ({document['status']}, {document['seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
