"""Philox4x32-10: Random123 known answers and bit equality with Triton's implementation."""

from __future__ import annotations

import pytest
import torch

from gpu_mmnist.rng import counter, philox4x32, randint4x, uniform_int


def words(*values: int) -> list[torch.Tensor]:
    return [torch.tensor([v], dtype=torch.int64) for v in values]


def as_hex(result: tuple[torch.Tensor, ...]) -> list[str]:
    return [f"{int(w):08x}" for w in result]


def test_known_answer_zero() -> None:
    result = philox4x32(*words(0, 0, 0, 0), key=0)
    assert as_hex(result) == ["6627e8d5", "e169c58d", "bc57ac4c", "9b00dbd8"]


def test_known_answer_pi() -> None:
    key = (0x299F31D0 << 32) | 0xA4093822
    result = philox4x32(*words(0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), key=key)
    assert as_hex(result) == ["d16cfe09", "94fdcceb", "5001e420", "24126ea1"]


def test_words_are_32_bit_and_vectorised() -> None:
    c = torch.arange(1000, dtype=torch.int64)
    result = philox4x32(c, c * 7, c * 13, c * 17, key=2**64 - 1)
    for word in result:
        assert word.dtype == torch.int64
        assert int(word.min()) >= 0 and int(word.max()) < 2**32
    single = philox4x32(*words(999, 999 * 7, 999 * 13, 999 * 17), key=2**64 - 1)
    assert [int(w[-1]) for w in result] == [int(w) for w in single]


def test_bad_key() -> None:
    with pytest.raises(ValueError, match="seed"):
        philox4x32(*words(0, 0, 0, 0), key=-1)
    with pytest.raises(ValueError, match="seed"):
        philox4x32(*words(0, 0, 0, 0), key=2**64)


def test_counter_layout_separates_indices_splits_streams_slots() -> None:
    idx = torch.tensor([0, 1, 2**32, -1], dtype=torch.int64)
    c0, c1, c2, c3 = counter(idx, "test", stream=3, slot=5, sub=7)
    assert c0.tolist() == [0, 1, 0, 2**32 - 1]
    assert c1.tolist() == [0, 0, 1, 2**32 - 1]
    assert int(c2) == (1 << 24) | (3 << 16) | 5
    assert int(c3) == 7
    with pytest.raises(ValueError, match="split"):
        counter(idx, "valid", 0, 0, 0)


def test_uniform_int_range_and_balance() -> None:
    zero = torch.zeros(1, dtype=torch.int64)
    w = philox4x32(torch.arange(20_000), zero, zero, zero, key=1)[0]
    draws = uniform_int(w, 10)
    assert int(draws.min()) == 0 and int(draws.max()) == 9
    counts = torch.bincount(draws, minlength=10).double()
    assert float(counts.min()) > 1800 and float(counts.max()) < 2200


def _to_int32(words: torch.Tensor) -> torch.Tensor:
    return ((words + 2**31) % 2**32 - 2**31).to(torch.int32)


def test_equals_triton_randint4x_and_philox() -> None:
    triton = pytest.importorskip("triton")
    tl = pytest.importorskip("triton.language")

    @triton.jit
    def randint4x_kernel(out_ptr, offsets_ptr, seed, n, BLOCK: tl.constexpr):
        i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        keep = i < n
        offset = tl.load(offsets_ptr + i, mask=keep)
        r0, r1, r2, r3 = tl.randint4x(seed, offset)
        tl.store(out_ptr + i * 4 + 0, r0.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 1, r1.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 2, r2.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 3, r3.to(tl.int32, bitcast=True), mask=keep)

    @triton.jit
    def philox_kernel(out_ptr, counters_ptr, seed, n, BLOCK: tl.constexpr):
        i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        keep = i < n
        c0 = tl.load(counters_ptr + i * 4 + 0, mask=keep)
        c1 = tl.load(counters_ptr + i * 4 + 1, mask=keep)
        c2 = tl.load(counters_ptr + i * 4 + 2, mask=keep)
        c3 = tl.load(counters_ptr + i * 4 + 3, mask=keep)
        r0, r1, r2, r3 = tl.philox(seed, c0, c1, c2, c3)
        tl.store(out_ptr + i * 4 + 0, r0.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 1, r1.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 2, r2.to(tl.int32, bitcast=True), mask=keep)
        tl.store(out_ptr + i * 4 + 3, r3.to(tl.int32, bitcast=True), mask=keep)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    n = 200
    gen = torch.Generator().manual_seed(0)
    offsets = torch.randint(-(2**62), 2**62, (n,), generator=gen, dtype=torch.int64)
    offsets[:4] = torch.tensor([0, 1, 2**32, 2**32 + 5])
    for seed in (0, 12345, 2**32 + 7, 2**63 + 11):
        out = torch.full((n, 4), -7, dtype=torch.int32, device=device)
        randint4x_kernel[(n // 64 + 1,)](out, offsets.to(device), seed, n, BLOCK=64)
        expected = torch.stack(randint4x(seed, offsets), dim=1)
        assert torch.equal(out.cpu(), _to_int32(expected)), f"seed {seed}"

        counters = torch.randint(0, 2**32, (n, 4), generator=gen, dtype=torch.int64)
        out = torch.full((n, 4), -7, dtype=torch.int32, device=device)
        philox_kernel[(n // 64 + 1,)](out, _to_int32(counters).to(device), seed, n, BLOCK=64)
        expected = torch.stack(philox4x32(*counters.unbind(1), key=seed), dim=1)
        assert torch.equal(out.cpu(), _to_int32(expected)), f"seed {seed}"
