"""An independent, deliberately naive classic renderer: float64 trajectories (OpenSTL's loop) and
per-digit NumPy pasting. Slow; for small shapes in tests only."""

from __future__ import annotations

import numpy as np

from gpu_mmnist import SceneConfig, SceneParams, SpriteBank
from gpu_mmnist.sampler import ONE


def classic_offsets(params: SceneParams, num_frames: int, extent: tuple[int, int]) -> np.ndarray:
    """int64 [B, T, K, 2] pixel offsets from OpenSTL's per-frame loop in float64.

    Fixed-point positions are dyadic rationals, exact in float64, so this equals the renderer's
    integer arithmetic exactly.
    """
    start = params.start.cpu().numpy() / ONE
    velocity = params.velocity.cpu().numpy() / ONE
    num_seq, num_slots = start.shape[:2]
    out = np.zeros((num_seq, num_frames, num_slots, 2), dtype=np.int64)
    for b in range(num_seq):
        for k in range(num_slots):
            for axis in range(2):
                p, v = start[b, k, axis], velocity[b, k, axis]
                for t in range(num_frames):
                    p += v
                    if p <= 0:
                        p, v = 0.0, -v
                    if p >= 1.0:
                        p, v = 1.0, -v
                    out[b, t, k, axis] = int(np.floor(extent[axis] * p))
    return out


def render_naive(config: SceneConfig, params: SceneParams, sprites: SpriteBank) -> dict:
    height, width = config.canvas
    h, w = sprites.height, sprites.width
    offsets = classic_offsets(params, config.num_frames, (width - w, height - h))
    images = sprites.images.cpu().numpy()
    ids = params.sprite_ids.cpu().numpy()
    labels = params.labels.cpu().numpy()
    num_seq, num_frames, num_slots = offsets.shape[:3]
    frames = np.zeros((num_seq, num_frames, height, width), dtype=np.uint8)
    owner = np.zeros_like(frames)
    boxes = np.full((num_seq, num_frames, num_slots, 4), -1, dtype=np.int32)
    for b in range(num_seq):
        for t in range(num_frames):
            for k in range(num_slots):
                x0, y0 = offsets[b, t, k]
                layer = np.zeros((height, width), dtype=np.uint8)
                layer[y0 : y0 + h, x0 : x0 + w] = images[ids[b, k]]
                wins = layer > frames[b, t]
                frames[b, t][wins] = layer[wins]
                owner[b, t][wins] = k + 1
                ys, xs = np.nonzero(layer)
                if len(xs):
                    boxes[b, t, k] = [xs.min(), ys.min(), xs.max(), ys.max()]
    classes = np.concatenate([np.zeros((num_seq, 1), np.int64), labels + 1], axis=1)
    semantic = np.take_along_axis(classes, owner.reshape(num_seq, -1).astype(np.int64), axis=1)
    return {
        "frames": frames[:, :, None],
        "instance_masks": owner,
        "semantic_masks": semantic.reshape(owner.shape).astype(np.uint8),
        "boxes": boxes,
        "visible": boxes[..., 0] >= 0,
        "positions": offsets.astype(np.float32),
    }
