"""Iterate over a fixed list of uid batches, reshuffled deterministically per epoch."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed
from torch.utils.data import DataLoader

from espkit.iterators.abs_iter_factory import AbsIterFactory
from espkit.samplers.abs_sampler import AbsSampler
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


def get_rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised default process group."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        raise RuntimeError(
            "SequenceIterFactory(distributed=True) needs torch.distributed initialised; "
            "call torch.distributed.init_process_group() first (or set distributed=False)"
        )
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def _seed_words(*values: int) -> list[int]:
    """Non-negative 32-bit words for ``np.random.SeedSequence``."""
    return [value % 2**32 for value in values]


class WorkerSeeder:
    """``worker_init_fn`` seeding ``random``, numpy and torch from (seed, epoch, rank, worker).

    A class rather than a closure so that it pickles for spawned workers.
    """

    def __init__(self, seed: int, epoch: int, rank: int) -> None:
        self.seed = seed
        self.epoch = epoch
        self.rank = rank

    def __call__(self, worker_id: int) -> None:
        sequence = np.random.SeedSequence(_seed_words(self.seed, self.epoch, self.rank, worker_id))
        state = sequence.generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[0]))
        torch.manual_seed(int(state[0]) << 32 | int(state[1]))


class SequenceIterFactory(AbsIterFactory):
    """Mini-batches from a list of uid batches, as ESPnet2's ``sequence`` iterator type.

    ``dataset[uid]`` must return one item; each batch yields ``collate_fn([items...])``,
    loaded by a ``torch.utils.data.DataLoader`` (optionally with worker processes).

    Batch order:

    - ``num_iters_per_epoch=None``: epoch ``e`` yields all batches, shuffled (when
      ``shuffle``) by ``np.random.RandomState(seed + e)``.
    - ``num_iters_per_epoch=N``: the batches form an endless stream of "real" epochs
      ``r = 1, 2, ...``, each a full pass over the batches shuffled with ``seed + r``.
      Epoch ``e`` (from 1) yields stream positions ``(e - 1) * N`` to ``e * N - 1``, so it
      continues where epoch ``e - 1`` stopped; when ``N`` equals the number of batches the
      order is the same as with ``num_iters_per_epoch=None``.

    ``start_batch=k`` skips the first ``k`` batches of an epoch without loading them, for
    exact mid-epoch resumption. With ``distributed=True`` each rank gets
    ``batch[rank::world_size]`` of every batch.

    >>> factory = SequenceIterFactory(dataset, batches=list(sampler), seed=0, shuffle=True,
    ...                               collate_fn=collate)  # doctest: +SKIP
    >>> for batch in factory.build_iter(epoch=3, start_batch=120):  # doctest: +SKIP
    ...     loss = model(**batch)
    """

    @typechecked
    def __init__(
        self,
        dataset: Any,
        batches: AbsSampler | Sequence[Sequence[Any]],
        num_iters_per_epoch: int | None = None,
        seed: int = 0,
        shuffle: bool = False,
        collate_fn: Callable[..., Any] | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        distributed: bool = False,
    ) -> None:
        batches = [tuple(batch) for batch in batches]  # a sampler, or lists/tuples of uids (or indices)
        if len(batches) == 0:
            raise ValueError("SequenceIterFactory needs at least one batch, got none")
        if any(len(batch) == 0 for batch in batches):
            raise ValueError("SequenceIterFactory got an empty batch")
        if num_iters_per_epoch is not None and num_iters_per_epoch < 1:
            raise ValueError(f"num_iters_per_epoch must be >= 1 or None, got {num_iters_per_epoch}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.dataset = dataset
        self.batches = batches
        self.num_iters_per_epoch = num_iters_per_epoch
        self.seed = seed
        self.shuffle = shuffle
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.distributed = distributed

    def num_batches(self, epoch: int) -> int:
        """Number of batches of ``epoch`` (before ``start_batch`` skips any)."""
        if self.num_iters_per_epoch is not None:
            return self.num_iters_per_epoch
        return len(self.batches)

    def __len__(self) -> int:
        """Number of batches per epoch (the same for every epoch)."""
        return self.num_batches(1)

    def _real_epoch_batches(self, real_epoch: int, shuffle: bool) -> list[tuple[str, ...]]:
        batches = list(self.batches)
        if shuffle:
            np.random.RandomState((self.seed + real_epoch) % 2**32).shuffle(batches)
        return batches

    def epoch_batches(self, epoch: int, shuffle: bool | None = None) -> list[tuple[str, ...]]:
        """The full (not per-rank) batches of ``epoch``, in iteration order."""
        if shuffle is None:
            shuffle = self.shuffle
        if self.num_iters_per_epoch is None:
            return self._real_epoch_batches(epoch, shuffle)
        if epoch < 1:
            raise ValueError(f"epochs count from 1 with num_iters_per_epoch, got epoch={epoch}")
        num_per_real_epoch = len(self.batches)
        first = (epoch - 1) * self.num_iters_per_epoch
        stop = first + self.num_iters_per_epoch
        result: list[tuple[str, ...]] = []
        position = first
        while position < stop:
            real_epoch, offset = divmod(position, num_per_real_epoch)
            real_batches = self._real_epoch_batches(real_epoch + 1, shuffle)
            take = min(stop - position, num_per_real_epoch - offset)
            result.extend(real_batches[offset : offset + take])
            position += take
        return result

    def _split_for_rank(self, batches: list[tuple[str, ...]], rank: int, world_size: int) -> list[tuple[str, ...]]:
        too_small = [batch for batch in self.batches if len(batch) < world_size]
        if len(too_small) > 0:
            raise ValueError(
                f"{len(too_small)} batch(es) hold fewer uids than world_size={world_size} "
                f"(e.g. {too_small[0]}), so some ranks would get nothing; raise "
                "batch_bins/batch_size (or min_batch_size) so every batch has at least "
                "world_size uids"
            )
        return [batch[rank::world_size] for batch in batches]

    def build_iter(self, epoch: int, shuffle: bool | None = None, start_batch: int = 0) -> Iterator[Any]:
        """Iterator over the collated batches of ``epoch`` from batch ``start_batch`` on."""
        batches = self.epoch_batches(epoch, shuffle)
        if not 0 <= start_batch <= len(batches):
            raise ValueError(f"start_batch must be in [0, {len(batches)}] for epoch {epoch}, got {start_batch}")
        rank = 0
        if self.distributed:
            rank, world_size = get_rank_and_world_size()
            batches = self._split_for_rank(batches, rank, world_size)
        batches = batches[start_batch:]
        loader_seed = np.random.SeedSequence(_seed_words(self.seed, epoch, rank)).generate_state(1)
        loader = DataLoader(
            self.dataset,
            batch_sampler=[list(batch) for batch in batches],
            collate_fn=self.collate_fn,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            worker_init_fn=WorkerSeeder(self.seed, epoch, rank) if self.num_workers > 0 else None,
            generator=torch.Generator().manual_seed(int(loader_seed[0])),
        )
        return iter(loader)
