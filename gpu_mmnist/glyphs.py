"""Built-in procedural digit sprites 0-9: the offline stand-in for MNIST.

When the MNIST files are not available, :func:`glyph_sprites` draws handwriting-like digits from
a small table of stroke skeletons written in this module (``_DESIGNS``), so the renderer works
with no download at all.

Conventions (the same as MNIST's, so the two are interchangeable):

* images are ``uint8`` ``[count, size, size]``, background 0, full ink 255; labels are ``int64``;
  everything is returned on the CPU;
* pixel ``(row, col)`` has its centre at ``y = row``, ``x = col``;
* each glyph is size-normalised so that its ink (every non-zero pixel, anti-aliased edge
  included) fits in a ``20 × 20`` box for ``size = 28`` (``20 * size / 28`` in general),
  aspect ratio preserved, and is then placed so that its intensity-weighted centre of mass sits
  at ``(size / 2, size / 2)`` (``(14, 14)`` for 28, as in MNIST) to within about half a pixel
  (an integer shift, as in MNIST); the outermost row and column on every side are always blank.

How a glyph is made:

1. its class ``i % 10`` picks one of the class's skeleton variants (uniformly); a skeleton is a
   few strokes, each a chain of line and cubic Bézier pieces (elliptic arcs are converted to
   cubics) in a unit box, ``x`` to the right and ``y`` down;
2. every distinct control point gets a small Gaussian jitter (shared points stay shared, so
   joints stay joined), then the skeleton gets a random aspect change, slant (shear) and small
   rotation; the curves are sampled to polylines;
3. the polyline is scaled to the box (minus the stroke's half-thickness and soft edge) and its
   length-weighted centroid is moved to the image centre (sub-pixel, analytic); a lopsided glyph
   whose ink would then reach the outer pixels (a wide 7) is shrunk about that centroid;
4. it is rasterised with anti-aliasing in a window just big enough for the ink (21 × 21 at
   size 28): for every pixel the distance ``d`` to the nearest segment (vectorised with torch
   over pixels × segments × glyphs, glyphs grouped by skeleton variant) gives
   ``255 * clamp((half_thickness - d) / softness + 0.5, 0, 1)``, softness ``max(1, size / 28)``;
5. the window is pasted into the image with an integer shift that moves the measured centre of
   mass to the pixel nearest the image centre (as MNIST did), never pushing ink onto the border.

Determinism: the random draws are made in blocks of ``_CHUNK`` glyphs, each block from its own
``torch.Generator`` seeded from ``(seed, block index)``; the global RNG is never used.  The same
``(count, seed, size)`` therefore always gives the same bytes, and glyph ``i`` does not depend on
``count``: ``glyph_sprites(n, s)[0][:m]`` equals ``glyph_sprites(m, s)[0]`` for ``m <= n``
(the per-glyph arithmetic does not depend on how glyphs are batched; the tests check this).
Labels are simply ``i % 10``, so every class appears ``count // 10`` or ``count // 10 + 1``
times.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import torch

__all__ = ["glyph_sprites"]

# Stroke skeletons, one tuple of variants per digit; a variant is a tuple of strokes.  A stroke is
# a path in the unit box (x right, y down) written with these commands:
#   M x y                       start a stroke at (x, y)
#   L x y                       straight line to (x, y)
#   C x1 y1 x2 y2 x y           cubic Bézier to (x, y) with handles (x1, y1), (x2, y2)
#   A cx cy rx ry a0 a1         elliptic arc, centre (cx, cy), radii (rx, ry), from angle a0 to a1
#                               in degrees (0 = right, 90 = down); a line joins it to the current
#                               point when there is one, and it can open a stroke on its own.
_DESIGNS: dict[int, tuple[tuple[str, ...], ...]] = {
    0: (
        ("A 0.5 0.5 0.50 0.5 -100 272",),
        ("A 0.5 0.5 0.55 0.5 -80 290",),
    ),
    1: (
        ("M 0.5 0 L 0.5 1",),
        ("M 0.5 0 L 0.5 1",),
        ("M 0.34 0.16 L 0.5 0 L 0.5 1",),
    ),
    2: (
        ("A 0.5 0.28 0.42 0.28 195 375 L 0.04 1 L 0.96 0.98",),
        ("A 0.5 0.28 0.42 0.28 195 370 C 0.82 0.6 0.35 0.8 0.04 1 L 0.96 0.98",),
        (
            "A 0.5 0.28 0.42 0.28 195 370 C 0.8 0.6 0.35 0.8 0.1 0.98 C 0.0 0.9 0.2 0.8 0.35 0.95 "
            "L 0.96 1",
        ),
    ),
    3: (
        ("A 0.5 0.25 0.40 0.25 200 450 A 0.5 0.75 0.44 0.25 270 520",),
        ("M 0.08 0 L 0.88 0 L 0.42 0.42 A 0.5 0.71 0.44 0.29 -80 160",),
    ),
    4: (
        ("M 0.68 1 L 0.68 0 L 0 0.68 L 1 0.68",),
        ("M 0.14 0 L 0.06 0.6 L 0.98 0.6", "M 0.72 0.04 L 0.72 1"),
        ("M 0.1 0 L 0.1 0.55 L 0.98 0.55", "M 0.8 0 L 0.7 1"),
        ("M 0.2 0 L 0.06 0.62 L 0.98 0.6", "M 0.76 0.1 L 0.72 1"),
    ),
    5: (
        ("M 0.9 0 L 0.24 0 L 0.2 0.45 A 0.5 0.7 0.44 0.30 235 520",),
        ("M 0.22 0 L 0.18 0.45 A 0.48 0.7 0.42 0.30 235 520", "M 0.22 0 L 0.9 0.02"),
    ),
    6: (
        ("M 0.72 0 C 0.4 0.16 0.14 0.45 0.12 0.76 A 0.5 0.76 0.38 0.24 180 -165",),
        ("M 0.62 0 C 0.35 0.25 0.12 0.5 0.12 0.78 A 0.5 0.78 0.38 0.22 180 -175",),
    ),
    7: (
        ("M 0.05 0 L 0.95 0 L 0.42 1",),
        ("M 0.05 0 L 0.95 0 L 0.42 1", "M 0.35 0.5 L 0.9 0.5"),
        ("M 0.05 0.18 L 0.05 0 L 0.95 0 L 0.38 1",),
    ),
    8: (
        ("A 0.5 0.24 0.32 0.24 90 450", "A 0.5 0.735 0.40 0.265 -90 270"),
        (
            "M 0.78 0.1 C 0.6 -0.1 0.1 0.0 0.25 0.3 C 0.35 0.48 0.95 0.55 0.85 0.85 "
            "C 0.75 1.08 0.15 1.05 0.15 0.8 C 0.15 0.6 0.7 0.45 0.75 0.25 L 0.78 0.1",
        ),
    ),
    9: (
        ("A 0.5 0.23 0.42 0.23 0 360 C 0.92 0.5 0.88 0.78 0.82 1",),
        ("A 0.5 0.23 0.42 0.23 -10 350", "M 0.9 0.16 L 0.86 1"),
    ),
}

_CHUNK = 256  # glyphs per block of random draws (fixes the stream, so keep it constant)
_JITTER = 0.04  # std of the control-point jitter, in unit-box units
_SLANT = (-0.15, 0.5)  # shear range: x += slant * (0.5 - y); positive leans right
_ASPECT = (0.6, 1.05)  # width is multiplied by exp(U(log lo, log hi))
_ROTATE_DEG = 10.0  # rotation range, ± degrees
_HALF_THICK = (0.8, 1.8)  # half stroke thickness in pixels at size 28
_BOX = 20.0  # ink box at size 28
_SEG_LEN = 0.18  # target polyline segment length for Bézier pieces, unit-box units
_TARGET_ELEMS = 1 << 20  # pixels × segments × glyphs per rasterisation batch


class _Design:
    """One skeleton variant compiled for batched use: vertices = weights @ control points."""

    def __init__(self, strokes: tuple[str, ...]) -> None:
        points: list[tuple[float, float]] = []
        index: dict[tuple[float, float], int] = {}

        def pid(p: tuple[float, float]) -> int:
            key = (round(p[0], 6), round(p[1], 6))
            if key not in index:
                index[key] = len(points)
                points.append(key)
            return index[key]

        rows: list[dict[int, float]] = []  # each vertex as weights over control points
        seg_a: list[int] = []
        seg_b: list[int] = []
        for stroke in strokes:
            start = len(rows)
            for kind, pts in _parse(stroke):
                ids = [pid(p) for p in pts]
                if not rows[start:]:
                    rows.append({ids[0]: 1.0})
                if kind == "L":
                    rows.append({ids[1]: 1.0})
                    continue
                ctrl_len = sum(math.dist(pts[k], pts[k + 1]) for k in range(3))
                n = max(2, min(8, math.ceil(ctrl_len / _SEG_LEN)))
                for k in range(1, n + 1):
                    t = k / n
                    w = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3)
                    row: dict[int, float] = {}
                    for i, wi in zip(ids, w, strict=True):
                        row[i] = row.get(i, 0.0) + wi
                    rows.append(row)
            seg_a.extend(range(start, len(rows) - 1))
            seg_b.extend(range(start + 1, len(rows)))
        self.points = torch.tensor(points, dtype=torch.float64)  # [U, 2]
        self.weights = torch.zeros(len(rows), len(points), dtype=torch.float64)  # [V, U]
        for r, row in enumerate(rows):
            for i, wi in row.items():
                self.weights[r, i] = wi
        self.seg_a = torch.tensor(seg_a)
        self.seg_b = torch.tensor(seg_b)


def _parse(path: str) -> list[tuple[str, list[tuple[float, float]]]]:
    """Parses one stroke path into ('L', [p0, p1]) and ('C', [p0, c1, c2, p1]) pieces."""
    tok = path.split()
    pieces: list[tuple[str, list[tuple[float, float]]]] = []
    cur: tuple[float, float] | None = None
    i = 0
    while i < len(tok):
        cmd = tok[i]
        args = [float(v) for v in tok[i + 1 : i + 1 + {"M": 2, "L": 2, "C": 6, "A": 6}[cmd]]]
        i += 1 + len(args)
        if cmd == "M":
            cur = (args[0], args[1])
        elif cmd == "L":
            assert cur is not None, path
            pieces.append(("L", [cur, (args[0], args[1])]))
            cur = (args[0], args[1])
        elif cmd == "C":
            assert cur is not None, path
            c1, c2, end = (args[0], args[1]), (args[2], args[3]), (args[4], args[5])
            pieces.append(("C", [cur, c1, c2, end]))
            cur = end
        else:  # "A": split into pieces of at most 90 degrees, each one cubic
            cx, cy, rx, ry, a0, a1 = args
            n = max(1, math.ceil(abs(a1 - a0) / 90.0 - 1e-9))
            step = math.radians(a1 - a0) / n
            k = 4.0 / 3.0 * math.tan(step / 4.0)
            for j in range(n):
                t0 = math.radians(a0) + j * step
                t1 = t0 + step
                p0 = (cx + rx * math.cos(t0), cy + ry * math.sin(t0))
                p1 = (cx + rx * math.cos(t1), cy + ry * math.sin(t1))
                c1 = (p0[0] - k * rx * math.sin(t0), p0[1] + k * ry * math.cos(t0))
                c2 = (p1[0] + k * rx * math.sin(t1), p1[1] - k * ry * math.cos(t1))
                if cur is not None and math.dist(cur, p0) > 1e-9:
                    pieces.append(("L", [cur, p0]))
                pieces.append(("C", [p0, c1, c2, p1]))
                cur = p1
    return pieces


@lru_cache(maxsize=1)
def _compiled() -> tuple[list[_Design], torch.Tensor, torch.Tensor]:
    """All variants compiled once: (designs, first design index per class, variants per class)."""
    designs: list[_Design] = []
    first, nvar = [], []
    for digit in range(10):
        first.append(len(designs))
        nvar.append(len(_DESIGNS[digit]))
        designs.extend(_Design(v) for v in _DESIGNS[digit])
    return designs, torch.tensor(first), torch.tensor(nvar)


def _chunk_seed(seed: int, chunk: int) -> int:
    """Mixes (seed, chunk index) into a 63-bit generator seed (SplitMix64 finaliser)."""
    mask = (1 << 64) - 1
    x = (seed & mask) ^ (((chunk + 1) * 0x9E3779B97F4A7C15) & mask)
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return (x ^ (x >> 31)) >> 1


def _check_int(name: str, value: object, low: int | None = None) -> int:
    """Validates an integer argument (``bool`` is refused); ``low`` is its inclusive minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {name}={value}")
    return int(value)


def _draw(seed: int, count: int, max_points: int) -> dict[str, torch.Tensor]:
    """Random parameters for glyphs 0..count-1, drawn block by block (count-independent)."""
    parts: dict[str, list[torch.Tensor]] = {}
    for c in range(-(-count // _CHUNK)):
        g = torch.Generator().manual_seed(_chunk_seed(seed, c))
        draws = {
            "variant": torch.rand(_CHUNK, generator=g, dtype=torch.float64),
            "half": torch.rand(_CHUNK, generator=g, dtype=torch.float64),
            "slant": torch.rand(_CHUNK, generator=g, dtype=torch.float64),
            "aspect": torch.rand(_CHUNK, generator=g, dtype=torch.float64),
            "rotate": torch.rand(_CHUNK, generator=g, dtype=torch.float64),
            "jitter": torch.randn(_CHUNK, max_points, 2, generator=g, dtype=torch.float64),
        }
        for k, v in draws.items():
            parts.setdefault(k, []).append(v)
    return {k: torch.cat(v)[:count] for k, v in parts.items()}


def _softness(size: int) -> float:
    """Width of the anti-aliased edge ramp, in pixels."""
    return max(1.0, size / 28.0)


def _half_thickness(u: torch.Tensor, size: int) -> torch.Tensor:
    """Half stroke thickness in pixels from uniform draws ``u`` in [0, 1)."""
    return (_HALF_THICK[0] + (_HALF_THICK[1] - _HALF_THICK[0]) * u) * (size / 28.0)


def _place(
    design: _Design, p: dict[str, torch.Tensor], half: torch.Tensor, size: int
) -> torch.Tensor:
    """Jittered, transformed, normalised and centred polyline vertices in pixels, [B, V, 2]."""
    n_pts = design.points.shape[0]
    ctrl = design.points - 0.5 + _JITTER * p["jitter"][:, :n_pts]  # [B, U, 2], centred box
    slant = _SLANT[0] + (_SLANT[1] - _SLANT[0]) * p["slant"]
    lo_a, hi_a = math.log(_ASPECT[0]), math.log(_ASPECT[1])
    aspect = torch.exp(lo_a + (hi_a - lo_a) * p["aspect"])
    angle = math.radians(_ROTATE_DEG) * (2 * p["rotate"] - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # rows of M: x' = (x * aspect - slant * y) rotated; y' likewise; M = R @ Shear @ Aspect
    m = torch.stack(
        [
            torch.stack([cos * aspect, -cos * slant - sin], -1),
            torch.stack([sin * aspect, -sin * slant + cos], -1),
        ],
        -2,
    )  # [B, 2, 2]
    ctrl = ctrl @ m.transpose(1, 2)
    verts = design.weights @ ctrl  # [B, V, 2]

    soft = _softness(size)
    extent = (verts.amax(1) - verts.amin(1)).amax(1).clamp_min(1e-6)  # [B]
    k = (_BOX * size / 28.0 - 2 * half - soft) / extent
    verts = verts * k[:, None, None]

    a, b = verts[:, design.seg_a], verts[:, design.seg_b]
    length = (b - a).norm(dim=-1) + 1e-9  # [B, S]
    centroid = ((a + b) * 0.5 * length[..., None]).sum(1) / length.sum(1)[:, None]
    verts = verts - centroid[:, None]
    # Keep the ink (reach = half + soft / 2 beyond the skeleton) clear of the outer pixels: a
    # lopsided glyph (a 7 with a long bar) would poke out, so shrink it about its centroid.
    reach = (half + soft / 2)[:, None]
    c = size / 2.0
    room_lo = (c - 0.25 - reach) / (-verts.amin(1)).clamp_min(1e-6)
    room_hi = (size - 1.25 - c - reach) / verts.amax(1).clamp_min(1e-6)
    fit = torch.minimum(room_lo, room_hi).amin(1).clamp(max=1.0)
    verts = verts * fit[:, None, None] + c
    # safety net (should not move anything after the shrink above)
    lo = 0.25 - (verts.amin(1) - reach)
    hi = (size - 1.25) - (verts.amax(1) + reach)
    verts = verts + torch.maximum(torch.minimum(torch.zeros_like(lo), hi), lo)[:, None]
    return verts


def _raster(
    verts: torch.Tensor, design: _Design, half: torch.Tensor, soft: float, win: int
) -> torch.Tensor:
    """Anti-aliased float32 intensities in [0, 1] of a ``win × win`` window, [B, win, win].

    ``verts`` are in window pixel coordinates; ``half`` (the half thickness) and ``soft`` (the
    width of the edge ramp) are in pixels.
    """
    v = verts.to(torch.float32)
    a, e = v[:, design.seg_a], v[:, design.seg_b]  # [B, S, 2]
    d = e - a
    len2 = (d * d).sum(-1).clamp_min(1e-8)  # [B, S]
    ad = (a * d).sum(-1)
    # t (unclamped projection) = [x, y, 1] @ [dx, dy, -a.d] / |d|^2
    t_rhs = torch.stack([d[..., 0], d[..., 1], -ad], 1) / len2[:, None]  # [B, 3, S]
    # |p - a|^2 = [x, y, 1, x^2 + y^2] @ [-2ax, -2ay, |a|^2, 1]
    a2 = (a * a).sum(-1)
    q_rhs = torch.stack([-2 * a[..., 0], -2 * a[..., 1], a2, torch.ones_like(a2)], 1)
    pix = _pixels(win)  # [N, 4]
    t = torch.matmul(pix[:, :3], t_rhs)  # [B, N, S]
    q = torch.matmul(pix, q_rhs)
    tc = t.clamp(0.0, 1.0)
    # |p - a - tc d|^2 = |p - a|^2 - |d|^2 tc (2 t - tc)
    t.mul_(2.0).sub_(tc).mul_(tc).mul_(len2[:, None, :])
    dist = q.sub_(t).amin(-1).clamp_min_(0.0).sqrt_()  # [B, N]
    h = half.to(torch.float32)[:, None]
    return ((h - dist) / soft + 0.5).clamp_(0.0, 1.0).view(-1, win, win)


@lru_cache(maxsize=8)
def _pixels(size: int) -> torch.Tensor:
    """Pixel-centre features [x, y, 1, x^2 + y^2] in row-major order, [size * size, 4]."""
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing="ij",
    )
    x, y = xs.reshape(-1), ys.reshape(-1)
    return torch.stack([x, y, torch.ones_like(x), x * x + y * y], 1)


def _window(size: int) -> int:
    """Side of the square window that always holds a glyph's ink."""
    return min(size, math.ceil(_BOX * size / 28.0) + 1)


def _origin(verts: torch.Tensor, half: torch.Tensor, size: int) -> torch.Tensor:
    """Integer (x, y) of each glyph's window corner in the image, [B, 2]."""
    reach = (half + _softness(size) / 2)[:, None]
    # ink only lights pixel centres strictly beyond min(vertex) - reach
    first = torch.floor(verts.amin(1) - reach) + 1
    return first.clamp(0, size - _window(size)).long()


def _paste(ink: torch.Tensor, origin: torch.Tensor, size: int) -> torch.Tensor:
    """Places windows into uint8 images, integer-shifted so the centre of mass is nearest
    ``size / 2`` without letting ink reach the outermost pixels, [B, size, size]."""
    b, w = ink.shape[0], ink.shape[-1]
    r = torch.arange(w, dtype=torch.float32)
    mass = ink.sum((1, 2)).clamp_min(1e-6)
    com = torch.stack([(ink.sum(1) * r).sum(1), (ink.sum(2) * r).sum(1)], 1) / mass[:, None]
    occupied = torch.stack([ink.amax(1) > 0, ink.amax(2) > 0], 1)  # [B, 2 (x, y), w]
    first = torch.where(occupied, r, float(w)).amin(2) + origin
    last = torch.where(occupied, r, -1.0).amax(2) + origin
    shift = torch.round(size / 2.0 - (com + origin))
    shift = torch.minimum(torch.maximum(shift, 1 - first), size - 2 - last).long()
    corner = origin + shift + w  # in a canvas padded by w on every side
    idx = torch.arange(w)
    rows = (corner[:, 1, None] + idx)[:, :, None]
    cols = (corner[:, 0, None] + idx)[:, None, :]
    canvas = torch.zeros(b, size + 2 * w, size + 2 * w, dtype=torch.uint8)
    canvas[torch.arange(b)[:, None, None], rows, cols] = (ink * 255.0).round_().to(torch.uint8)
    return canvas[:, w : w + size, w : w + size]


def glyph_sprites(
    count: int = 10_000, seed: int = 0, size: int = 28
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (images uint8 [count, size, size], labels int64 [count]) on the CPU.

    Label of glyph ``i`` is ``i % 10``; glyph ``i`` depends only on ``(i, seed, size)``.
    ``count >= 1``, ``size >= 8``, any int ``seed``.
    """
    count = _check_int("count", count, 1)
    seed = _check_int("seed", seed)
    size = _check_int("size", size, 8)

    designs, first, nvar = _compiled()
    max_points = max(d.points.shape[0] for d in designs)
    params = _draw(seed, count, max_points)
    labels = torch.arange(count, dtype=torch.int64) % 10
    variant = (params["variant"] * nvar[labels]).long().clamp_max(nvar[labels] - 1)
    which = first[labels] + variant

    images = torch.empty(count, size, size, dtype=torch.uint8)
    win = _window(size)
    soft = _softness(size)
    n_pix = win * win
    for d_id, design in enumerate(designs):
        sel = (which == d_id).nonzero().squeeze(1)
        if sel.numel() == 0:
            continue
        batch = max(1, _TARGET_ELEMS // (n_pix * design.seg_a.numel()))
        for s in range(0, sel.numel(), batch):
            idx = sel[s : s + batch]
            p = {k: v[idx] for k, v in params.items()}
            half = _half_thickness(p["half"], size)
            verts = _place(design, p, half, size)
            origin = _origin(verts, half, size)
            ink = _raster(verts - origin[:, None].to(verts.dtype), design, half, soft, win)
            images[idx] = _paste(ink, origin, size)
    return images, labels
