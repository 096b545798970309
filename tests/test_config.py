"""SceneConfig: presets, overrides and errors that name the field and the accepted range."""

from __future__ import annotations

import dataclasses

import pytest

from gpu_mmnist import PRESETS, SceneConfig


def test_classic_preset_is_srivastava() -> None:
    config = SceneConfig.preset("classic")
    assert config.canvas == (64, 64)
    assert config.num_frames == 20
    assert config.num_digits == 2
    assert config.motion == "classic"
    assert config.step == 0.1
    assert config.compositing == "max"
    assert config.name == "classic"
    assert "classic" in PRESETS


def test_replace_and_preset_overrides() -> None:
    config = SceneConfig.preset("classic", num_frames=10, canvas=[63, 65])
    assert config.num_frames == 10 and config.canvas == (63, 65)
    assert config.replace(num_digits=3).num_digits == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_frames = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "error", "pattern"),
    [
        ({"canvas": 64}, TypeError, "canvas"),
        ({"canvas": (64, 64, 1)}, TypeError, "canvas"),
        ({"canvas": (64.0, 64)}, TypeError, "canvas"),
        ({"canvas": (0, 64)}, ValueError, r"canvas H must be in \[1, 16384\]"),
        ({"canvas": (64, 20_000)}, ValueError, "canvas W"),
        ({"num_frames": 0}, ValueError, r"num_frames must be in \[1, 65535\], got 0"),
        ({"num_frames": 2.5}, TypeError, "num_frames must be an int"),
        ({"num_digits": 0}, ValueError, r"num_digits must be in \[1, 254\]"),
        ({"num_digits": 255}, ValueError, "num_digits"),
        ({"num_digits": True}, TypeError, "num_digits"),
        ({"motion": "wobbly"}, ValueError, "motion must be one of classic, tfds, .*; got 'wobbly'"),
        ({"motion": ()}, ValueError, "motion must name at least one model"),
        ({"motion": ("tfds", "x")}, ValueError, "motion must be one of"),
        ({"compositing": "min"}, ValueError, "compositing must be one of max, sum, over"),
        ({"num_digits": (3, 2)}, ValueError, "num_digits range must have lo <= hi"),
        ({"num_digits": (0, 2)}, ValueError, r"num_digits must be in \[1, 254\]"),
        ({"num_digits": (1, 2, 3)}, TypeError, "num_digits must be an int or a tuple"),
        ({"scale": (0.1, 1.0)}, ValueError, r"scale must be in \[0.25, 4\]"),
        ({"brightness": (0.5, 1.5)}, ValueError, r"brightness must be in \[0, 1\]"),
        ({"rotation": (5.0, -5.0)}, ValueError, "rotation range must have lo <= hi"),
        ({"brightness_mode": "flicker"}, ValueError, "brightness_mode must be one of"),
        ({"noise_density": 2.0}, ValueError, "noise_density"),
        ({"num_shapes": 65}, ValueError, r"num_shapes must be in \[0, 64\]"),
        ({"shape_size": (0, 4)}, ValueError, "shape_size"),
        ({"step": (0.05, float("nan"))}, TypeError, "step must be a finite number"),
        ({"step": 0}, ValueError, r"step must be in \(0, 1\]"),
        ({"step": 1.5}, ValueError, "step"),
        ({"step": "fast"}, TypeError, "step must be a finite number"),
        ({"speed": 3}, TypeError, "unknown SceneConfig field.*speed.*valid fields"),
    ],
)
def test_bad_values_name_the_field(overrides: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        SceneConfig.preset("classic", **overrides)


def test_unknown_preset_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match="unknown preset 'nope'; available: classic"):
        SceneConfig.preset("nope")
