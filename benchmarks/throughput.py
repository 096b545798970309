"""Throughput of the Moving MNIST generators users run today versus our renderer, on the CPU.

A thin script over :mod:`gpu_mmnist.bench` (the engine behind ``gpu-mmnist bench``) that keeps
the command line and JSON format of ``benchmarks/results/*.json``. Rows, all producing 20-frame
64×64 sequences with 2 digits, at one batch size:

* Srivastava et al. 2015 ``BouncingMNISTDataHandler.GetBatch`` (``gpu_mmnist.peers``);
* OpenSTL ``MovingMNIST`` item by item, as ``DataLoader(num_workers=0)`` calls it (the baseline
  of the ratio column), and through ``DataLoader(ds, batch_size=B, num_workers=0)``;
* our ``gpu_mmnist.render`` (torch backend) on the CPU, frames only and frames + boxes + masks,
  with fresh sequence indices every call so nothing can be cached.

Method: per row, a warm-up, then calls repeated until at least ``--seconds`` of wall time (and
at least 3 calls) have passed; sequences/s = batch / median per-call time.

Usage::

    GPU_MMNIST_DATA=/path/to/mnist python benchmarks/throughput.py \\
        [--batch-size 256] [--seconds 3] [--digits mnist|glyphs] [--threads N] [--json PATH]

``--digits mnist`` falls back to the built-in glyphs when MNIST is not found (the source is
reported). Run it on an otherwise idle machine: the ``cpu/wall`` column (process CPU time over
wall time while timed) shows when other processes took the CPU. Rows that use several torch
threads (the DataLoader's collation, our renderer) suffer far more than their share when the
cores are oversubscribed; ``--threads 1`` makes them robust to that, at the cost of parallelism.

A row that cannot run is reported as failed with the reason, the other rows still run, and the
exit status is 1. ``gpu-mmnist bench`` measures more (batch sizes, backends, devices, our
datasets through a DataLoader).
"""

from __future__ import annotations

import argparse
import sys

import torch

from gpu_mmnist import bench
from gpu_mmnist.config import SceneConfig

PRESET = "classic"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench.script_arguments(__doc__.split("\n\n")[0], "minimum timed wall time per row", argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    batch = args.batch_size
    digits = bench.load_digits("auto" if args.digits == "mnist" else "glyphs")
    cases = [
        bench.srivastava_case(digits, batch, PRESET),
        bench.openstl_items_case(digits, batch, PRESET),
        bench.openstl_loader_case(digits, batch, PRESET),
        bench.render_case(digits, batch, extras=False, backend="torch", preset=PRESET),
        bench.render_case(digits, batch, extras=True, backend="torch", preset=PRESET),
    ]
    results = bench.run_cases(cases, args.seconds, args.warmup)

    env = bench.environment("cpu")
    config = SceneConfig.preset(PRESET)
    start_load = results[0].loadavg_1min if results else None
    print(bench.describe(env, digits, config, args.seconds, args.warmup, start_load))
    warnings, failed = bench.print_results(results, env)

    if args.json is not None:
        settings = {
            "batch_size": batch,
            "seconds": args.seconds,
            "warmup_calls": args.warmup,
            "threads_arg": args.threads,
            "seq_length": config.num_frames,
            "image_size": config.canvas[0],
            "num_digits": config.num_digits,
            "digits": args.digits,
            "digits_source": digits.source,
            "num_sprites": int(digits.images.shape[0]),
            "baseline": bench.BASELINE,
        }
        command = " ".join(["benchmarks/throughput.py", *(sys.argv[1:] if argv is None else argv)])
        document = bench.report(results, env, settings, warnings, command)
        bench.write_json(args.json, document)
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
