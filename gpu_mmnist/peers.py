"""Our re-implementations of the Moving MNIST generators that users run today, used only for
benchmarking.

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
* :class:`AffineGridSampleMMNISTPP` -- rotating, scaling, dimmed digits (the ``mmnist_pp``
  scene) rendered the plain PyTorch way: per frame, one ``F.affine_grid`` + ``F.grid_sample``
  over every digit of the batch, then a maximum over the digits. It is not a port of one
  published generator but the implementation people write with PyTorch's own tools; it is the
  peer of ``benchmarks/rotation.py``. Its random draws use a seeded ``torch.Generator``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DIGIT_SIZE",
    "AffineGridSampleMMNISTPP",
    "AffineScene",
    "OpenSTLMovingMNIST",
    "SrivastavaBouncingMNIST",
]

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


def _digit_tensor(digits: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``digits`` as a CPU uint8 tensor ``[N, 28, 28]``, checked as :func:`_check_digits` does."""
    if not isinstance(digits, torch.Tensor):
        return torch.from_numpy(_check_digits(digits).copy())
    if digits.dim() != 3 or tuple(digits.shape[1:]) != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"digits must have shape [N, 28, 28], got {list(digits.shape)}")
    if digits.dtype != torch.uint8:
        raise TypeError(f"digits must be uint8, got {digits.dtype}")
    if digits.shape[0] == 0:
        raise ValueError("digits must hold at least one image")
    return digits.detach().cpu()


@dataclass
class AffineScene:
    """The random draws of one :meth:`AffineGridSampleMMNISTPP.render` call.

    Digit slot ``k`` of sequence ``b`` is row ``n = b * num_digits + k`` of every field; ``T`` is
    the number of frames. Tensors live on the CPU.

    Attributes:
        batch_size: sequences ``B``.
        index: int64 ``[B·K]``, the sprite of each digit.
        top: int64 ``[T, B·K]``, row of the sprite's top-left corner (floored pixels).
        left: int64 ``[T, B·K]``, column of the sprite's top-left corner (floored pixels).
        angle: float64 ``[T, B·K]``, rotation about the sprite centre in degrees, positive =
            counter-clockwise on screen.
        scale: float64 ``[T, B·K]``, size factor about the sprite centre.
        brightness: float32 ``[B·K]``, intensity factor in [0, 1].
    """

    batch_size: int
    index: torch.Tensor
    top: torch.Tensor
    left: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor
    brightness: torch.Tensor


class AffineGridSampleMMNISTPP:
    """Moving MNIST++ (rotating, scaling, dimmed digits) rendered with one ``F.affine_grid`` +
    ``F.grid_sample`` per frame: the plain PyTorch implementation, a benchmark peer.

    Per digit, :meth:`draw` takes from a ``torch.Generator`` seeded with ``seed`` (on the CPU,
    in this order): a sprite index ``U{0..N-1}``; a classic Srivastava trajectory (start
    ``U[0, 1)²`` as (y, x), direction ``U[0, 2π)``, a step of ``step`` of the free range
    ``image_size - 28`` taken before every frame, clamp-and-flip at ``<= 0`` and ``>= 1``,
    positions floored to pixels), vectorised over all ``B·K`` digits with a Python loop over
    frames; a rotation rate ``U[-max_rotation, max_rotation]`` degrees per frame; a phase
    ``U[0, 2π)``; a brightness ``U[lo, hi]``. At frame ``t`` (from 0) a digit is turned by
    ``rate · t`` degrees (positive = counter-clockwise on screen) and scaled by
    ``scale_factor ** sin(2π t / scale_period + phase)``, both about the centre of its 28×28
    box, whose top-left corner is at the floored position.

    :meth:`render` then loops over frames in Python. Per frame it builds ``theta [B·K, 2, 3]``
    (:meth:`theta`), samples every digit's sprite onto a full canvas with
    ``F.affine_grid(theta, (B·K, 1, H, W), align_corners=False)`` and ``F.grid_sample(...,
    mode="bilinear", padding_mode="zeros", align_corners=False)``, takes the maximum over the
    ``K`` digits of each sequence, and rounds to uint8. Sprites are float32 in [0, 255],
    multiplied by their brightness once per call (bilinear sampling is linear, so this equals
    dimming every frame). Output: uint8 ``[B, T, 1, H, W]``, H = W = ``image_size``.

    ``device`` is where the sprites, the sampling and the output live; the draws are always
    made on the CPU and copied there.
    """

    def __init__(
        self,
        digits: np.ndarray | torch.Tensor,
        image_size: int = 64,
        num_frames: int = 20,
        num_digits: int = 3,
        step: float = 0.1,
        max_rotation: float = 30.0,
        scale_factor: float = 1.1,
        scale_period: float = 10.0,
        brightness: tuple[float, float] = (0.6, 1.0),
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        images = _digit_tensor(digits)
        if image_size < DIGIT_SIZE:
            raise ValueError(f"image_size must be at least {DIGIT_SIZE}, got {image_size}")
        if num_frames < 1 or num_digits < 1:
            raise ValueError(
                f"num_frames and num_digits must be at least 1, got {num_frames}, {num_digits}"
            )
        if not 0.0 < step <= 1.0:
            raise ValueError(f"step must be in (0, 1] (a fraction of the free range), got {step}")
        if not 0.0 <= max_rotation <= 360.0:
            raise ValueError(f"max_rotation must be in [0, 360] degrees, got {max_rotation}")
        if not (scale_factor > 0.0 and scale_period > 0.0):
            raise ValueError(
                f"scale_factor and scale_period must be positive, got {scale_factor}, "
                f"{scale_period}"
            )
        lo, hi = (float(b) for b in brightness)
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(
                f"brightness must be (lo, hi) with 0 <= lo <= hi <= 1, got {brightness}"
            )
        self.image_size = int(image_size)
        self.num_frames = int(num_frames)
        self.num_digits = int(num_digits)
        self.step = float(step)
        self.max_rotation = float(max_rotation)
        self.scale_factor = float(scale_factor)
        self.scale_period = float(scale_period)
        self.brightness = (lo, hi)
        self.digit_size = DIGIT_SIZE
        self.device = torch.device(device)
        # float32 [N, 1, 28, 28] in [0, 255], the layout grid_sample takes.
        self.sprites = images.to(self.device, torch.float32).unsqueeze(1)
        self.generator = torch.Generator().manual_seed(int(seed))

    @property
    def canvas_size(self) -> int:
        """Largest top/left offset a digit's box can take: ``image_size - 28``."""
        return self.image_size - self.digit_size

    def trajectory(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` classic bouncing trajectories; returns ``(top, left)``, int64 ``[T, n]``."""
        g = self.generator
        position = torch.rand(n, 2, generator=g, dtype=torch.float64)  # (y, x) in [0, 1)
        direction = torch.rand(n, generator=g, dtype=torch.float64) * (2 * math.pi)
        velocity = torch.stack([torch.sin(direction), torch.cos(direction)], dim=1) * self.step
        track = torch.empty(self.num_frames, n, 2, dtype=torch.float64)
        for t in range(self.num_frames):
            position += velocity
            # Clamp to the wall and flip that component, low wall first, as the original.
            low = position <= 0.0
            position = torch.where(low, 0.0, position)
            velocity = torch.where(low, -velocity, velocity)
            high = position >= 1.0
            position = torch.where(high, 1.0, position)
            velocity = torch.where(high, -velocity, velocity)
            track[t] = position
        pixels = torch.floor(track * self.canvas_size).long()
        return pixels[..., 0], pixels[..., 1]

    def draw(self, batch_size: int) -> AffineScene:
        """The random draws for ``batch_size`` sequences (see the class docstring for the order)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        g = self.generator
        n = batch_size * self.num_digits
        index = torch.randint(self.sprites.shape[0], (n,), generator=g)
        top, left = self.trajectory(n)
        rate = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * self.max_rotation
        phase = torch.rand(n, generator=g, dtype=torch.float64) * (2 * math.pi)
        lo, hi = self.brightness
        brightness = lo + (hi - lo) * torch.rand(n, generator=g)
        t = torch.arange(self.num_frames, dtype=torch.float64)[:, None]
        angle = rate * t
        scale = self.scale_factor ** torch.sin(2 * math.pi * t / self.scale_period + phase)
        return AffineScene(batch_size, index, top, left, angle, scale, brightness)

    def theta(
        self, top: torch.Tensor, left: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor
    ) -> torch.Tensor:
        """``F.affine_grid`` matrices, float32 ``[n, 2, 3]``, for ``n`` digits in one frame.

        ``theta`` maps a canvas point in normalized coordinates (``align_corners=False``: -1
        and 1 are the outer edges of the border pixels) to the point of the 28×28 sprite, in
        the sprite's normalized coordinates, that lands there when the sprite, with its box's
        top-left corner at pixel ``(top, left)``, is turned by ``angle`` degrees
        (counter-clockwise on screen, y down) and scaled by ``scale`` about its box centre.

        In pixels (centres at integers, ``c = (d - 1) / 2``, ``d = 28``): a canvas point ``p``
        comes from the sprite point ``q = c + R(-angle) (p - left/top - c) / scale``, with
        ``R(a) = [[cos a, sin a], [-sin a, cos a]]`` the on-screen counter-clockwise rotation
        of (x, y) with y pointing down.
        """
        size = self.image_size
        d = self.digit_size
        a = torch.deg2rad(angle.to(torch.float64))
        cos, sin = torch.cos(a), torch.sin(a)
        inv = 2.0 / (d * scale.to(torch.float64))  # sprite pixels → sprite normalized, / scale
        # Canvas pixel offset of the output frame's centre from the box centre.
        dx = (size - d) / 2 - left.to(torch.float64)
        dy = (size - d) / 2 - top.to(torch.float64)
        half = size / 2  # canvas normalized → canvas pixels
        theta = torch.stack(
            [
                torch.stack([cos * half, -sin * half, cos * dx - sin * dy], dim=-1),
                torch.stack([sin * half, cos * half, sin * dx + cos * dy], dim=-1),
            ],
            dim=-2,
        )
        return (theta * inv[:, None, None]).to(torch.float32)

    def render_scene(self, scene: AffineScene) -> torch.Tensor:
        """The frames of ``scene``: uint8 ``[B, T, 1, H, W]`` (a Python loop over frames)."""
        batch, k, size = scene.batch_size, self.num_digits, self.image_size
        n = batch * k
        device = self.device
        sprites = self.sprites[scene.index.to(device)]
        sprites = sprites * scene.brightness.to(device)[:, None, None, None]
        top, left = scene.top.to(device), scene.left.to(device)
        angle, scale = scene.angle.to(device), scene.scale.to(device)
        out = torch.empty(batch, self.num_frames, 1, size, size, dtype=torch.uint8, device=device)
        for t in range(self.num_frames):
            theta = self.theta(top[t], left[t], angle[t], scale[t])
            grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
            sampled = F.grid_sample(
                sprites, grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )
            frame = sampled.view(batch, k, size, size).amax(dim=1)
            out[:, t, 0] = frame.round_().clamp_(0, 255).to(torch.uint8)
        return out

    def render(self, batch_size: int) -> torch.Tensor:
        """``batch_size`` new sequences: uint8 ``[B, T, 1, H, W]``, values 0..255."""
        return self.render_scene(self.draw(batch_size))
