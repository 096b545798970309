"""Run under ``torchrun --nproc_per_node=2`` by tests/test_datasets.py: every rank iterates the
stream through a DataLoader with 2 workers; rank 0 saves what each rank received, in order."""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from gpu_mmnist import MovingMNISTStream, SpriteBank

BATCH_SIZE, NUM_BATCHES, WORKERS = 3, 11, 2


def stream(**kwargs) -> MovingMNISTStream:
    bank = SpriteBank.glyphs(count=100)
    return MovingMNISTStream(BATCH_SIZE, digits=bank, num_batches=NUM_BATCHES, **kwargs)


def main(out: str) -> None:
    dist.init_process_group("gloo")
    loader = DataLoader(stream(), batch_size=None, num_workers=WORKERS)
    received = [(batch.indices.clone(), batch.frames.clone()) for batch in loader]
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, received)
    if dist.get_rank() == 0:
        torch.save(gathered, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
