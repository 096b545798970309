"""Throughput of the Moving MNIST generators users run today versus our renderer, on the CPU.

Rows, all producing 20-frame 64×64 sequences with 2 digits:

* Srivastava et al. 2015 ``BouncingMNISTDataHandler.GetBatch`` (``peers.py``), one batch;
* OpenSTL ``MovingMNIST`` item by item, as ``DataLoader(num_workers=0)`` calls it, and through
  ``torch.utils.data.DataLoader(ds, batch_size=B, num_workers=0)`` (adds collation) -- the
  item-by-item row is the baseline of the ratio column;
* our ``gpu_mmnist.render`` on the CPU, frames only and frames + boxes + instance masks,
  with fresh sequence indices every call so nothing can be cached.

Method: per row, a warm-up, then calls repeated until at least ``--seconds`` of wall time (and
at least 3 calls) have passed; sequences/s = batch / median per-call time.

Usage::

    GPU_MMNIST_DATA=/path/to/mnist python benchmarks/throughput.py \\
        [--batch-size 256] [--seconds 3] [--digits mnist|glyphs] [--threads N] [--json PATH]

Run it on an otherwise idle machine: the ``cpu/wall`` column (process CPU time over wall time
while timed) shows when other processes took the CPU. Rows that use several torch threads
(the DataLoader's collation, our renderer) suffer far more than their share when the cores
are oversubscribed; ``--threads 1`` makes them robust to that, at the cost of parallelism.

A row that cannot run (for example our renderer before it exists) is reported as failed with
the reason, the other rows still run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchdata import Digits, load_digits
from peers import OpenSTLMovingMNIST, SrivastavaBouncingMNIST
from tqdm import tqdm

SEQ_LENGTH = 20
IMAGE_SIZE = 64
NUM_DIGITS = 2
MIN_CALLS = 3
BASELINE = "OpenSTL MovingMNIST, items"


class RowUnavailable(RuntimeError):
    """A row that cannot be measured on this checkout; the message says why."""


@dataclass
class Case:
    name: str
    produces: str
    batch: int
    setup: Callable[[], Callable[[], object]]  # builds the generator, returns the timed call


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
    times_s: list[float] = field(default_factory=list)


# ------------------------------------------------------------------------------------- cases


def srivastava_case(digits: Digits, batch: int) -> Case:
    def setup() -> Callable[[], object]:
        handler = SrivastavaBouncingMNIST(
            digits.images, batch, seq_length=SEQ_LENGTH, image_size=IMAGE_SIZE,
            num_digits=NUM_DIGITS, seed=0,
        )  # fmt: skip
        return handler.get_batch

    return Case("Srivastava 2015 BouncingMNIST", "frames (f32)", batch, setup)


def openstl_dataset(digits: Digits) -> OpenSTLMovingMNIST:
    half = SEQ_LENGTH // 2
    return OpenSTLMovingMNIST(
        digits.images, n_frames_input=half, n_frames_output=SEQ_LENGTH - half,
        num_objects=(NUM_DIGITS,), image_size=IMAGE_SIZE, seed=0,
    )  # fmt: skip


def openstl_items_case(digits: Digits, batch: int) -> Case:
    def setup() -> Callable[[], object]:
        ds = openstl_dataset(digits)
        n = len(ds)
        start = 0

        def call() -> object:
            # What DataLoader(num_workers=0) does per batch before collation.
            nonlocal start
            items = [ds[(start + i) % n] for i in range(batch)]
            start += batch
            return items

        return call

    return Case(BASELINE, "frames (f32)", batch, setup)


def openstl_loader_case(digits: Digits, batch: int) -> Case:
    def setup() -> Callable[[], object]:
        ds = openstl_dataset(digits)
        if len(ds) < batch:
            raise RowUnavailable(f"dataset length {len(ds)} < batch {batch}")
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=0, drop_last=True)
        it = iter(loader)

        def call() -> object:
            nonlocal it
            try:
                return next(it)
            except StopIteration:
                it = iter(loader)
                return next(it)

        return call

    return Case("OpenSTL MovingMNIST, DataLoader", "frames (f32)", batch, setup)


def renderer_case(digits: Digits, batch: int, extras: bool) -> Case:
    def setup() -> Callable[[], object]:
        try:
            from gpu_mmnist import SceneConfig, render
        except Exception as exc:
            raise RowUnavailable(
                "our renderer is not available yet: `from gpu_mmnist import SceneConfig, render` "
                f"failed ({type(exc).__name__}: {exc})"
            ) from exc
        if digits.bank is None:
            raise RowUnavailable(f"no SpriteBank for our renderer: {digits.bank_error}")
        config = SceneConfig.preset("classic")
        sprites = digits.bank
        start = 0

        def call() -> Any:
            nonlocal start
            indices = torch.arange(start, start + batch)
            start += batch  # fresh sequences every call: nothing can be cached
            return render(
                config, sprites, indices, seed=0, split="train", boxes=extras, masks=extras
            )

        out = call()  # check once that the row measures what it claims to
        frames = out.frames
        if frames.dtype != torch.uint8 or tuple(frames.shape[:2]) != (batch, SEQ_LENGTH):
            raise RowUnavailable(
                f"render returned frames {frames.dtype} {list(frames.shape)}, expected uint8 "
                f"[{batch}, {SEQ_LENGTH}, 1, H, W] from the classic preset"
            )
        if extras and (out.boxes is None or out.instance_masks is None):
            raise RowUnavailable("render(boxes=True, masks=True) returned no boxes or masks")
        return call

    produces = "frames+boxes+masks" if extras else "frames (u8)"
    return Case("gpu_mmnist render, CPU", produces, batch, setup)


# --------------------------------------------------------------------------------- measuring


def measure(call: Callable[[], object], seconds: float, warmup: int) -> tuple[list[float], float]:
    """Per-call wall times after ``warmup`` untimed calls, over at least ``seconds`` and 3 calls;
    also the process CPU time over wall time of the timed part (about 1 for a single-threaded
    generator on an idle machine; much less means other processes took the CPU)."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    began = time.perf_counter()
    cpu_began = time.process_time()
    while True:
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
        del out
        elapsed = time.perf_counter() - began
        if len(times) >= MIN_CALLS and elapsed >= seconds:
            return times, (time.process_time() - cpu_began) / elapsed


def run_case(case: Case, seconds: float, warmup: int) -> Result:
    result = Result(case.name, case.produces, case.batch, warmup_calls=warmup)
    result.loadavg_1min = loadavg()
    try:
        call = case.setup()
        times, result.cpu_per_wall = measure(call, seconds, warmup)
    except Exception as exc:
        result.error = str(exc) if isinstance(exc, RowUnavailable) else repr(exc)
        return result
    median = statistics.median(times)
    result.sequences_per_s = case.batch / median
    result.median_s = median
    result.mean_s = statistics.fmean(times)
    result.min_s = min(times)
    result.max_s = max(times)
    result.calls = len(times)
    result.times_s = times
    return result


# ------------------------------------------------------------------------------- environment


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """The checked-out commit (``+dirty`` with uncommitted changes), or ``unknown``."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def environment() -> dict[str, Any]:
    return {
        "commit": git_commit(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ------------------------------------------------------------------------------------ output


def format_table(results: list[Result]) -> str:
    header = ("generator", "produces", "batch", "sequences/s", "vs OpenSTL", "cpu/wall")
    rows = [header]
    for r in results:
        if r.error is not None:
            rows.append((r.name, r.produces, str(r.batch), "FAILED", "-", "-"))
            continue
        ratio = "-" if r.ratio_vs_openstl is None else f"{r.ratio_vs_openstl:.2f}×"
        cpu = "-" if r.cpu_per_wall is None else f"{r.cpu_per_wall:.2f}"
        rows.append((r.name, r.produces, str(r.batch), f"{r.sequences_per_s:,.1f}", ratio, cpu))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    align = ["<", "<", ">", ">", ">", ">"]
    lines = []
    for k, row in enumerate(rows):
        cells = [f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=256, help="sequences per call")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="minimum timed wall time per row"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per row first")
    parser.add_argument(
        "--digits",
        choices=("mnist", "glyphs"),
        default="mnist",
        help="MNIST train images via $GPU_MMNIST_DATA (default), or offline glyphs",
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    batch = args.batch_size
    digits = load_digits(args.digits)
    cases = [
        srivastava_case(digits, batch),
        openstl_items_case(digits, batch),
        openstl_loader_case(digits, batch),
        renderer_case(digits, batch, extras=False),
        renderer_case(digits, batch, extras=True),
    ]

    results = []
    with tqdm(cases, desc="rows", unit="row", file=sys.stderr) as bar:
        for case in bar:
            bar.set_postfix_str(f"{case.name} [{case.produces}]")
            results.append(run_case(case, args.seconds, args.warmup))

    baseline = next((r for r in results if r.name == BASELINE and r.error is None), None)
    for r in results:
        if baseline is not None and r.sequences_per_s is not None:
            r.ratio_vs_openstl = r.sequences_per_s / baseline.sequences_per_s

    env = environment()
    print(
        f"torch {env['torch']}  numpy {env['numpy']}  torch.get_num_threads() = "
        f"{env['torch_num_threads']}  cpu_count = {env['cpu_count']}"
    )
    load = "?" if results[0].loadavg_1min is None else f"{results[0].loadavg_1min:.2f}"
    print(f"CPU: {env['cpu_model']}  1-min load average at start: {load}")
    print(f"digits: {digits.images.shape[0]} × 28×28, {digits.source}")
    print(
        f"sequences: {SEQ_LENGTH} frames, {IMAGE_SIZE}×{IMAGE_SIZE}, {NUM_DIGITS} digits; "
        f"median of ≥{args.seconds:g} s of calls per row after {args.warmup} warm-up call(s)"
    )
    print("cpu/wall: process CPU time / wall time while timed (≈1 single-threaded on an idle CPU)")
    print()
    print(format_table(results))
    busy = [r.loadavg_1min for r in results if r.loadavg_1min is not None]
    warnings = []
    if busy and max(busy) > (env["cpu_count"] or 1):
        warnings.append(
            f"machine busy: 1-minute load average reached {max(busy):.2f} on "
            f"{env['cpu_count']} CPUs during the run; other processes skew these numbers, and "
            "multi-threaded torch rows (DataLoader collation, our renderer) can collapse when "
            "cores are oversubscribed (try --threads 1, or rerun on an idle machine)"
        )
    for w in warnings:
        print(f"\nWARNING: {w}", file=sys.stderr)
    failed = [r for r in results if r.error is not None]
    for r in failed:
        print(f"\nFAILED {r.name} [{r.produces}]: {r.error}", file=sys.stderr)

    if args.json is not None:
        report = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(
                ["benchmarks/throughput.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "environment": env,
            "settings": {
                "batch_size": batch,
                "seconds": args.seconds,
                "warmup_calls": args.warmup,
                "threads_arg": args.threads,
                "min_calls": MIN_CALLS,
                "statistic": "median per-call wall time; sequences/s = batch / median",
                "seq_length": SEQ_LENGTH,
                "image_size": IMAGE_SIZE,
                "num_digits": NUM_DIGITS,
                "digits": args.digits,
                "digits_source": digits.source,
                "num_sprites": int(digits.images.shape[0]),
                "baseline": BASELINE,
            },
            "warnings": warnings,
            "results": [asdict(r) for r in results],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
