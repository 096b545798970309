"""The rendered batch: frames and their annotations, as plain tensors.

Convention: ``B`` sequences, ``T`` frames, ``K`` digit slots, ``H × W`` canvas. Boxes are
``[x_min, y_min, x_max, y_max]`` inclusive pixel bounds (x = column, y = row) of the digit's own
rendered pixels (value > 0), clipped to the canvas; ``[-1, -1, -1, -1]`` with ``visible == False``
where the digit has no pixel in the frame. Instance masks: 0 = background, ``k + 1`` = slot ``k``
owns the pixel; semantic masks: 0 = background, ``1 + class``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

# Per-sequence annotation fields, in the order ``Batch.sequence`` lists them.
SEQUENCE_FIELDS = (
    "labels",
    "sprite_ids",
    "positions",
    "boxes",
    "visible",
    "visible_boxes",
    "instance_masks",
    "semantic_masks",
)


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
    visible_boxes: int32 ``[B, T, K, 4]`` modal boxes of the pixels each digit owns in the
        instance mask (hidden parts left out; ``-1`` rows for fully hidden digits), for
        ``over`` compositing with boxes on; None otherwise (``boxes`` are always amodal).
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
    visible_boxes: torch.Tensor | None = None
    instance_masks: torch.Tensor | None = None
    semantic_masks: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]

    def to_dict(self) -> dict[str, torch.Tensor]:
        """The tensors by field name, leaving out annotations that were not rendered."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not None
        }

    def _map(self, function: Any) -> Batch:
        return dataclasses.replace(
            self, **{name: function(value) for name, value in self.to_dict().items()}
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """The same batch with every tensor on ``device``."""
        return self._map(lambda value: value.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        """Page-locked copies, so ``DataLoader(pin_memory=True)`` can pin a Batch."""
        return self._map(torch.Tensor.pin_memory)

    def float_frames(self) -> torch.Tensor:
        """Frames as float32 ``[B, T, 1, H, W]`` in ``[0, 1]`` (``uint8 / 255``)."""
        return self.frames.to(torch.float32).div_(255)

    def split_frames(
        self, num_input: int, *, as_float: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input, target)``: frames ``[0, num_input)`` and ``[num_input, T)``, time in order
        (10 + 10 for the classic 20 frames, as OpenSTL and tychovdo's loaders return them)."""
        num_frames = self.frames.shape[1]
        if isinstance(num_input, bool) or not isinstance(num_input, int):
            raise TypeError(f"num_input must be an int, got {type(num_input).__name__}")
        if not 1 <= num_input < num_frames:
            raise ValueError(f"num_input must be in [1, {num_frames - 1}], got {num_input}")
        frames = self.float_frames() if as_float else self.frames
        return frames[:, :num_input], frames[:, num_input:]

    def seed_boxes(self) -> torch.Tensor:
        """int64 ``[B, T, K, 5]`` rows ``[class_id, x_min, y_min, x_max, y_max]`` (the format of
        the annotated Moving MNIST seed scripts); invisible digits keep class and ``-1`` bounds."""
        if self.boxes is None:
            raise ValueError("this batch has no boxes; render it with boxes=True")
        return seed_format(self.labels, self.boxes)

    def sequence(self, i: int) -> dict[str, torch.Tensor]:
        """Sequence ``i``'s annotations (views): ``labels [K]``, ``sprite_ids [K]``,
        ``positions [T, K, 2]``, ``boxes [T, K, 4]``, ``visible [T, K]``, ``instance_masks`` and
        ``semantic_masks [T, H, W]`` (those rendered) and ``index`` (0-d)."""
        target = {
            name: getattr(self, name)[i]
            for name in SEQUENCE_FIELDS
            if getattr(self, name) is not None
        }
        target["index"] = self.indices[i]
        return target

    def detection_target(self, i: int, t: int) -> dict[str, Any]:
        """Frame ``t`` of sequence ``i`` as a torchvision detection target: ``boxes`` a
        ``tv_tensors.BoundingBoxes`` (XYXY with exclusive max, as torchvision expects) and
        ``labels`` int64, for the visible digits only. Needs torchvision."""
        try:
            from torchvision import tv_tensors
        except ImportError as error:
            raise ImportError(
                "detection_target needs torchvision: pip install torchvision"
            ) from error
        if self.boxes is None:
            raise ValueError("this batch has no boxes; render it with boxes=True")
        visible = self.visible[i, t]
        boxes = self.boxes[i, t][visible].to(torch.float32)
        boxes[:, 2:] += 1  # inclusive → exclusive max
        height, width = self.frames.shape[-2:]
        return {
            "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(height, width)),
            "labels": self.labels[i][visible],
        }


def seed_format(labels: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Rows ``[class_id, x_min, y_min, x_max, y_max]`` int64 ``[..., T, K, 5]`` from labels
    ``[..., K]`` and boxes ``[..., T, K, 4]`` (one sequence or a batch)."""
    classes = labels.unsqueeze(-2).unsqueeze(-1).expand(*boxes.shape[:-1], 1)
    return torch.cat([classes, boxes.to(torch.int64)], dim=-1)
