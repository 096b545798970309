"""MovingMNIST (map-style) and MovingMNISTStream (iterable): determinism, DataLoader behaviour,
sharding over workers and ranks, resuming."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from gpu_mmnist import MovingMNIST, MovingMNISTStream, SceneConfig, SpriteBank, datasets, render
from gpu_mmnist.batch import seed_format

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def bank() -> SpriteBank:
    return SpriteBank.glyphs(count=100)


def test_items_equal_render_and_are_stable(bank: SpriteBank) -> None:
    ds = MovingMNIST(num_sequences=50, digits=bank, seed=3)
    assert len(ds) == 50
    reference = render(SceneConfig.preset("classic"), bank, range(50), seed=3)
    for i in (0, 17, 49):
        item = ds[i]
        assert item.dtype == torch.uint8 and item.shape == (20, 1, 64, 64)
        assert torch.equal(item, reference.frames[i])
        assert torch.equal(ds[i], item)
    assert torch.equal(ds[-1], ds[49]) and torch.equal(ds[-50], ds[0])


@pytest.mark.parametrize(
    ("index", "error"), [(50, IndexError), (-51, IndexError), ("3", TypeError)]
)
def test_bad_indices(bank: SpriteBank, index: object, error: type) -> None:
    ds = MovingMNIST(num_sequences=50, digits=bank)
    with pytest.raises(error):
        ds[index]


def test_getitems_renders_a_dataloader_batch_in_one_call(bank: SpriteBank, monkeypatch) -> None:
    calls = []

    def counting_render(*args, **kwargs):
        calls.append(list(args[2]))
        return render(*args, **kwargs)

    monkeypatch.setattr(datasets, "render", counting_render)
    ds = MovingMNIST(num_sequences=32, digits=bank)
    batches = list(DataLoader(ds, batch_size=8))
    assert calls == [list(range(b, b + 8)) for b in range(0, 32, 8)]
    items = torch.stack([ds[i] for i in range(32)])
    assert torch.equal(torch.cat(batches), items)


def test_same_bytes_whatever_the_batch_size_and_worker_count(bank: SpriteBank) -> None:
    ds = MovingMNIST(num_sequences=20, digits=bank, seed=1)
    one_by_one = torch.stack([ds[i] for i in range(20)])
    for batch_size, workers in ((3, 2), (7, 0), (20, 1)):
        loaded = torch.cat(list(DataLoader(ds, batch_size=batch_size, num_workers=workers)))
        assert torch.equal(loaded, one_by_one), (batch_size, workers)


def test_annotations_agree_with_the_frames(bank: SpriteBank) -> None:
    ds = MovingMNIST(num_sequences=10, digits=bank, annotations=True, seed=2)
    batch = render(SceneConfig.preset("classic"), bank, range(10), seed=2)
    frames, target = ds[4]
    assert torch.equal(frames, batch.frames[4])
    assert torch.equal(target["boxes"], batch.boxes[4])
    assert torch.equal(target["labels"], batch.labels[4])
    assert torch.equal(target["instance_masks"] > 0, frames[:, 0] > 0)
    assert int(target["index"]) == 4
    rows = seed_format(target["labels"], target["boxes"])
    assert torch.equal(rows, batch.seed_boxes()[4])
    frames_batch, targets = next(iter(DataLoader(ds, batch_size=5)))
    assert frames_batch.shape == (5, 20, 1, 64, 64) and targets["boxes"].shape == (5, 20, 2, 4)


def test_transform_overrides_and_repr(bank: SpriteBank) -> None:
    ds = MovingMNIST(
        num_sequences=4, digits=bank, transform=lambda x: x.float() / 255, num_frames=10
    )
    item = ds[0]
    assert item.dtype == torch.float32 and item.shape == (10, 1, 64, 64)
    assert float(item.max()) <= 1.0
    assert "4 sequences of 10×1×64×64" in repr(ds) and "glyphs" in repr(ds)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"digits": "emnist"}, ValueError, "digits must be a SpriteBank or one of"),
        ({"num_sequences": 0}, ValueError, "num_sequences must be >= 1"),
        ({"backend": "cuda"}, ValueError, "backend must be one of"),
        ({"preset": "nope"}, ValueError, "unknown preset"),
        ({"speed": 2}, TypeError, "unknown SceneConfig field"),
        ({"split": "val"}, ValueError, "split must be one of"),
    ],
)
def test_bad_dataset_arguments(kwargs: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        MovingMNIST(**{"digits": "glyphs", **kwargs})


def test_mnist_dataset_reads_the_split(mnist_root: Path) -> None:
    test = MovingMNIST(root=mnist_root, split="test", num_sequences=5)
    assert test.scene.sprites.split == "test" and len(test.scene.sprites) == 10_000
    assert test[0].shape == (20, 1, 64, 64)


def stream_batches(stream, **loader_kwargs) -> list:
    return [batch for batch in DataLoader(stream, batch_size=None, **loader_kwargs)]


def test_stream_is_the_fixed_sequence_of_global_batches(bank: SpriteBank) -> None:
    stream = MovingMNISTStream(4, digits=bank, num_batches=5, seed=7)
    batches = stream_batches(stream)
    whole = render(SceneConfig.preset("classic"), bank, range(20), seed=7)
    assert [b.indices.tolist() for b in batches] == [
        list(range(4 * b, 4 * b + 4)) for b in range(5)
    ]
    assert torch.equal(torch.cat([b.frames for b in batches]), whole.frames)
    assert torch.equal(torch.cat([b.instance_masks for b in batches]), whole.instance_masks)


MORE_WORKERS_THAN_CORES = pytest.mark.filterwarnings("ignore:This DataLoader will create")


@MORE_WORKERS_THAN_CORES
@pytest.mark.parametrize("workers", [2, 3])
def test_workers_split_the_stream_without_repeats_or_gaps(bank: SpriteBank, workers: int) -> None:
    single = stream_batches(MovingMNISTStream(2, digits=bank, num_batches=7, masks=False))
    parallel = stream_batches(
        MovingMNISTStream(2, digits=bank, num_batches=7, masks=False), num_workers=workers
    )
    assert [b.indices.tolist() for b in parallel] == [b.indices.tolist() for b in single]
    for a, b in zip(parallel, single, strict=True):
        assert torch.equal(a.frames, b.frames)


def test_ranks_partition_the_stream(bank: SpriteBank) -> None:
    single = [b.indices.tolist() for b in MovingMNISTStream(2, digits=bank, num_batches=9)]
    per_rank = [
        [
            b.indices.tolist()
            for b in MovingMNISTStream(2, digits=bank, num_batches=9, rank=r, world_size=3)
        ]
        for r in range(3)
    ]
    for rank, received in enumerate(per_rank):
        assert received == single[rank::3]


def test_resume_continues_with_batch_k(bank: SpriteBank) -> None:
    reference = [b.indices.tolist() for b in MovingMNISTStream(2, digits=bank, num_batches=10)]
    stream = MovingMNISTStream(2, digits=bank, num_batches=10)
    for k, _batch in enumerate(stream):
        if k == 3:
            break
    state = stream.state_dict()
    assert state["cursor"] == 4  # batches 0..3 delivered
    resumed = MovingMNISTStream(2, digits=bank, num_batches=10)
    resumed.load_state_dict(state)
    assert [b.indices.tolist() for b in resumed] == reference[4:]


@MORE_WORKERS_THAN_CORES
def test_resume_across_worker_counts(bank: SpriteBank) -> None:
    reference = stream_batches(MovingMNISTStream(3, digits=bank, num_batches=12, masks=False))
    stream = MovingMNISTStream(3, digits=bank, num_batches=12, masks=False)
    taken = []
    for batch in stream.loader(num_workers=2):
        taken.append(batch)
        if len(taken) == 5:
            break
    state = stream.state_dict()
    assert state["cursor"] == 5
    for workers in (0, 3):
        resumed = MovingMNISTStream(3, digits=bank, num_batches=12, masks=False)
        resumed.load_state_dict(state)
        rest = list(resumed.loader(num_workers=workers))
        assert [b.indices.tolist() for b in taken + rest] == [b.indices.tolist() for b in reference]
        assert all(
            torch.equal(a.frames, b.frames) for a, b in zip(rest, reference[5:], strict=True)
        )


def test_resume_refuses_another_stream(bank: SpriteBank) -> None:
    state = MovingMNISTStream(4, digits=bank, seed=1).state_dict()
    with pytest.raises(ValueError, match="cannot resume: the state has batch_size=4"):
        MovingMNISTStream(8, digits=bank, seed=1).load_state_dict(state)
    with pytest.raises(ValueError, match="seed"):
        MovingMNISTStream(4, digits=bank, seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="cursor"):
        MovingMNISTStream(4, digits=bank, seed=1).load_state_dict({**state, "cursor": -1})


def test_stream_on_an_accelerator_refuses_worker_processes(bank: SpriteBank) -> None:
    stream = MovingMNISTStream(2, digits=bank, num_batches=2)
    stream.scene.device = torch.device("cuda")  # what a CUDA stream looks like inside a worker
    with pytest.raises(RuntimeError, match="cannot render inside a DataLoader worker"):
        list(DataLoader(stream, batch_size=None, num_workers=1))


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"num_batches": 0}, ValueError, "num_batches must be >= 1"),
        ({"rank": 0}, ValueError, "give both rank and world_size"),
        ({"rank": 2, "world_size": 2}, ValueError, r"rank must be an int in \[0, 2\)"),
    ],
)
def test_bad_stream_arguments(bank: SpriteBank, kwargs: dict, error: type, pattern: str) -> None:
    arguments = {"batch_size": 2, "digits": bank, **kwargs}
    with pytest.raises(error, match=pattern):
        MovingMNISTStream(**arguments)


def test_torchrun_two_ranks_two_workers_equal_the_single_process_stream(tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import distributed_stream as script
    finally:
        sys.path.remove(str(HERE))
    out = tmp_path / "received.pt"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(HERE / "distributed_stream.py"), str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    per_rank = torch.load(out)
    single = list(script.stream())
    assert len(single) == script.NUM_BATCHES
    for rank, received in enumerate(per_rank):
        expected = single[rank::2]  # rank r receives global batches r, r + 2, ... in order
        assert [i.tolist() for i, _ in received] == [b.indices.tolist() for b in expected]
        assert all(torch.equal(f, b.frames) for (_, f), b in zip(received, expected, strict=True))
    union = sorted(i for received in per_rank for indices, _ in received for i in indices.tolist())
    assert union == list(range(script.NUM_BATCHES * script.BATCH_SIZE))


def test_collate_returns_the_rendered_batch_without_copying(bank: SpriteBank) -> None:
    ds = MovingMNIST(num_sequences=12, digits=bank, annotations=True, seed=5)
    plain = list(DataLoader(ds, batch_size=4))
    fast = list(DataLoader(ds, batch_size=4, collate_fn=datasets.collate))
    for (frames_a, target_a), (frames_b, target_b) in zip(plain, fast, strict=True):
        assert torch.equal(frames_a, frames_b)
        assert set(target_a) == set(target_b)
        assert all(torch.equal(target_a[key], target_b[key]) for key in target_a)
    items = ds.__getitems__([3, 1, 2])
    frames = datasets.collate([frames for frames, _ in items])
    assert frames.data_ptr() == items[0][0].data_ptr()  # a view of the rendered batch
    shuffled = [items[1][0], items[0][0]]  # not back to back: stacked by default_collate
    assert datasets.collate(shuffled).data_ptr() != items[1][0].data_ptr()
    assert torch.equal(datasets.collate(shuffled), torch.stack(shuffled))


@settings(max_examples=25, deadline=None)
@given(
    world_size=st.integers(1, 4),
    num_batches=st.integers(1, 12),
    cursor=st.integers(0, 12),
    batch_size=st.integers(1, 3),
)
def test_ranks_from_any_cursor_cover_the_rest_once_in_order(
    world_size: int, num_batches: int, cursor: int, batch_size: int
) -> None:
    bank = SpriteBank.from_tensors(torch.full((2, 2, 2), 9, dtype=torch.uint8), torch.arange(2))
    state = {"batch_size": batch_size, "seed": 0, "split": "train", "preset": "classic"}
    received = []
    for rank in range(world_size):
        stream = MovingMNISTStream(
            batch_size, digits=bank, num_batches=num_batches, rank=rank, world_size=world_size,
            canvas=(4, 4), num_frames=1, num_digits=1, boxes=False, masks=False,
        )  # fmt: skip
        stream.load_state_dict({**state, "cursor": cursor})
        numbers = [int(b.indices[0]) // batch_size for b in stream]
        assert numbers == sorted(numbers)  # each rank in order
        assert stream.state_dict()["cursor"] >= cursor
        received += numbers
    assert sorted(received) == list(range(cursor, num_batches))
