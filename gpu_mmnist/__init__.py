"""gpu_mmnist: Moving MNIST rendered on the fly, exactly, from a counter-based random stream.

Importing this package needs neither Triton nor a GPU.
"""

from .batch import Batch
from .config import PRESETS, SceneConfig
from .datasets import MovingMNIST, MovingMNISTStream
from .render import render
from .sampler import SceneParams, sample
from .sprites import SpriteBank

__all__ = [
    "PRESETS",
    "Batch",
    "MovingMNIST",
    "MovingMNISTStream",
    "SceneConfig",
    "SceneParams",
    "SpriteBank",
    "render",
    "sample",
]
__version__ = "0.1.0"
