"""The ``gpu-mmnist`` command line: render a demo, download MNIST, benchmark, describe the setup.

Errors are reported as one line ``gpu-mmnist: error: <message>`` on stderr, never a traceback;
the exit status is 2 for a usage error (as argparse uses), 1 for any other error, 130 when
interrupted.  ``python -m gpu_mmnist.cli`` works the same as the ``gpu-mmnist`` script.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import math
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import torch

from . import __version__, bench, sprites
from .config import PRESETS, SceneConfig
from .datasets import load_digits
from .preview import animated_gif, contact_sheet
from .render import BACKENDS, render
from .sprites import find_idx_files, resolve_root, root_origin

PROG = "gpu-mmnist"

_DESCRIPTION = """\
Moving MNIST rendered on the fly: every sequence is a pure function of
(preset, digits, seed, split, index), drawn in batches on the CPU or a GPU.
"""

_EPILOG = """\
examples:
  gpu-mmnist demo                          # 4 classic sequences into ./demo/classic.{png,gif}
  gpu-mmnist demo --digits glyphs --out /tmp/demo --num-sequences 8 --seed 3
  gpu-mmnist download                      # MNIST into ~/.cache/gpu_mmnist/MNIST/raw
  GPU_MMNIST_DATA=/data/mnist gpu-mmnist demo --digits mnist --device cuda
  gpu-mmnist bench                         # throughput table, batch 256, vs the usual generators
  gpu-mmnist info                          # versions, devices, backends, where the data is

Data folder: --root, else $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist.
Run `gpu-mmnist COMMAND --help` for a command's options.
"""

_DEMO_DESCRIPTION = """\
Render sequences 0..N-1 of a preset and write two pictures:
  OUT/PRESET.png   contact sheet: one row per sequence, up to 10 evenly spaced frames,
                   each digit's pixels tinted, boxed and tagged in its class colour,
                   legend below
  OUT/PRESET.gif   the sequences side by side, one GIF frame per time step, looping
"""

_DEMO_EPILOG = """\
digits:
  auto     MNIST when its files are found under the data folder, else the glyphs below
           (a one-line notice on stderr says so); never downloads
  mnist    MNIST, or an error when its files are missing (see `gpu-mmnist download`)
  glyphs   the built-in procedural digits (SpriteBank.glyphs); needs no
           data files

examples:
  gpu-mmnist demo
  gpu-mmnist demo --digits glyphs --num-sequences 2 --out /tmp/demo --no-masks
  gpu-mmnist demo --digits mnist --root /data/mnist --split test --seed 7
"""

_DOWNLOAD_EPILOG = """\
Files are MD5-checked and written atomically into ROOT/MNIST/raw (ROOT/FashionMNIST/raw for
Fashion-MNIST); files already present are not fetched again.

examples:
  gpu-mmnist download
  gpu-mmnist download --dataset fashion_mnist --root /data
"""

_BENCH_DESCRIPTION = """\
Measure sequences per second of our renderer and datasets against the Moving MNIST generators
users run today, and print the environment and one table. The peers are our NumPy
re-implementations of Srivastava et al. 2015 and OpenSTL (gpu_mmnist.peers); they always run
on the CPU.

rows, for each batch size B:
  Srivastava 2015 BouncingMNIST     one batch of B sequences per call
  OpenSTL MovingMNIST, items        B items one by one (the "vs OpenSTL" baseline)
  OpenSTL MovingMNIST, DataLoader   DataLoader(ds, batch_size=B)
  gpu_mmnist render                 per backend: frames; frames+boxes+masks
  MovingMNISTStream, DataLoader     DataLoader(MovingMNISTStream(B), batch_size=None):
                                    per backend, frames+boxes+masks
  MovingMNIST, DataLoader           DataLoader(MovingMNIST(annotations=False), batch_size=B,
                                    collate_fn=gpu_mmnist.datasets.collate): per backend, frames
--no-peers drops the first three rows, --no-loaders the last two.
"""

_BENCH_EPILOG = """\
method: per row one warm-up call, then calls repeated for at least --seconds and 3 calls;
sequences/s = B / median time per call (on CUDA each call ends with a synchronize). Our rows
render fresh sequence indices every call, so nothing can be cached. DataLoaders use
num_workers=0.
columns:
  vs OpenSTL   sequences/s over the OpenSTL item-by-item row at the same batch size
  overhead     DataLoader rows: time per batch over the bare render call with the same
               outputs, batch size, backend and device (1.00× = no overhead)
  cpu/wall     process CPU time / wall time while timed: about the number of busy
               threads, less when other processes take the CPU (a warning says so when the
               load average exceeds the CPU count)
Exit status 1 when a row failed (the reason is printed), 2 for a bad argument.

examples:
  gpu-mmnist bench
  gpu-mmnist bench --batch-sizes 16,256,4096 --no-peers --json bench.json
  gpu-mmnist bench --device cuda --backends torch --digits mnist --root /data/mnist
  gpu-mmnist bench --threads 1 --seconds 5
"""

_INFO_DESCRIPTION = """\
Print the versions of Python and the libraries, the CPU and CUDA devices, which rendering
backends work on which device, how the data folder is chosen (--root, else $GPU_MMNIST_DATA,
else ~/.cache/gpu_mmnist) and where the MNIST and Fashion-MNIST files were found.
"""

_INFO_EPILOG = """\
examples:
  gpu-mmnist info
  gpu-mmnist info --root /data/mnist
"""

# Errors reported as one line with exit status 1.
_ERRORS = (ValueError, TypeError, FileNotFoundError, RuntimeError, OSError)


class _UsageError(Exception):
    """A command-line usage error (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing usage and exiting, so that ``main``
    reports every error the same way."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


MAX_DEMO_SEQUENCES = 64
MAX_BATCH_SIZE = 1 << 20


def _num_sequences(text: str) -> int:
    expected = f"expected an integer in [1, {MAX_DEMO_SEQUENCES}]"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
    if not 1 <= value <= MAX_DEMO_SEQUENCES:
        raise argparse.ArgumentTypeError(f"{expected}, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer in [0, 2**64), got {text!r}"
        ) from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**64), got {value}")
    return value


def _batch_sizes(text: str) -> list[int]:
    expected = (
        f"expected comma-separated positive integers (at most {MAX_BATCH_SIZE}) such as 16,256,4096"
    )
    sizes: list[int] = []
    for item in text.split(","):
        try:
            value = int(item.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
        if not 1 <= value <= MAX_BATCH_SIZE:
            raise argparse.ArgumentTypeError(f"{expected}, got {value}")
        if value not in sizes:
            sizes.append(value)
    return sizes


def _backends(text: str) -> list[str]:
    names: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if name not in BACKENDS:
            raise argparse.ArgumentTypeError(
                f"unknown backend {name!r}; accepted: {', '.join(BACKENDS)} (comma-separated)"
            )
        if name not in names:
            names.append(name)
    return names


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _root_argument(parser: argparse.ArgumentParser, what: str = "MNIST data folder") -> None:
    parser.add_argument(
        "--root",
        metavar="DIR",
        help=f"{what} (default: $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``gpu-mmnist`` argument parser (its errors raise instead of exiting)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    demo = commands.add_parser(
        "demo",
        help="render sequences to a PNG contact sheet and a GIF",
        description=_DEMO_DESCRIPTION,
        epilog=_DEMO_EPILOG,
        formatter_class=formatter,
    )
    demo.add_argument(
        "--preset",
        default="classic",
        choices=sorted(PRESETS),
        help="scene preset (default: %(default)s)",
    )
    demo.add_argument(
        "--digits",
        default="auto",
        choices=("auto", "mnist", "glyphs"),
        help="digit sprites (default: %(default)s; see below)",
    )
    demo.add_argument(
        "--root",
        metavar="DIR",
        help="MNIST data folder (default: $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist)",
    )
    demo.add_argument(
        "--split",
        default="train",
        choices=("train", "test"),
        help="digit split, also keys the random stream (default: %(default)s)",
    )
    demo.add_argument(
        "--num-sequences",
        type=_num_sequences,
        default=4,
        metavar="N",
        help=f"sequences to render and show, 1 to {MAX_DEMO_SEQUENCES} (default: %(default)s)",
    )
    demo.add_argument(
        "--seed", type=_seed, default=0, help="random seed in [0, 2**64) (default: %(default)s)"
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="demo",
        help="output folder, created if needed (default: ./%(default)s)",
    )
    demo.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to render; auto = cuda when available, else cpu (default: %(default)s)",
    )
    demo.add_argument(
        "--no-masks",
        dest="masks",
        action="store_false",
        help="do not tint each digit's pixels with its class colour",
    )
    demo.set_defaults(run=_demo)

    download = commands.add_parser(
        "download",
        help="download MNIST or Fashion-MNIST",
        description="Download the four IDX files of a dataset (train and test images and labels).",
        epilog=_DOWNLOAD_EPILOG,
        formatter_class=formatter,
    )
    download.add_argument(
        "--dataset",
        default="mnist",
        choices=("mnist", "fashion_mnist"),
        help="dataset to fetch (default: %(default)s)",
    )
    download.add_argument(
        "--root",
        metavar="DIR",
        help="data folder (default: $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist)",
    )
    download.set_defaults(run=_download)

    bench_parser = commands.add_parser(
        "bench",
        help="measure throughput against the usual generators",
        description=_BENCH_DESCRIPTION,
        epilog=_BENCH_EPILOG,
        formatter_class=formatter,
    )
    bench_parser.add_argument(
        "--batch-sizes",
        type=_batch_sizes,
        default=[256],
        metavar="B[,B...]",
        help="sequences per call, comma-separated (default: 256)",
    )
    bench_parser.add_argument(
        "--backends",
        type=_backends,
        default=["auto"],
        metavar="NAME[,NAME...]",
        help=f"render backends to measure: {', '.join(BACKENDS)} (default: auto)",
    )
    bench_parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where our rows render; auto = cuda when available, else cpu (default: %(default)s)",
    )
    bench_parser.add_argument(
        "--seconds",
        type=_seconds,
        default=2.0,
        metavar="S",
        help="minimum timed wall time per row (default: %(default)g)",
    )
    bench_parser.add_argument(
        "--preset",
        default="classic",
        choices=sorted(PRESETS),
        help="scene preset (default: %(default)s)",
    )
    bench_parser.add_argument(
        "--digits",
        default="auto",
        choices=("auto", "mnist", "glyphs"),
        help="digit sprites, as for demo: auto = MNIST when found, else the built-in glyphs "
        "(default: %(default)s)",
    )
    _root_argument(bench_parser)
    bench_parser.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        help="torch.set_num_threads(N) for the run (default: torch's choice)",
    )
    bench_parser.add_argument(
        "--no-peers", action="store_true", help="skip the Srivastava and OpenSTL rows"
    )
    bench_parser.add_argument(
        "--no-loaders", action="store_true", help="skip the DataLoader rows of our datasets"
    )
    bench_parser.add_argument(
        "--json", metavar="PATH", type=Path, help="also write environment, settings and rows here"
    )
    bench_parser.set_defaults(run=_bench)

    info = commands.add_parser(
        "info",
        help="show versions, devices, backends and where the data is",
        description=_INFO_DESCRIPTION,
        epilog=_INFO_EPILOG,
        formatter_class=formatter,
    )
    _root_argument(info, "data folder to look in")
    info.set_defaults(run=_info)
    return parser


def _pick_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "--device cuda: CUDA is not available to PyTorch (torch.cuda.is_available() is "
            "False); use --device cpu or auto"
        )
    return torch.device(choice)


def _demo(args: argparse.Namespace) -> int:
    config = SceneConfig.preset(args.preset)
    device = _pick_device(args.device)
    root = resolve_root(args.root)
    use_mnist = args.digits == "mnist" or (
        args.digits == "auto" and find_idx_files(root, "mnist", args.split) is not None
    )
    if use_mnist:
        bank = load_digits("mnist", args.split, args.root, device=device)
    else:
        if args.digits == "auto":
            _notice_glyphs(args.root)
        bank = load_digits("glyphs", args.split, device=device)
    if bank.source == "glyphs":
        digits = f"built-in glyph digits ({len(bank)} {bank.split} sprites)"
    else:
        digits = f"MNIST {bank.split} ({len(bank)} digits from {root})"

    n = args.num_sequences
    batch = render(config, bank, range(n), seed=args.seed, split=args.split, device=device)
    out = Path(args.out)
    options = {"classes": bank.classes, "max_sequences": n}
    options = {**options, "masks": args.masks}
    png = contact_sheet(batch, out / f"{args.preset}.png", **options)
    gif = animated_gif(batch, out / f"{args.preset}.gif", **options)

    b, t, _, h, w = batch.frames.shape
    print(
        f"rendered {b} sequence(s) of preset {args.preset!r}: {t} frames of {h}×{w}, "
        f"{config.num_digits} digits each, seed {args.seed}, split {args.split}"
    )
    print(f"  frames:  uint8 {list(batch.frames.shape)} on {batch.frames.device}")
    print(f"  digits:  {digits}")
    print(f"  device:  {device}")
    print(f"wrote {png}  (contact sheet)")
    print(f"wrote {gif}  (animation)")
    return 0


def _download(args: argparse.Namespace) -> int:
    folder = sprites.download(args.dataset, args.root, progress=True)
    name = "MNIST" if args.dataset == "mnist" else "Fashion-MNIST"
    print(f"{name} is in {folder}")
    return 0


def _notice_glyphs(root: str | None) -> None:
    """The one-line notice that ``--digits auto`` fell back to the built-in glyphs."""
    hint = f"{PROG} download" + ("" if root is None else f" --root {root}")
    print(
        f"{PROG}: MNIST not found under {resolve_root(root)}; using the built-in glyph digits "
        f"(run `{hint}` for MNIST)",
        file=sys.stderr,
    )


def _bench(args: argparse.Namespace) -> int:
    device = _pick_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = SceneConfig.preset(args.preset)
    digits = bench.load_digits(args.digits, args.root)
    if args.digits == "auto" and digits.bank.source != "mnist":
        _notice_glyphs(args.root)
    cases = bench.build_cases(
        digits,
        args.batch_sizes,
        args.backends,
        str(device),
        args.preset,
        peers=not args.no_peers,
        loaders=not args.no_loaders,
    )
    env = bench.environment(str(device))
    warmup = 1
    print(bench.describe(env, digits, config, args.seconds, warmup), flush=True)
    results = bench.run_cases(cases, args.seconds, warmup)
    warnings, failed = bench.print_results(results, env)
    if args.json is not None:
        settings = {
            "batch_sizes": args.batch_sizes,
            "backends": args.backends,
            "device": str(device),
            "seconds": args.seconds,
            "warmup_calls": warmup,
            "threads_arg": args.threads,
            "preset": args.preset,
            "seq_length": config.num_frames,
            "canvas": list(config.canvas),
            "num_digits": config.num_digits,
            "digits": args.digits,
            "digits_source": digits.source,
            "num_sprites": int(digits.images.shape[0]),
            "baseline": bench.BASELINE,
            "peers": not args.no_peers,
            "loaders": not args.no_loaders,
        }
        command = " ".join([PROG, *args.argv])
        document = bench.report(results, env, settings, warnings, command)
        bench.write_json(args.json, document)
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _triton_version() -> str:
    if importlib.util.find_spec("triton") is None:
        return "not installed"
    return _version("triton")


def info_lines(root: str | None = None) -> list[str]:
    """What ``gpu-mmnist info`` prints: versions, devices, backends, data files."""
    import numpy
    import PIL

    def row(key: str, value: str) -> str:
        return f"  {key:<20} {value}"

    cuda = torch.cuda.is_available()
    triton = _triton_version()
    lines = [
        "versions:",
        row("python", f"{platform.python_version()} ({sys.executable})"),
        row("gpu_mmnist", __version__),
        row("torch", torch.__version__),
        row("numpy", numpy.__version__),
        row("Pillow", PIL.__version__),
        row("triton", triton),
        "devices:",
        row(
            "cpu",
            f"{bench.cpu_model()}; {os.cpu_count()} logical CPUs, torch uses "
            f"{torch.get_num_threads()} threads",
        ),
    ]
    if cuda:
        count = torch.cuda.device_count()
        lines.append(row("cuda", f"available: CUDA {torch.version.cuda}, {count} device(s)"))
        for i in range(count):
            props = torch.cuda.get_device_properties(i)
            memory = f"{props.total_memory / 2**30:.1f} GiB"
            capability = f"compute capability {props.major}.{props.minor}"
            lines.append(row(f"  cuda:{i}", f"{props.name}, {memory}, {capability}"))
    elif torch.version.cuda is None:
        lines.append(row("cuda", f"not available (torch {torch.__version__} has no CUDA)"))
    else:
        lines.append(
            row(
                "cuda",
                f"not available (torch is built for CUDA {torch.version.cuda}, but no usable "
                "GPU or driver was found)",
            )
        )
    lines += [
        "backends (render(..., backend=NAME) works on):",
        row("torch", "cpu, cuda" if cuda else "cpu (cuda: not available)"),
    ]
    if triton == "not installed":
        lines.append(row("triton", "nowhere: triton is not installed"))
    else:
        interpreted = "cpu under TRITON_INTERPRET=1 (slow, for tests)"
        lines.append(row("triton", f"cuda, {interpreted}" if cuda else interpreted))
    lines.append(row("auto", "triton on cuda when installed, else torch"))

    resolved = resolve_root(root)
    lines += [
        "data (folder: --root, else $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist):",
        row("root", f"{resolved} (from {root_origin(root, '--root')})"),
    ]
    root_flag = "" if root is None else f" --root {root}"
    for dataset, name in (("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST")):
        for split in ("train", "test"):
            found = find_idx_files(resolved, dataset, split)
            if found is None:
                flag = "" if dataset == "mnist" else " --dataset fashion_mnist"
                where = f"not found (run `{PROG} download{flag}{root_flag}`)"
            else:
                images, labels = found
                where = f"{images} (+ {labels.name})"
            lines.append(row(f"{name} {split}", where))
    return lines


def _info(args: argparse.Namespace) -> int:
    print("\n".join(info_lines(args.root)))
    return 0


def _error(message: str) -> None:
    lines = message.strip().splitlines()
    print(f"{PROG}: error: {lines[0] if lines else 'unknown error'}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        _error(str(exc))
        return 2
    except SystemExit as exc:  # --help and --version print, then exit 0
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        _error(f"choose a command: demo, download, bench or info (see `{PROG} --help`)")
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except _ERRORS as exc:
        _error(str(exc) or type(exc).__name__)
        return 1


if __name__ == "__main__":
    sys.exit(main())
