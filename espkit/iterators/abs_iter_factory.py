"""The interface of per-epoch mini-batch iterator factories."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any


class AbsIterFactory(ABC):
    """Builds the mini-batch iterator of a given epoch.

    The iterator of an epoch is a pure function of the epoch number (and the factory's
    seed), so a trainer can resume exactly by rebuilding it.
    """

    @abstractmethod
    def build_iter(self, epoch: int, shuffle: bool | None = None, start_batch: int = 0) -> Iterator[Any]:
        """Iterator over the collated mini-batches of ``epoch``.

        Args:
            epoch: epoch number (ESPnet counts from 1).
            shuffle: override the factory's shuffle setting (None: keep it).
            start_batch: skip the first ``start_batch`` batches of the epoch (resume).
        """
        raise NotImplementedError

    def num_batches(self, epoch: int) -> int | None:
        """Number of batches ``build_iter(epoch)`` yields from its start; None if unknown."""
        return None
