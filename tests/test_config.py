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
        ({"motion": "wobbly"}, ValueError, "motion must be one of classic; got 'wobbly'"),
        ({"compositing": "sum"}, ValueError, "compositing must be one of max"),
        ({"step": 0}, ValueError, r"step must be in \(0, 1\]"),
        ({"step": 1.5}, ValueError, "step"),
        ({"step": "fast"}, TypeError, "step must be a number"),
        ({"speed": 3}, TypeError, "unknown SceneConfig field.*speed.*valid fields"),
    ],
)
def test_bad_values_name_the_field(overrides: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        SceneConfig.preset("classic", **overrides)


def test_unknown_preset_lists_the_available_ones() -> None:
    with pytest.raises(ValueError, match="unknown preset 'nope'; available: classic"):
        SceneConfig.preset("nope")
