"""Counter-based random numbers: Philox4x32-10 in torch integer ops, on any device.

Convention: 32-bit words are held in ``int64`` tensors with values in ``[0, 2**32)`` (torch has no
full-featured ``uint32``). The key is the 64-bit seed, low word first (``k0 = seed & 0xffffffff``,
``k1 = seed >> 32``), and the result equals ``triton.language.philox(seed, c0, c1, c2, c3)`` bit for
bit; ``randint4x(seed, offset)`` uses the counter ``(offset_lo, offset_hi, 0, 0)`` like Triton's.
Multiplications are split into 16-bit limbs so no intermediate overflows ``int64``.

Counters used by the project (see :func:`counter`): ``c0, c1`` = the sequence index (low, high
word), ``c2`` = ``split << 24 | stream << 16 | slot``, ``c3`` = a sub-counter (frame, pixel
block) of the stream. Nothing depends on a program id, worker id or batch position.
"""

from __future__ import annotations

import torch

MASK32 = 0xFFFFFFFF
PHILOX_M0 = 0xD2511F53  # multiplies c0
PHILOX_M1 = 0xCD9E8D57  # multiplies c2
PHILOX_W0 = 0x9E3779B9  # key bump of k0 (golden ratio)
PHILOX_W1 = 0xBB67AE85  # key bump of k1 (sqrt(3) - 1)
PHILOX_ROUNDS = 10

SPLIT_CODES = {"train": 0, "test": 1}


def _mulhilo(multiplier: int, word: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit halves of ``multiplier * word`` (both < 2**32), overflow-free."""
    low_limb = multiplier * (word & 0xFFFF)  # < 2**48
    high_limb = multiplier * (word >> 16)  # < 2**48
    carry = high_limb + (low_limb >> 16)  # < 2**49; product = carry * 2**16 + (low_limb & 0xFFFF)
    hi = carry >> 16
    lo = ((carry & 0xFFFF) << 16) | (low_limb & 0xFFFF)
    return hi, lo


def philox4x32(
    c0: torch.Tensor,
    c1: torch.Tensor,
    c2: torch.Tensor,
    c3: torch.Tensor,
    key: int,
    rounds: int = PHILOX_ROUNDS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Philox4x32 of the counter ``(c0, c1, c2, c3)`` (int64 words, broadcastable) under ``key``.

    ``key`` is the 64-bit seed, ``0 <= key < 2**64``. Returns four int64 tensors of words in
    ``[0, 2**32)`` on the counters' device.
    """
    if not 0 <= key < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {key}")
    k0, k1 = key & MASK32, key >> 32
    c0, c1, c2, c3 = (c & MASK32 for c in torch.broadcast_tensors(c0, c1, c2, c3))
    for _ in range(rounds):
        hi0, lo0 = _mulhilo(PHILOX_M0, c0)
        hi1, lo1 = _mulhilo(PHILOX_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def randint4x(
    seed: int, offset: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same four words as ``triton.language.randint4x(seed, offset)`` for an int64 offset."""
    offset = offset.to(torch.int64)
    zero = torch.zeros_like(offset)
    return philox4x32(offset & MASK32, (offset >> 32) & MASK32, zero, zero, seed)


def counter(
    indices: torch.Tensor,
    split: str,
    stream: int,
    slot: torch.Tensor | int,
    sub: torch.Tensor | int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Philox counter of one draw: (sequence index, split, stream, slot, sub-counter).

    ``indices`` is any int64 tensor (negative values and values above 2**32 are distinct
    counters); ``0 <= stream < 256``, ``0 <= slot < 65536``, ``0 <= sub < 2**32``.
    """
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    indices = indices.to(torch.int64)
    c2 = (SPLIT_CODES[split] << 24) | (stream << 16) | torch.as_tensor(slot, device=indices.device)
    return (
        indices & MASK32,
        (indices >> 32) & MASK32,
        c2.to(torch.int64),
        torch.as_tensor(sub, dtype=torch.int64, device=indices.device),
    )


def uniform_int(word: torch.Tensor, n: int | torch.Tensor) -> torch.Tensor:
    """Map 32-bit words to integers in ``[0, n)`` by ``(word * n) >> 32`` (needs ``n < 2**31``)."""
    return (word * n) >> 32
