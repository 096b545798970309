"""Scene configuration: what a sequence looks like, validated once, shared by every backend.

Convention: the canvas is ``(H, W)`` = (rows, columns) in pixels; motion is expressed in fractions
of the *free range* ``(W - w, H - h)`` a sprite of size ``h × w`` can move in, as in Srivastava et
al. (2015). Angles are in degrees, positive = counter-clockwise on screen. A range ``(lo, hi)`` is
drawn uniformly per digit (per sequence for ``num_digits``); a single number is a fixed value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

MOTIONS = ("classic", "tfds", "stochastic", "reflect", "circular", "linear")
COMPOSITING = ("max", "sum", "over")
BRIGHTNESS_MODES = ("constant", "ramp", "oscillate")
MAX_DIGITS = 254  # instance masks are uint8 with 0 = background and k + 1 = slot k
MAX_SHAPES = 64
MAX_FRAMES = 65_535  # frames share one 16-bit field of the random counter
MAX_SCALE = 4.0

Range = tuple[float, float]


@dataclass(frozen=True)
class SceneConfig:
    """One Moving MNIST scene family. Build it with :meth:`preset` and :meth:`replace`.

    Attributes:
        canvas: ``(H, W)`` frame size in pixels.
        num_frames: frames per sequence ``T``.
        num_digits: digit slots ``K``, or a range ``(lo, hi)`` drawn per sequence; slots beyond a
            sequence's count are padding (label ``-1``, never drawn, never visible).
        motion: trajectory model of every digit, or a tuple of models each digit draws one of:
            ``classic`` (Srivastava 2015: step before each frame, clamp-and-flip, floor),
            ``tfds`` (frame 0 at the start, fold reflection, round), ``stochastic`` (SVG: integer
            pixel velocities, a new inward one at a wall), ``reflect`` (exact reflection, any
            number of bounces per step, floor), ``circular`` (a circle about a random centre),
            ``linear`` (heading perturbed every frame, reflected at the walls).
        step: speed, a fraction of the free range per frame (0.1 → 3.6 px at 64/28), or a range.
        max_velocity: ``stochastic``: velocities are integers in ``[-max_velocity, max_velocity]``
            pixels per frame.
        perturbation: ``linear``: the heading turns by ``U[-p, p]`` degrees every frame.
        radius: ``circular``: radius range as a fraction of the free range.
        angle: initial rotation range, degrees.
        rotation: rotation rate range, degrees per frame.
        scale: size factor range about the sprite centre.
        scale_period: 0 → a constant scale drawn from ``scale``; otherwise the scale oscillates
            over the whole range with this period in frames (random phase per digit).
        brightness: intensity factor range within ``[0, 1]`` (so a pixel never exceeds 255).
        brightness_mode: ``constant`` (one level per digit), ``ramp`` (linear from one level at
            frame 0 to another at the last frame), ``oscillate`` (over the whole range with
            ``brightness_period`` frames, random phase).
        brightness_period: oscillation period in frames.
        compositing: ``max`` (per-pixel maximum), ``sum`` (clipped at 255), ``over`` (slot order is
            depth, slot 0 at the back; a digit's sampled intensity is its alpha).
        noise_density: fraction of pixels that get pepper noise, drawn anew every frame.
        noise_brightness: pepper intensity range (fraction of 255).
        num_shapes: moving background shapes (circles, rectangles, triangles), or a range.
        shape_size: shape side range in pixels.
        shape_brightness: shape intensity range (fraction of 255).
        name: the preset this config came from (informative only).
    """

    canvas: tuple[int, int] = (64, 64)
    num_frames: int = 20
    num_digits: int | tuple[int, int] = 2
    motion: str | tuple[str, ...] = "classic"
    step: float | Range = 0.1
    max_velocity: int = 4
    perturbation: float = 10.0
    radius: Range = (0.25, 0.5)
    angle: float | Range = 0.0
    rotation: float | Range = 0.0
    scale: float | Range = 1.0
    scale_period: float = 0.0
    brightness: float | Range = 1.0
    brightness_mode: str = "constant"
    brightness_period: float = 20.0
    compositing: str = "max"
    noise_density: float = 0.0
    noise_brightness: float | Range = (0.5, 1.0)
    num_shapes: int | tuple[int, int] = 0
    shape_size: tuple[int, int] = (8, 20)
    shape_brightness: float | Range = (0.2, 0.6)
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
        _check_int_range("num_digits", self.num_digits, 1, MAX_DIGITS)
        motions = self.motion if isinstance(self.motion, tuple) else (self.motion,)
        if not motions:
            raise ValueError("motion must name at least one model")
        for motion in motions:
            _check_choice("motion", motion, MOTIONS)
        _check_range("step", self.step, 0.0, 1.0, open_low=True)
        _check_int("max_velocity", self.max_velocity, 1, 1024)
        _check_range("perturbation", self.perturbation, 0.0, 180.0)
        _check_range("radius", self.radius, 0.0, 0.5)
        _check_range("angle", self.angle, -3600.0, 3600.0)
        _check_range("rotation", self.rotation, -360.0, 360.0)
        _check_range("scale", self.scale, 0.25, MAX_SCALE)
        _check_range("scale_period", self.scale_period, 0.0, 1e6)
        _check_range("brightness", self.brightness, 0.0, 1.0)
        _check_choice("brightness_mode", self.brightness_mode, BRIGHTNESS_MODES)
        _check_range("brightness_period", self.brightness_period, 0.0, 1e6, open_low=True)
        _check_choice("compositing", self.compositing, COMPOSITING)
        _check_range("noise_density", self.noise_density, 0.0, 1.0)
        _check_range("noise_brightness", self.noise_brightness, 0.0, 1.0)
        _check_int_range("num_shapes", self.num_shapes, 0, MAX_SHAPES)
        largest = min(canvas) if span(self.num_shapes)[1] else 16_384  # unused without shapes
        _check_int_range("shape_size", self.shape_size, 1, largest)

    @property
    def motions(self) -> tuple[str, ...]:
        """The motion models digits draw from (one per digit, uniformly)."""
        return self.motion if isinstance(self.motion, tuple) else (self.motion,)

    @property
    def max_digits(self) -> int:
        """``K``: digit slots per sequence (the top of ``num_digits``)."""
        return span(self.num_digits)[1]

    @property
    def max_shapes(self) -> int:
        """Background shape slots per sequence (the top of ``num_shapes``)."""
        return span(self.num_shapes)[1]

    @property
    def transformed(self) -> bool:
        """Whether digits are resampled (rotation, scale or brightness other than identity)."""
        return (
            span(self.angle) != (0.0, 0.0)
            or span(self.rotation) != (0.0, 0.0)
            or span(self.scale) != (1.0, 1.0)
            or span(self.brightness) != (1.0, 1.0)
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
        overrides = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in overrides.items()
        }
        return dataclasses.replace(self, **overrides)


def span(value: float | tuple[float, float]) -> tuple[Any, Any]:
    """``(lo, hi)`` of a fixed value or a range."""
    return (value[0], value[1]) if isinstance(value, tuple) else (value, value)


def sprite_margin(config: SceneConfig, height: int, width: int) -> int:
    """Pixels beyond an ``height × width`` sprite box that a resampled digit may cover.

    A sample is non-zero only within ``(w + 1) / 2`` of the centre in sprite space (bilinear
    footprint); rotation reaches the diagonal, scale multiplies; one more pixel absorbs rounding.
    """
    scale = span(config.scale)[1]
    rotates = span(config.angle) != (0.0, 0.0) or span(config.rotation) != (0.0, 0.0)
    if not rotates and span(config.scale) == (1.0, 1.0):
        return 0  # samples land on pixel centres: the sprite box itself
    diagonal = math.hypot(height + 1, width + 1) if rotates else max(height, width) + 1
    reach = diagonal / 2
    return max(0, math.ceil(reach * scale - min(height, width) / 2) + 1)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if not _is_int(value):
        raise TypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{field} must be in [{low}, {high}], got {value}")


def _check_int_range(field: str, value: object, low: int, high: int) -> None:
    """An int or an ``(lo, hi)`` tuple of ints with ``low <= lo <= hi <= high``."""
    if isinstance(value, tuple):
        if len(value) != 2 or not all(_is_int(v) for v in value):
            raise TypeError(f"{field} must be an int or a tuple (lo, hi) of ints, got {value!r}")
        _check_int(field, value[0], low, high)
        _check_int(field, value[1], low, high)
        if value[0] > value[1]:
            raise ValueError(f"{field} range must have lo <= hi, got {value}")
    else:
        _check_int(field, value, low, high)


def _check_range(
    field: str, value: object, low: float, high: float, *, open_low: bool = False
) -> None:
    """A number or an ``(lo, hi)`` tuple of numbers within ``[low, high]`` (``(low`` if open)."""
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) and len(value) != 2:
        raise TypeError(f"{field} must be a number or a tuple (lo, hi), got {value!r}")
    for v in values:
        if not _is_number(v) or not math.isfinite(v):
            raise TypeError(f"{field} must be a finite number or a tuple (lo, hi), got {value!r}")
        if not (low < v if open_low else low <= v) or v > high:
            bracket = "(" if open_low else "["
            raise ValueError(f"{field} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    if isinstance(value, tuple) and value[0] > value[1]:
        raise ValueError(f"{field} range must have lo <= hi, got {value}")


def _check_choice(field: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}; got {value!r}")


PRESETS: dict[str, SceneConfig] = {
    # Srivastava et al. 2015 / OpenSTL: 64×64, two 28×28 digits, 20 frames, step 0.1 of the free
    # range before each frame, clamp-and-flip at the walls, floor to pixels, max compositing.
    "classic": SceneConfig(name="classic"),
    # TFDS video/moving_sequence.image_as_moving_sequence (moving_mnist): frame 0 at the uniform
    # start, isotropic direction, speed 0.1, fold reflection min(p mod 2, 2 - p mod 2), round.
    "tfds": SceneConfig(motion="tfds", name="tfds"),
    # SVG (Denton & Fergus 2018) stochastic Moving MNIST: integer velocities in [-4, 4] px/frame,
    # a new random inward velocity at a wall, sum compositing clipped at 255.
    "stochastic": SceneConfig(motion="stochastic", compositing="sum", name="stochastic"),
    # Segmentation moving-MNIST seed: 2–3 digits rotating at ±5°/frame, slowly oscillating
    # brightness 0.6–1.0 (period 40), pepper noise on 2 % of pixels every frame, 1–3 moving
    # shapes of 6–20 px and 20–60 % brightness under the digits, occlusion ("over").
    "segmentation": SceneConfig(
        num_digits=(2, 3),
        motion="reflect",
        rotation=(-5.0, 5.0),
        brightness=(0.6, 1.0),
        brightness_mode="oscillate",
        brightness_period=40.0,
        compositing="over",
        noise_density=0.02,
        num_shapes=(1, 3),
        shape_size=(6, 20),
        name="segmentation",
    ),
    # VideoMNIST seed: one digit, 16 frames, each video's motion drawn from bounce / circular /
    # linear; the digit's class is the video's label.
    "videomnist": SceneConfig(
        num_frames=16, num_digits=1, motion=("reflect", "circular", "linear"), name="videomnist"
    ),
    # Moving MNIST++: 3 digits, rotation rate U[-30, 30] °/frame, scale oscillating over
    # [1/1.1, 1.1] with period 10 frames, illumination U[0.6, 1.0].
    "mmnist_pp": SceneConfig(
        num_digits=3,
        rotation=(-30.0, 30.0),
        scale=(1 / 1.1, 1.1),
        scale_period=10.0,
        brightness=(0.6, 1.0),
        name="mmnist_pp",
    ),
    # Annotated detection variants: a 128×128 canvas with 4–12 digits, occlusion, boxes and
    # instance masks (amodal boxes plus modal visible_boxes).
    "detection": SceneConfig(
        canvas=(128, 128), num_digits=(4, 12), compositing="over", name="detection"
    ),
}
