"""Throughput of our renderer and datasets against the Moving MNIST generators users run today.

The engine behind ``gpu-mmnist bench`` and ``benchmarks/throughput.py``. A *row* (:class:`Case`)
is a generator at one batch size; its ``setup`` builds the generator and returns the call to
time, which produces one batch of sequences. Rows:

* the peers (:mod:`gpu_mmnist.peers`, our NumPy re-implementations, always on the CPU):
  Srivastava et al. 2015 ``BouncingMNISTDataHandler.GetBatch``, one batch per call; OpenSTL
  ``MovingMNIST`` item by item, as ``DataLoader(num_workers=0)`` calls it (the baseline of the
  *vs OpenSTL* column); OpenSTL through ``DataLoader(ds, batch_size=B, num_workers=0)``;
* :func:`gpu_mmnist.render` on a backend and device, frames only and frames + boxes + masks,
  on fresh sequence indices every call so that nothing can be cached;
* the DataLoader paths of our datasets: ``DataLoader(MovingMNISTStream(B, ...),
  batch_size=None, num_workers=0)`` (frames + boxes + masks) and ``DataLoader(MovingMNIST(...,
  annotations=False), batch_size=B, num_workers=0, collate_fn=datasets.collate)`` (frames),
  the next batch per call.

Method: per row, ``warmup`` untimed calls, then calls repeated until at least ``seconds`` of
wall time and at least :data:`MIN_CALLS` calls have passed; the statistic is the median
per-call wall time, and sequences/s = batch / median. On CUDA every call ends with
``torch.cuda.synchronize()``, inside the timed part. ``cpu/wall`` is the process CPU time over
the wall time while timed (about 1 for a single-threaded generator on an idle machine; much
less means other processes took the CPU).

Columns: *vs OpenSTL* = sequences/s over the OpenSTL item-by-item row at the same batch size
(higher is faster); *overhead* (DataLoader rows of our datasets) = median time per batch through
the DataLoader over the median time of the bare ``render`` call with the same outputs, batch
size, backend and device (1.00× = no overhead).

A row that cannot run is reported as failed with the reason; the other rows still run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__, datasets
from .config import SceneConfig
from .peers import DIGIT_SIZE, OpenSTLMovingMNIST, SrivastavaBouncingMNIST
from .render import render
from .sprites import SpriteBank, resolve_root

__all__ = [
    "BASELINE",
    "FRAMES",
    "FRAMES_BOXES_MASKS",
    "MIN_CALLS",
    "Case",
    "Digits",
    "Result",
    "RowUnavailable",
    "build_cases",
    "compute_ratios",
    "environment",
    "format_table",
    "load_digits",
    "load_warnings",
    "measure",
    "report",
    "run_case",
    "run_cases",
    "summarize",
]

MIN_CALLS = 3
BASELINE = "OpenSTL MovingMNIST, items"
FRAMES = "frames (u8)"
FRAMES_BOXES_MASKS = "frames+boxes+masks"
PEER_FRAMES = "frames (f32)"
STATISTIC = "median per-call wall time; sequences/s = batch / median"


class RowUnavailable(RuntimeError):
    """A row that cannot be measured here; the message says why."""


@dataclass
class Case:
    """One row: ``setup()`` builds the generator and returns the timed call (one batch).

    ``kind`` is ``"peer"``, ``"render"`` or ``"loader"``; a loader row's overhead is taken
    against the render row with the same ``produces``, ``batch``, ``backend`` and ``device``.
    """

    name: str
    produces: str
    batch: int
    setup: Callable[[], Callable[[], object]]
    kind: str = "peer"
    backend: str | None = None
    device: str = "cpu"


@dataclass
class Result:
    name: str
    produces: str
    batch: int
    sequences_per_s: float | None = None
    ratio_vs_openstl: float | None = None
    median_s: float | None = None
    mean_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    calls: int = 0
    warmup_calls: int = 0
    cpu_per_wall: float | None = None  # process CPU time / wall time while timed
    loadavg_1min: float | None = None  # system load when the row started
    error: str | None = None
    kind: str = "peer"
    backend: str | None = None
    device: str = "cpu"
    overhead_vs_render: float | None = None  # loader rows: median / bare render median
    times_s: list[float] = field(default_factory=list)


# ------------------------------------------------------------------------------------ digits


@dataclass
class Digits:
    """The same sprites twice: ``images`` (NumPy uint8 ``[N, h, w]``) for the peers, ``bank``
    (a CPU :class:`SpriteBank`) for our renderer and datasets; ``source`` says where they came
    from and is reported with the results."""

    images: np.ndarray
    source: str
    bank: SpriteBank


def load_digits(kind: str = "auto", root: str | os.PathLike[str] | None = None) -> Digits:
    """Training digits for every row, on the CPU.

    ``"mnist"``: MNIST (``FileNotFoundError`` when missing); ``"glyphs"``: the built-in glyphs;
    ``"auto"``: MNIST when found under :func:`~gpu_mmnist.sprites.resolve_root` ``(root)``,
    else the glyphs (``source`` then says MNIST was not found). The peers' cost depends on the
    28×28 size, not on the pixels, so every source gives comparable peer timings.
    """
    bank = datasets.load_digits(kind, "train", root)
    if bank.source == "mnist":
        source = "MNIST train (SpriteBank.mnist)"
    else:
        source = "glyphs (SpriteBank.glyphs)"
        if kind == "auto":
            source += f"; MNIST not found under {resolve_root(root)}"
    images = np.ascontiguousarray(bank.images.numpy())
    return Digits(images, source, bank)


# ------------------------------------------------------------------------------------- cases


def _device_label(device: str) -> str:
    return torch.device(device).type.upper()


def _peer_shape(config: SceneConfig, digits: Digits) -> tuple[int, int, int]:
    """``(seq_length, image_size, num_digits)`` for the peers, which draw square canvases of
    28×28 digits with the classic motion."""
    height, width = config.canvas
    if height != width or config.motion != "classic":
        raise RowUnavailable(
            f"the peers draw square canvases with classic motion; preset {config.name!r} has "
            f"canvas {config.canvas} and motion {config.motion!r}"
        )
    if digits.images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise RowUnavailable(f"the peers need 28×28 digits, got {digits.images.shape[1:]}")
    return config.num_frames, height, config.num_digits


def _openstl_dataset(config: SceneConfig, digits: Digits, length: int) -> OpenSTLMovingMNIST:
    seq_length, size, num_digits = _peer_shape(config, digits)
    half = seq_length // 2
    return OpenSTLMovingMNIST(
        digits.images, n_frames_input=half, n_frames_output=seq_length - half,
        num_objects=(num_digits,), image_size=size, step_length=config.step, seed=0,
        length=length,
    )  # fmt: skip


def srivastava_case(digits: Digits, batch: int, preset: str = "classic") -> Case:
    def setup() -> Callable[[], object]:
        config = SceneConfig.preset(preset)
        seq_length, size, num_digits = _peer_shape(config, digits)
        handler = SrivastavaBouncingMNIST(
            digits.images, batch, seq_length=seq_length, image_size=size,
            num_digits=num_digits, step_length=config.step, seed=0,
        )  # fmt: skip
        return handler.get_batch

    return Case("Srivastava 2015 BouncingMNIST", PEER_FRAMES, batch, setup)


def openstl_items_case(digits: Digits, batch: int, preset: str = "classic") -> Case:
    def setup() -> Callable[[], object]:
        ds = _openstl_dataset(SceneConfig.preset(preset), digits, length=10_000)
        n = len(ds)
        start = 0

        def call() -> object:
            # What DataLoader(num_workers=0) does per batch before collation.
            nonlocal start
            items = [ds[(start + i) % n] for i in range(batch)]
            start += batch
            return items

        return call

    return Case(BASELINE, PEER_FRAMES, batch, setup)


def _cycle(loader: Iterable[Any]) -> Callable[[], Any]:
    """The next batch of ``loader`` per call, starting a new epoch when one ends."""
    it = iter(loader)

    def call() -> Any:
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(loader)
            return next(it)

    return call


def openstl_loader_case(digits: Digits, batch: int, preset: str = "classic") -> Case:
    def setup() -> Callable[[], object]:
        ds = _openstl_dataset(SceneConfig.preset(preset), digits, length=max(10_000, batch))
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=0, drop_last=True)
        return _cycle(loader)

    return Case("OpenSTL MovingMNIST, DataLoader", PEER_FRAMES, batch, setup)


def _synchronized(call: Callable[[], Any], device: torch.device) -> Callable[[], Any]:
    if device.type != "cuda":
        return call

    def synced() -> Any:
        out = call()
        torch.cuda.synchronize(device)
        return out

    return synced


def _check_frames(frames: object, batch: int, config: SceneConfig, what: str) -> None:
    expected = (batch, config.num_frames, 1, *config.canvas)
    if (
        not isinstance(frames, torch.Tensor)
        or frames.dtype != torch.uint8
        or tuple(frames.shape) != expected
    ):
        got = (
            f"{frames.dtype} {list(frames.shape)}"
            if isinstance(frames, torch.Tensor)
            else type(frames).__name__
        )
        raise RowUnavailable(f"{what} returned frames {got}, expected uint8 {list(expected)}")


def render_case(
    digits: Digits,
    batch: int,
    *,
    extras: bool,
    backend: str = "torch",
    device: str = "cpu",
    preset: str = "classic",
) -> Case:
    """``render`` of ``batch`` fresh sequences per call; ``extras`` adds boxes and masks."""

    def setup() -> Callable[[], object]:
        config = SceneConfig.preset(preset)
        target = torch.device(device)
        sprites = digits.bank.to(target)
        start = 0

        def call() -> Any:
            nonlocal start
            indices = torch.arange(start, start + batch)
            start += batch  # fresh sequences every call: nothing can be cached
            return render(
                config, sprites, indices, seed=0, split="train", device=target,
                backend=backend, boxes=extras, masks=extras,
            )  # fmt: skip

        out = call()  # check once that the row measures what it claims to
        _check_frames(out.frames, batch, config, "render")
        if extras and (out.boxes is None or out.instance_masks is None):
            raise RowUnavailable("render(boxes=True, masks=True) returned no boxes or masks")
        return _synchronized(call, target)

    name = f"gpu_mmnist render, {_device_label(device)}"
    produces = FRAMES_BOXES_MASKS if extras else FRAMES
    return Case(name, produces, batch, setup, kind="render", backend=backend, device=device)


def stream_loader_case(
    digits: Digits,
    batch: int,
    *,
    backend: str = "auto",
    device: str = "cpu",
    preset: str = "classic",
) -> Case:
    """``DataLoader(MovingMNISTStream(batch, ...), batch_size=None, num_workers=0)``: the next
    batch (frames + boxes + masks) per call."""

    def setup() -> Callable[[], object]:
        config = SceneConfig.preset(preset)
        target = torch.device(device)
        stream = datasets.MovingMNISTStream(
            batch, preset=preset, split="train", seed=0, device=target, backend=backend,
            digits=digits.bank.to(target), boxes=True, masks=True,
        )  # fmt: skip
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=0)
        call = _cycle(loader)
        out = call()
        _check_frames(out.frames, batch, config, "MovingMNISTStream")
        return _synchronized(call, target)

    name = f"gpu_mmnist MovingMNISTStream, DataLoader, {_device_label(device)}"
    return Case(
        name, FRAMES_BOXES_MASKS, batch, setup, kind="loader", backend=backend, device=device
    )


def map_loader_case(
    digits: Digits,
    batch: int,
    *,
    backend: str = "auto",
    device: str = "cpu",
    preset: str = "classic",
) -> Case:
    """``DataLoader(MovingMNIST(..., annotations=False), batch_size=batch, num_workers=0,
    collate_fn=datasets.collate)``: the next batch of frames per call (one render per batch
    through ``__getitems__``, no collation copy)."""

    def setup() -> Callable[[], object]:
        config = SceneConfig.preset(preset)
        target = torch.device(device)
        ds = datasets.MovingMNIST(
            split="train", num_sequences=max(10_000, 4 * batch), preset=preset, seed=0,
            annotations=False, device=target, backend=backend, digits=digits.bank.to(target),
        )  # fmt: skip
        loader = torch.utils.data.DataLoader(
            ds, batch_size=batch, num_workers=0, drop_last=True, collate_fn=datasets.collate
        )
        call = _cycle(loader)
        _check_frames(call(), batch, config, "DataLoader(MovingMNIST)")
        return _synchronized(call, target)

    name = f"gpu_mmnist MovingMNIST, DataLoader, {_device_label(device)}"
    return Case(name, FRAMES, batch, setup, kind="loader", backend=backend, device=device)


def build_cases(
    digits: Digits,
    batch_sizes: Sequence[int],
    backends: Sequence[str] = ("auto",),
    device: str = "cpu",
    preset: str = "classic",
    *,
    peers: bool = True,
    loaders: bool = True,
) -> list[Case]:
    """The rows of ``gpu-mmnist bench``, grouped by batch size: the peers (on the CPU), then per
    backend ``render`` (frames; frames + boxes + masks) and the two DataLoader paths."""
    cases: list[Case] = []
    for batch in batch_sizes:
        if peers:
            cases += [
                srivastava_case(digits, batch, preset),
                openstl_items_case(digits, batch, preset),
                openstl_loader_case(digits, batch, preset),
            ]
        for backend in backends:
            ours = {"backend": backend, "device": device, "preset": preset}
            cases += [
                render_case(digits, batch, extras=False, **ours),
                render_case(digits, batch, extras=True, **ours),
            ]
            if loaders:
                cases += [
                    stream_loader_case(digits, batch, **ours),
                    map_loader_case(digits, batch, **ours),
                ]
    return cases


# --------------------------------------------------------------------------------- measuring


def measure(
    call: Callable[[], object],
    seconds: float,
    warmup: int = 1,
    *,
    min_calls: int = MIN_CALLS,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> tuple[list[float], float | None]:
    """Per-call wall times after ``warmup`` untimed calls, over at least ``seconds`` and
    ``min_calls`` calls; also the process CPU time over the wall time of the timed part (None
    when no wall time passed). ``clock`` and ``cpu_clock`` are injectable for tests."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    began = clock()
    cpu_began = cpu_clock()
    while True:
        t0 = clock()
        out = call()
        times.append(clock() - t0)
        del out
        elapsed = clock() - began
        if len(times) >= min_calls and elapsed >= seconds:
            cpu = cpu_clock() - cpu_began
            return times, (cpu / elapsed if elapsed > 0 else None)


def summarize(times: Sequence[float], batch: int) -> dict[str, float]:
    """Statistics of per-call ``times`` (seconds) for ``batch`` sequences per call."""
    if not times:
        raise ValueError("no timings to summarize")
    median = statistics.median(times)
    return {
        "sequences_per_s": batch / median if median > 0 else math.inf,
        "median_s": median,
        "mean_s": statistics.fmean(times),
        "min_s": min(times),
        "max_s": max(times),
    }


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def run_case(
    case: Case,
    seconds: float,
    warmup: int = 1,
    *,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> Result:
    """Set up and time one row; any exception becomes the row's ``error``."""
    result = Result(
        case.name, case.produces, case.batch, warmup_calls=warmup, kind=case.kind,
        backend=case.backend, device=case.device,
    )  # fmt: skip
    result.loadavg_1min = loadavg()
    try:
        call = case.setup()
        times, result.cpu_per_wall = measure(
            call, seconds, warmup, clock=clock, cpu_clock=cpu_clock
        )
    except Exception as exc:
        result.error = str(exc) if isinstance(exc, RowUnavailable) else repr(exc)
        return result
    for key, value in summarize(times, case.batch).items():
        setattr(result, key, value)
    result.calls = len(times)
    result.times_s = list(times)
    return result


def compute_ratios(results: Sequence[Result], baseline: str = BASELINE) -> None:
    """Fill ``ratio_vs_openstl`` (sequences/s over the ``baseline`` row's at the same batch
    size) and, for loader rows, ``overhead_vs_render`` (median over the median of the render
    row with the same outputs, batch size, backend and device). Failed rows get neither."""
    base = {r.batch: r.sequences_per_s for r in results if r.name == baseline and r.error is None}
    renders = {
        (r.produces, r.batch, r.backend, r.device): r.median_s
        for r in results
        if r.kind == "render" and r.error is None
    }
    for r in results:
        if r.error is not None or r.sequences_per_s is None:
            continue
        if base.get(r.batch):
            r.ratio_vs_openstl = r.sequences_per_s / base[r.batch]
        if r.kind == "loader":
            bare = renders.get((r.produces, r.batch, r.backend, r.device))
            if bare and r.median_s is not None:
                r.overhead_vs_render = r.median_s / bare


def run_cases(
    cases: Sequence[Case], seconds: float, warmup: int = 1, *, progress: bool = True
) -> list[Result]:
    """Time every row in order (a tqdm bar on stderr when ``progress``), then the ratios."""
    from tqdm.auto import tqdm

    results = []
    with tqdm(cases, desc="rows", unit="row", file=sys.stderr, disable=not progress) as bar:
        for case in bar:
            bar.set_postfix_str(f"{case.name} [{case.produces}] B={case.batch}")
            results.append(run_case(case, seconds, warmup))
    compute_ratios(results)
    return results


# ------------------------------------------------------------------------------- environment


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def git_commit(source: str | os.PathLike[str] | None = None) -> str:
    """The checked-out commit (``+dirty`` with uncommitted changes to tracked files) when
    ``source`` (default: this module) is a file of a git checkout of this project, else
    ``unknown`` (an installed package, or a folder inside someone else's repository)."""
    source = Path(__file__ if source is None else source).resolve()
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], source.parent)).resolve()
        if not (top / "gpu_mmnist" / "bench.py").is_file() or top not in source.parents:
            return "unknown"
        commit = _git(["rev-parse", "HEAD"], top)
        dirty = _git(["status", "--porcelain", "--untracked-files=no"], top)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions, CPU and (when ``device`` is CUDA) GPU of this run."""
    env: dict[str, Any] = {
        "commit": git_commit(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu_mmnist": __version__,
        "device": str(device),
    }
    if torch.device(device).type == "cuda":
        env["cuda"] = torch.version.cuda
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


def describe(
    env: dict[str, Any],
    digits: Digits,
    config: SceneConfig,
    seconds: float,
    warmup: int,
    load: float | None = None,
) -> str:
    """The lines printed above the table; ``load`` is the 1-minute load average at the start
    (default: now)."""
    load = loadavg() if load is None else load
    lines = [
        f"gpu_mmnist {env['gpu_mmnist']}  commit {env['commit']}  python {env['python']}",
        f"torch {env['torch']}  numpy {env['numpy']}  torch.get_num_threads() = "
        f"{env['torch_num_threads']}  cpu_count = {env['cpu_count']}",
        f"CPU: {env['cpu_model']}  1-min load average at start: "
        f"{'?' if load is None else f'{load:.2f}'}",
    ]
    if "gpu" in env:
        lines.append(f"GPU: {env['gpu']}  CUDA {env['cuda']}")
    h, w = config.canvas
    lines += [
        f"digits: {digits.images.shape[0]} × {digits.images.shape[1]}×{digits.images.shape[2]}, "
        f"{digits.source}",
        f"sequences: preset {config.name!r}, {config.num_frames} frames of {h}×{w}, "
        f"{config.num_digits} digits; median of ≥{seconds:g} s and ≥{MIN_CALLS} calls per row "
        f"after {warmup} warm-up call(s)",
        "cpu/wall: process CPU time / wall time while timed (≈1 single-threaded on an idle CPU)",
    ]
    return "\n".join(lines)


def load_warnings(results: Sequence[Result], cpu_count: int | None) -> list[str]:
    """A warning when the 1-minute load average exceeded the CPU count during the run."""
    busy = [r.loadavg_1min for r in results if r.loadavg_1min is not None]
    cpus = cpu_count or 1
    if not busy or max(busy) <= cpus:
        return []
    return [
        f"machine busy: 1-minute load average reached {max(busy):.2f} on {cpus} CPUs during "
        "the run; other processes skew these numbers, and multi-threaded torch rows "
        "(DataLoader collation, our renderer) can collapse when cores are oversubscribed (try "
        "--threads 1, or rerun on an idle machine)"
    ]


# ------------------------------------------------------------------------------------ output


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def format_table(results: Sequence[Result]) -> str:
    """One aligned text table. The *backend* column appears when a row has a backend, *vs
    OpenSTL* when there are peer rows, *overhead* when there are DataLoader rows of ours."""
    columns: list[tuple[str, str, Callable[[Result], str]]] = [("generator", "<", lambda r: r.name)]
    if any(r.backend is not None for r in results):
        columns.append(("backend", "<", lambda r: r.backend or "-"))
    columns += [
        ("produces", "<", lambda r: r.produces),
        ("batch", ">", lambda r: str(r.batch)),
        ("sequences/s", ">", lambda r: f"{r.sequences_per_s:,.1f}"),
    ]
    if any(r.kind == "peer" for r in results):
        columns.append(("vs OpenSTL", ">", lambda r: _times(r.ratio_vs_openstl)))
    if any(r.kind == "loader" for r in results):
        columns.append(("overhead", ">", lambda r: _times(r.overhead_vs_render)))
    columns.append(
        ("cpu/wall", ">", lambda r: "-" if r.cpu_per_wall is None else f"{r.cpu_per_wall:.2f}")
    )
    rows = [tuple(title for title, _, _ in columns)]
    for r in results:
        if r.error is None:
            rows.append(tuple(cell(r) for _, _, cell in columns))
            continue
        kept = ("generator", "backend", "produces", "batch")
        failed = {"sequences/s": "FAILED"}
        rows.append(
            tuple(
                cell(r) if title in kept else failed.get(title, "-") for title, _, cell in columns
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for k, row in enumerate(rows):
        cells = [f"{c:{a}{w}}" for c, (_, a, _), w in zip(row, columns, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def script_arguments(
    description: str, seconds_help: str, argv: list[str] | None
) -> argparse.Namespace:
    """The command line shared by the CPU benchmark scripts (``benchmarks/throughput.py``,
    ``benchmarks/rotation.py``): batch size, seconds, warm-up, digits, threads, JSON path."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--batch-size", type=int, default=256, help="sequences per call")
    parser.add_argument("--seconds", type=float, default=3.0, help=seconds_help)
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per row first")
    parser.add_argument(
        "--digits",
        choices=("mnist", "glyphs"),
        default="mnist",
        help="MNIST train images via $GPU_MMNIST_DATA (default; glyphs when not found), or glyphs",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads for the run (default: leave torch's choice)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.seconds < 0 or args.warmup < 0:
        parser.error("--seconds and --warmup must not be negative")
    return args


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` as strict JSON (NaN and infinities become null) to ``path`` through a
    temporary file in the same folder and ``os.replace``, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(document), indent=2, allow_nan=False) + "\n"
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def print_results(results: Sequence[Result], env: dict[str, Any]) -> tuple[list[str], list[Result]]:
    """Print the table on stdout, then load warnings and failed rows on stderr; return both."""
    print()
    print(format_table(results))
    warnings = load_warnings(results, env["cpu_count"])
    for warning in warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    failed = [result for result in results if result.error is not None]
    for result in failed:
        reason = " ".join(result.error.split())
        print(
            f"FAILED {result.name} [{result.produces}] B={result.batch}: {reason}", file=sys.stderr
        )
    return warnings, failed


def report(
    results: Sequence[Result],
    env: dict[str, Any],
    settings: dict[str, Any],
    warnings: Sequence[str],
    command: str,
) -> dict[str, Any]:
    """The JSON document: when, the command, environment, settings, warnings and every row."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "environment": env,
        "settings": {"min_calls": MIN_CALLS, "statistic": STATISTIC, **settings},
        "warnings": list(warnings),
        "results": [asdict(r) for r in results],
    }
