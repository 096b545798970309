"""Rotating, scaling Moving MNIST (the ``mmnist_pp`` preset): our renderer against the plain
PyTorch way, per-frame ``F.affine_grid`` + ``F.grid_sample``, on the CPU.

Rows, all producing ``mmnist_pp`` sequences (64×64, 3 digits, 20 frames, rotation rate
U[-30, 30] °/frame, scale oscillating over [1/1.1, 1.1] with period 10 frames, brightness
U[0.6, 1.0]) at one batch size:

* our ``gpu_mmnist.render`` (torch backend) on the CPU, frames only and frames + boxes + masks,
  with fresh sequence indices every call so nothing can be cached; the row fails (rather than
  report a misleading ratio) when ``render`` draws the preset exactly as without its rotation,
  scale and brightness;
* the peer :class:`gpu_mmnist.peers.AffineGridSampleMMNISTPP`: one ``F.affine_grid`` +
  ``F.grid_sample`` over all digits of the batch per frame, max over the digits, uint8 frames.
  Its canvas, frames, digits, step, rotation, scale and brightness come from the preset.

Method: one warm-up call per row, then the rows are called *interleaved* in one loop, one call
of each per round with the order rotated every round, until at least ``--seconds`` of wall time
in total and at least 3 rounds have passed, so that a noisy machine slows every row alike.
Statistic: the median per-call wall time of each row; sequences/s = batch / median; the ratio
ours/peer = our sequences/s over the peer's. ``cpu/wall`` is the process CPU time over the wall
time of the whole loop (one number for all rows, since they interleave).

Usage::

    GPU_MMNIST_DATA=/path/to/mnist python benchmarks/rotation.py \\
        [--batch-size 256] [--seconds 3] [--digits mnist|glyphs] [--threads N] [--json PATH]

``--digits mnist`` falls back to the built-in glyphs when MNIST is not found (the source is
reported). A row that cannot run is reported as failed with the reason, the other rows still
run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gpu_mmnist import SpriteBank, bench, render
from gpu_mmnist.config import SceneConfig
from gpu_mmnist.peers import DIGIT_SIZE, AffineGridSampleMMNISTPP

PRESET = "mmnist_pp"
PEER = "affine_grid + grid_sample per frame, CPU"
PEER_KIND = "baseline"  # not "peer": bench.format_table would add an empty *vs OpenSTL* column


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench.script_arguments(
        __doc__.split("\n\n")[0], "minimum timed wall time of the whole loop", argv
    )


def _span(value: Any) -> tuple[float, float]:
    return (value[0], value[1]) if isinstance(value, tuple) else (value, value)


def peer_from_config(
    config: SceneConfig, images: np.ndarray | torch.Tensor, seed: int = 0
) -> AffineGridSampleMMNISTPP:
    """The peer drawing ``config``'s scenes: canvas, frames, digits, step, rotation rate range,
    scale range and brightness range taken from it. ``RowUnavailable`` when the peer cannot
    draw that family (it knows a square canvas, a fixed digit count, classic motion, a rotation
    rate ``U[-r, r]`` from angle 0, a scale ``f ** sin`` over ``[1/f, f]``, a constant
    brightness per digit, max compositing, no noise and no shapes)."""
    height, width = config.canvas
    rate_lo, rate_hi = _span(config.rotation)
    scale_lo, scale_hi = _span(config.scale)
    problems = []
    if height != width:
        problems.append(f"canvas {config.canvas} is not square")
    if isinstance(config.num_digits, tuple) and config.num_digits[0] != config.num_digits[1]:
        problems.append(f"num_digits {config.num_digits} varies")
    if config.motions != ("classic",):
        problems.append(f"motion {config.motion!r} is not classic")
    if _span(config.angle) != (0.0, 0.0):
        problems.append(f"initial angle {config.angle!r} is not 0")
    if rate_lo != -rate_hi:
        problems.append(f"rotation {config.rotation!r} is not symmetric about 0")
    if abs(scale_lo * scale_hi - 1.0) > 1e-9 or (scale_hi != 1.0 and config.scale_period <= 0):
        problems.append(f"scale {config.scale!r} (period {config.scale_period}) is not f ** sin")
    if config.brightness_mode != "constant":
        problems.append(f"brightness_mode {config.brightness_mode!r} is not constant")
    if config.compositing != "max":
        problems.append(f"compositing {config.compositing!r} is not max")
    if config.noise_density != 0 or config.max_shapes != 0:
        problems.append("the preset has noise or background shapes")
    if problems:
        raise bench.RowUnavailable(
            f"the affine_grid peer cannot draw preset {config.name!r}: {'; '.join(problems)}"
        )
    return AffineGridSampleMMNISTPP(
        images, image_size=height, num_frames=config.num_frames, num_digits=config.max_digits,
        step=float(_span(config.step)[1]), max_rotation=float(rate_hi),
        scale_factor=float(scale_hi), scale_period=config.scale_period or 1.0,
        brightness=tuple(float(b) for b in _span(config.brightness)), seed=seed,
    )  # fmt: skip


def check_transforms(config: SceneConfig, bank: SpriteBank, count: int = 8) -> None:
    """``RowUnavailable`` when ``render`` draws ``config`` byte for byte as it draws the same
    config without rotation, scale and brightness (a renderer that ignores them would be timed
    on a cheaper scene than the peer's). No check for configs without those transforms."""
    plain = config.replace(angle=0.0, rotation=0.0, scale=1.0, brightness=1.0)
    if plain == config:
        return
    frames = render(config, bank, range(count), boxes=False, masks=False).frames
    untransformed = render(plain, bank, range(count), boxes=False, masks=False).frames
    if torch.equal(frames, untransformed):
        raise bench.RowUnavailable(
            f"render draws preset {config.name!r} exactly as without rotation, scale and "
            "brightness: the transforms are not rendered (yet), so the ratio would mislead"
        )


def render_case(
    digits: bench.Digits, batch: int, *, extras: bool, preset: str = PRESET
) -> bench.Case:
    """``bench.render_case`` (torch backend, CPU, fresh indices per call), after
    :func:`check_transforms`."""
    case = bench.render_case(digits, batch, extras=extras, backend="torch", preset=preset)
    timed_setup = case.setup

    def setup() -> Callable[[], object]:
        check_transforms(SceneConfig.preset(preset), digits.bank)
        return timed_setup()

    return dataclasses.replace(case, setup=setup)


def peer_case(digits: bench.Digits, batch: int, preset: str = PRESET) -> bench.Case:
    """The peer's row: ``AffineGridSampleMMNISTPP(...).render(batch)``, new draws every call."""

    def setup() -> Callable[[], object]:
        config = SceneConfig.preset(preset)
        if digits.images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
            raise bench.RowUnavailable(f"the peer needs 28×28 digits, got {digits.images.shape}")
        peer = peer_from_config(config, digits.images)
        frames = peer.render(batch)  # check once that the row measures what it claims to
        expected = (batch, config.num_frames, 1, *config.canvas)
        if frames.dtype != torch.uint8 or tuple(frames.shape) != expected:
            raise bench.RowUnavailable(
                f"the peer returned {frames.dtype} {list(frames.shape)}, expected uint8 "
                f"{list(expected)}"
            )
        return lambda: peer.render(batch)

    return bench.Case(PEER, bench.FRAMES, batch, setup, kind=PEER_KIND)


def interleave(
    calls: Sequence[Callable[[], object]],
    seconds: float,
    warmup: int = 1,
    *,
    min_rounds: int = bench.MIN_CALLS,
    clock: Callable[[], float] = time.perf_counter,
    cpu_clock: Callable[[], float] = time.process_time,
) -> tuple[list[list[float]], float | None]:
    """Per-call wall times of every call, timed in one loop: after ``warmup`` untimed rounds,
    rounds of one call each (round ``r`` starts at call ``r mod len(calls)``) until at least
    ``seconds`` of wall time and ``min_rounds`` rounds have passed. Also the process CPU time
    over the wall time of the loop (None when no wall time passed)."""
    if not calls:
        return [], None
    for _ in range(warmup):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    began = clock()
    cpu_began = cpu_clock()
    rounds = 0
    while True:
        for j in range(len(calls)):
            i = (rounds + j) % len(calls)
            t0 = clock()
            out = calls[i]()
            times[i].append(clock() - t0)
            del out
        rounds += 1
        elapsed = clock() - began
        if rounds >= min_rounds and elapsed >= seconds:
            cpu = cpu_clock() - cpu_began
            return times, (cpu / elapsed if elapsed > 0 else None)


def run(cases: Sequence[bench.Case], seconds: float, warmup: int = 1) -> list[bench.Result]:
    """Set up every row (a failure becomes the row's ``error``), then time the others
    interleaved (:func:`interleave`)."""
    results, calls = [], []
    for case in cases:
        result = bench.Result(
            case.name, case.produces, case.batch, warmup_calls=warmup, kind=case.kind,
            backend=case.backend, device=case.device, loadavg_1min=bench.loadavg(),
        )  # fmt: skip
        try:
            calls.append((result, case.setup()))
        except Exception as exc:
            result.error = str(exc) if isinstance(exc, bench.RowUnavailable) else repr(exc)
        results.append(result)
    try:
        times, cpu_per_wall = interleave([call for _, call in calls], seconds, warmup)
    except Exception as exc:
        for result, _ in calls:
            result.error = f"during the interleaved loop: {exc!r}"
        return results
    for (result, _), row in zip(calls, times, strict=True):
        for key, value in bench.summarize(row, result.batch).items():
            setattr(result, key, value)
        result.calls = len(row)
        result.times_s = list(row)
        result.cpu_per_wall = cpu_per_wall
    return results


def ratios(results: Sequence[bench.Result]) -> dict[str, float]:
    """Our sequences/s over the peer's, per output set of ours (rows that ran only)."""
    peer = next((r for r in results if r.name == PEER and r.error is None), None)
    if peer is None or not peer.sequences_per_s:
        return {}
    return {
        r.produces: r.sequences_per_s / peer.sequences_per_s
        for r in results
        if r.kind == "render" and r.error is None and r.sequences_per_s is not None
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    batch = args.batch_size
    digits = bench.load_digits("auto" if args.digits == "mnist" else "glyphs")
    cases = [
        render_case(digits, batch, extras=False, preset=PRESET),
        render_case(digits, batch, extras=True, preset=PRESET),
        peer_case(digits, batch, PRESET),
    ]
    start_load = bench.loadavg()
    results = run(cases, args.seconds, args.warmup)

    env = bench.environment("cpu")
    config = SceneConfig.preset(PRESET)
    print(bench.describe(env, digits, config, args.seconds, args.warmup, start_load))
    print("rows interleaved: one call of each per round, order rotated, ≥ the time in total")
    warnings, failed = bench.print_results(results, env)
    ours_over_peer = ratios(results)
    for produces, ratio in ours_over_peer.items():
        print(f"ours/peer [{produces}]: {ratio:.2f}×")

    if args.json is not None:
        settings = {
            "batch_size": batch,
            "seconds": args.seconds,
            "warmup_calls": args.warmup,
            "threads_arg": args.threads,
            "preset": PRESET,
            "seq_length": config.num_frames,
            "image_size": config.canvas[0],
            "num_digits": config.max_digits,
            "digits": args.digits,
            "digits_source": digits.source,
            "num_sprites": int(digits.images.shape[0]),
            "method": "interleaved: one call per row per round, order rotated every round; "
            "seconds = minimum wall time of the whole loop",
            "peer": PEER,
        }
        command = " ".join(["benchmarks/rotation.py", *(sys.argv[1:] if argv is None else argv)])
        document = bench.report(results, env, settings, warnings, command)
        document["ratio_ours_over_peer"] = ours_over_peer
        bench.write_json(args.json, document)
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
