"""The rendered batch: frames and their annotations, as plain tensors.

Convention: ``B`` sequences, ``T`` frames, ``K`` digit slots, ``H × W`` canvas. Boxes are
``[x_min, y_min, x_max, y_max]`` inclusive pixel bounds (x = column, y = row) of the digit's own
rendered pixels (value > 0), clipped to the canvas; ``[-1, -1, -1, -1]`` with ``visible == False``
where the digit has no pixel in the frame. Instance masks: 0 = background, ``k + 1`` = slot ``k``
owns the pixel; semantic masks: 0 = background, ``1 + class``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Batch:
    """Attributes:
    frames: uint8 ``[B, T, 1, H, W]``.
    labels: int64 ``[B, K]`` class of each slot (-1 for an unused slot).
    sprite_ids: int64 ``[B, K]`` row of the sprite bank drawn in each slot.
    positions: float32 ``[B, T, K, 2]`` sprite top-left ``(x, y)`` in pixels, as drawn.
    indices: int64 ``[B]`` sequence indices.
    boxes: int32 ``[B, T, K, 4]`` or None when not requested.
    visible: bool ``[B, T, K]`` or None when boxes were not requested.
    instance_masks: uint8 ``[B, T, H, W]`` or None when masks were not requested.
    semantic_masks: uint8 ``[B, T, H, W]`` or None when masks were not requested.
    """

    frames: torch.Tensor
    labels: torch.Tensor
    sprite_ids: torch.Tensor
    positions: torch.Tensor
    indices: torch.Tensor
    boxes: torch.Tensor | None = None
    visible: torch.Tensor | None = None
    instance_masks: torch.Tensor | None = None
    semantic_masks: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]

    def seed_boxes(self) -> torch.Tensor:
        """int64 ``[B, T, K, 5]`` rows ``[class_id, x_min, y_min, x_max, y_max]`` (the format of
        the annotated Moving MNIST seed scripts); invisible digits keep class and ``-1`` bounds."""
        if self.boxes is None:
            raise ValueError("this batch has no boxes; render it with boxes=True")
        classes = self.labels[:, None, :, None].expand(-1, self.boxes.shape[1], -1, 1)
        return torch.cat([classes, self.boxes.to(torch.int64)], dim=-1)
