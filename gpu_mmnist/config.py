"""Scene configuration: what a sequence looks like, validated once, shared by every backend.

Convention: the canvas is ``(H, W)`` = (rows, columns) in pixels; motion is expressed in fractions
of the *free range* ``(W - w, H - h)`` a sprite of size ``h × w`` can move in, as in Srivastava et
al. (2015); ``step`` is the length of one frame's step in those units.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

MOTIONS = ("classic",)
COMPOSITING = ("max",)
MAX_DIGITS = 254  # instance masks are uint8 with 0 = background and k + 1 = slot k
MAX_FRAMES = 65_535  # frames share one 16-bit field of the random counter


@dataclass(frozen=True)
class SceneConfig:
    """One Moving MNIST scene family. Build it with :meth:`preset` and :meth:`replace`.

    Attributes:
        canvas: ``(H, W)`` frame size in pixels.
        num_frames: frames per sequence ``T``.
        num_digits: digit slots per sequence ``K``.
        motion: trajectory model; ``"classic"`` = Srivastava 2015 clamp-and-flip.
        step: distance per frame as a fraction of the free range (0.1 → 3.6 px at 64/28).
        compositing: how overlapping digits combine; ``"max"`` = per-pixel maximum.
        name: the preset this config came from (informative only).
    """

    canvas: tuple[int, int] = (64, 64)
    num_frames: int = 20
    num_digits: int = 2
    motion: str = "classic"
    step: float = 0.1
    compositing: str = "max"
    name: str = "custom"

    def __post_init__(self) -> None:
        canvas = self.canvas
        if (
            not isinstance(canvas, tuple)
            or len(canvas) != 2
            or not all(_is_int(side) for side in canvas)
        ):
            raise TypeError(f"canvas must be a tuple (H, W) of two ints, got {canvas!r}")
        for axis, side in zip("HW", canvas, strict=True):
            if not 1 <= side <= 16_384:
                raise ValueError(f"canvas {axis} must be in [1, 16384] pixels, got {side}")
        _check_int("num_frames", self.num_frames, 1, MAX_FRAMES)
        _check_int("num_digits", self.num_digits, 1, MAX_DIGITS)
        _check_choice("motion", self.motion, MOTIONS)
        _check_choice("compositing", self.compositing, COMPOSITING)
        if isinstance(self.step, bool) or not isinstance(self.step, (int, float)):
            raise TypeError(f"step must be a number, got {type(self.step).__name__}")
        if not 0.0 < self.step <= 1.0:
            raise ValueError(
                f"step must be in (0, 1] (a fraction of the free range), got {self.step}"
            )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SceneConfig:
        """The named preset (see ``PRESETS``), with ``overrides`` applied and validated."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}")
        return PRESETS[name].replace(**overrides)

    def replace(self, **overrides: Any) -> SceneConfig:
        """A copy with ``overrides`` applied; unknown fields raise ``TypeError`` naming them."""
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"unknown SceneConfig field(s) {', '.join(unknown)}; valid fields: "
                f"{', '.join(sorted(known))}"
            )
        if "canvas" in overrides and isinstance(overrides["canvas"], list):
            overrides["canvas"] = tuple(overrides["canvas"])
        return dataclasses.replace(self, **overrides)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if not _is_int(value):
        raise TypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{field} must be in [{low}, {high}], got {value}")


def _check_choice(field: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}; got {value!r}")


PRESETS: dict[str, SceneConfig] = {
    # Srivastava et al. 2015 / OpenSTL: 64×64, two 28×28 digits, 20 frames, step 0.1 of the free
    # range before each frame, clamp-and-flip at the walls, floor to pixels, max compositing.
    "classic": SceneConfig(name="classic"),
}
