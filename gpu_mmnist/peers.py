"""Our NumPy re-implementations of the Moving MNIST generators that users run today, used only
for benchmarking.

They are not the originals and are not part of the rendering API: they exist so that
``gpu-mmnist bench`` (:mod:`gpu_mmnist.bench`) and ``benchmarks/throughput.py`` can compare our
renderer against what people actually use, on the same machine and with the same digits. Each
class is written from a reading of the original's algorithm and keeps its costs: the same
Python-level loops, the same NumPy calls per digit and per frame, the same dtypes and
conversions. Only the random number generator is an instance rather than the global one (same
algorithm, same cost), so that runs are reproducible.

* :class:`SrivastavaBouncingMNIST` -- ``BouncingMNISTDataHandler`` from Srivastava,
  Mansimov & Salakhutdinov, "Unsupervised Learning of Video Representations using LSTMs"
  (ICML 2015), repository ``unsupervised-videos``, ``data_handler.py``.
* :class:`OpenSTLMovingMNIST` -- ``MovingMNIST`` from OpenSTL
  (``openstl/datasets/dataloader_moving_mnist.py``), the on-the-fly ``is_train=True`` path.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["DIGIT_SIZE", "OpenSTLMovingMNIST", "SrivastavaBouncingMNIST"]

DIGIT_SIZE = 28


def _check_digits(digits: np.ndarray) -> np.ndarray:
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"digits must have shape [N, 28, 28], got {digits.shape}")
    if digits.dtype != np.uint8:
        raise TypeError(f"digits must be uint8, got {digits.dtype}")
    if digits.shape[0] == 0:
        raise ValueError("digits must hold at least one image")
    return digits


class SrivastavaBouncingMNIST:
    """Srivastava et al. (2015) ``BouncingMNISTDataHandler``: one whole batch per call.

    Behaviour reproduced:

    * trajectories for all ``batch_size * num_digits`` digits are drawn at once
      (``rand`` for y, then x, then the angle), stepped with vectorised NumPy, and then
      bounced by a per-element Python loop that clamps to [0, 1] and flips the velocity;
    * positions are scaled by ``image_size - 28`` and truncated with ``astype(int32)``;
    * digits are taken in order from a shuffled permutation of the whole set, which is
      reshuffled when exhausted; the images are held as float32 in [0, 1], as the original
      read them from its HDF5 file;
    * every digit is drawn frame by frame with ``np.maximum`` into its 28×28 window of a
      float32 ``[B, T, H, W]`` batch (the original then flattened it to ``[B, -1]``; the
      reshape is free, and we keep the four axes).
    """

    def __init__(
        self,
        digits: np.ndarray,
        batch_size: int,
        seq_length: int = 20,
        image_size: int = 64,
        num_digits: int = 2,
        step_length: float = 0.1,
        seed: int | None = None,
    ) -> None:
        digits = _check_digits(digits)
        if image_size < DIGIT_SIZE:
            raise ValueError(f"image_size must be at least {DIGIT_SIZE}, got {image_size}")
        self.batch_size = int(batch_size)
        self.seq_length = int(seq_length)
        self.image_size = int(image_size)
        self.num_digits = int(num_digits)
        self.step_length = float(step_length)
        self.digit_size = DIGIT_SIZE
        # The original loaded MNIST as float32 in [0, 1]; convert once, as loading did.
        self.data = digits.astype(np.float32) / np.float32(255.0)
        self.rng = np.random.RandomState(seed)
        self.indices = np.arange(self.data.shape[0])
        self.row = 0
        self.rng.shuffle(self.indices)

    @property
    def canvas_size(self) -> int:
        """Largest top/left offset a digit can take: ``image_size - 28``."""
        return self.image_size - self.digit_size

    def get_random_trajectory(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` bouncing trajectories; returns ``(start_y, start_x)``, int32 ``[T, n]``."""
        length = self.seq_length
        canvas_size = self.canvas_size

        # Start anywhere in the unit square, head off in a uniformly random direction.
        y = self.rng.rand(n)
        x = self.rng.rand(n)
        theta = self.rng.rand(n) * 2 * np.pi
        v_y = np.sin(theta)
        v_x = np.cos(theta)

        start_y = np.zeros((length, n))
        start_x = np.zeros((length, n))
        for i in range(length):
            y += v_y * self.step_length
            x += v_x * self.step_length
            # Bounce element by element, in Python, as the original does.
            for j in range(n):
                if x[j] <= 0:
                    x[j] = 0
                    v_x[j] = -v_x[j]
                if x[j] >= 1.0:
                    x[j] = 1.0
                    v_x[j] = -v_x[j]
                if y[j] <= 0:
                    y[j] = 0
                    v_y[j] = -v_y[j]
                if y[j] >= 1.0:
                    y[j] = 1.0
                    v_y[j] = -v_y[j]
            start_y[i, :] = y
            start_x[i, :] = x

        start_y = (canvas_size * start_y).astype(np.int32)
        start_x = (canvas_size * start_x).astype(np.int32)
        return start_y, start_x

    def overlap(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Put ``b`` on top of ``a`` (pixelwise maximum), a method call per frame as originally."""
        return np.maximum(a, b)

    def next_digit_index(self) -> int:
        """Index of the next digit in the shuffled order; reshuffles when the set is used up."""
        ind = int(self.indices[self.row])
        self.row += 1
        if self.row == self.data.shape[0]:
            self.row = 0
            self.rng.shuffle(self.indices)
        return ind

    def get_batch(self) -> np.ndarray:
        """One batch of sequences: float32 ``[batch_size, seq_length, image_size, image_size]``."""
        start_y, start_x = self.get_random_trajectory(self.batch_size * self.num_digits)
        size = self.image_size
        data = np.zeros((self.batch_size, self.seq_length, size, size), dtype=np.float32)
        d = self.digit_size
        for j in range(self.batch_size):
            for n in range(self.num_digits):
                digit_image = self.data[self.next_digit_index()]
                k = j * self.num_digits + n
                for i in range(self.seq_length):
                    top = start_y[i, k]
                    left = start_x[i, k]
                    window = data[j, i, top : top + d, left : left + d]
                    data[j, i, top : top + d, left : left + d] = self.overlap(window, digit_image)
        return data


class OpenSTLMovingMNIST(torch.utils.data.Dataset):
    """OpenSTL ``MovingMNIST`` generating every item on the fly (the ``is_train=True`` path).

    Behaviour reproduced, per ``__getitem__`` call (``idx`` is ignored, as in the original):

    * the number of digits is ``random.choice(num_objects)``;
    * per digit, a trajectory from ``random.random()`` for x, y and the angle, stepped and
      bounced (clamp to [0, 1], flip the velocity) in a pure Python loop over frames, with
      the velocity held as NumPy scalars (``np.sin``/``np.cos``) as in the original;
      positions are scaled by ``image_size - 28`` and truncated with ``astype(int32)``;
    * the digit is ``random.randint(0, N - 1)`` and is drawn frame by frame with
      ``np.maximum`` into a float32 ``[T, H, W]`` canvas (uint8 promoted to float32);
    * the canvas gets a trailing channel axis and goes through the original's
      reshape/transpose with ``r = 1`` to ``[T, 1, H, W]``, is split into input and output
      halves, and each half is converted with ``torch.from_numpy(x / 255.0).contiguous()
      .float()`` (a new float32 array from the division; ``.contiguous().float()`` then find
      nothing left to do), which is what users pay per item.

    Returns ``(input, output)``: float32 tensors ``[n_frames_input, 1, H, W]`` and
    ``[n_frames_output, 1, H, W]`` in [0, 1].
    """

    def __init__(
        self,
        digits: np.ndarray,
        n_frames_input: int = 10,
        n_frames_output: int = 10,
        num_objects: Sequence[int] = (2,),
        image_size: int = 64,
        step_length: float = 0.1,
        seed: int | None = None,
        length: int = 10_000,
    ) -> None:
        super().__init__()
        digits = _check_digits(digits)
        if image_size < DIGIT_SIZE:
            raise ValueError(f"image_size must be at least {DIGIT_SIZE}, got {image_size}")
        self.mnist = digits
        self.n_frames_input = int(n_frames_input)
        self.n_frames_output = int(n_frames_output)
        self.n_frames_total = self.n_frames_input + self.n_frames_output
        self.num_objects = list(num_objects)
        self.image_size = int(image_size)
        self.digit_size = DIGIT_SIZE
        self.step_length = float(step_length)
        self.length = int(length)
        self.rng = random.Random(seed)

    @property
    def canvas_size(self) -> int:
        """Largest top/left offset a digit can take: ``image_size - 28``."""
        return self.image_size - self.digit_size

    def __len__(self) -> int:
        return self.length

    def get_random_trajectory(self, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
        """One bouncing trajectory; returns ``(start_y, start_x)``, int32 ``[seq_length]``."""
        canvas_size = self.canvas_size
        x = self.rng.random()
        y = self.rng.random()
        theta = self.rng.random() * 2 * np.pi
        v_y = np.sin(theta)
        v_x = np.cos(theta)

        start_y = np.zeros(seq_length)
        start_x = np.zeros(seq_length)
        for i in range(seq_length):
            y += v_y * self.step_length
            x += v_x * self.step_length
            if x <= 0:
                x = 0
                v_x = -v_x
            if x >= 1.0:
                x = 1.0
                v_x = -v_x
            if y <= 0:
                y = 0
                v_y = -v_y
            if y >= 1.0:
                y = 1.0
                v_y = -v_y
            start_y[i] = y
            start_x[i] = x

        start_y = (canvas_size * start_y).astype(np.int32)
        start_x = (canvas_size * start_x).astype(np.int32)
        return start_y, start_x

    def generate_moving_mnist(self, num_digits: int = 2) -> np.ndarray:
        """One sequence as float32 ``[T, H, W, 1]`` with values in [0, 255]."""
        size = self.image_size
        d = self.digit_size
        data = np.zeros((self.n_frames_total, size, size), dtype=np.float32)
        for _ in range(num_digits):
            start_y, start_x = self.get_random_trajectory(self.n_frames_total)
            ind = self.rng.randint(0, self.mnist.shape[0] - 1)
            digit_image = self.mnist[ind]
            for i in range(self.n_frames_total):
                top = start_y[i]
                left = start_x[i]
                window = data[i, top : top + d, left : left + d]
                data[i, top : top + d, left : left + d] = np.maximum(window, digit_image)
        return data[..., np.newaxis]

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        length = self.n_frames_total
        num_digits = self.rng.choice(self.num_objects)
        images = self.generate_moving_mnist(num_digits)

        r = 1
        w = self.image_size // r
        images = (
            images.reshape((length, w, r, w, r))
            .transpose(0, 2, 4, 1, 3)
            .reshape((length, r * r, w, w))
        )

        inputs = images[: self.n_frames_input]
        outputs = images[self.n_frames_input : length]

        outputs = torch.from_numpy(outputs / 255.0).contiguous().float()
        inputs = torch.from_numpy(inputs / 255.0).contiguous().float()
        return inputs, outputs
