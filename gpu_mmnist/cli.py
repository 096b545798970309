"""The ``gpu-mmnist`` command line: render a demo, download MNIST.

Errors are reported as one line ``gpu-mmnist: error: <message>`` on stderr, never a traceback;
the exit status is 2 for a usage error (as argparse uses), 1 for any other error, 130 when
interrupted.  ``python -m gpu_mmnist.cli`` works the same as the ``gpu-mmnist`` script.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import torch

from . import __version__, sprites
from .config import PRESETS, SceneConfig
from .preview import animated_gif, contact_sheet
from .render import render
from .sprites import SpriteBank, find_idx_files, resolve_root

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

Data folder: --root, else $GPU_MMNIST_DATA, else ~/.cache/gpu_mmnist.
Run `gpu-mmnist COMMAND --help` for a command's options.
"""

_DEMO_DESCRIPTION = """\
Render sequences 0..N-1 of a preset and write two pictures:
  OUT/PRESET.png   contact sheet: one row per sequence, up to 10 evenly spaced frames,
                   each digit boxed and tagged in its class colour, legend below
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
  gpu-mmnist demo --digits glyphs --num-sequences 2 --out /tmp/demo
  gpu-mmnist demo --digits mnist --root /data/mnist --split test --seed 7
"""

_DOWNLOAD_EPILOG = """\
Files are MD5-checked and written atomically into ROOT/MNIST/raw (ROOT/FashionMNIST/raw for
Fashion-MNIST); files already present are not fetched again.

examples:
  gpu-mmnist download
  gpu-mmnist download --dataset fashion_mnist --root /data
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
        bank = SpriteBank.mnist(args.root, split=args.split, device=device)
    else:
        if args.digits == "auto":
            hint = f"{PROG} download" + ("" if args.root is None else f" --root {args.root}")
            print(
                f"{PROG}: MNIST not found under {root}; using the built-in glyph digits "
                f"(run `{hint}` for MNIST)",
                file=sys.stderr,
            )
        bank = SpriteBank.glyphs(split=args.split, device=device)
    if bank.source == "glyphs":
        digits = f"built-in glyph digits ({len(bank)} {bank.split} sprites)"
    else:
        digits = f"MNIST {bank.split} ({len(bank)} digits from {root})"

    n = args.num_sequences
    batch = render(config, bank, range(n), seed=args.seed, split=args.split, device=device)
    out = Path(args.out)
    options = {"classes": bank.classes, "max_sequences": n}
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
        _error(f"choose a command: demo or download (see `{PROG} --help`)")
        return 2
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
