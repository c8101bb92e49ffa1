"""Batches of a fixed size from length-sorted utterances."""

from __future__ import annotations

import logging
from pathlib import Path

from espkit.samplers.abs_sampler import AbsSampler
from espkit.samplers.batch_order import (
    check_sort_order,
    keys_by_ascending_length,
    log_batch_summary,
    order_batches,
)
from espkit.samplers.shape_file import load_shape_file
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class SortedBatchSampler(AbsSampler):
    """Sort uids by length, then cut into groups of ``batch_size`` (ESPnet2's ``sorted``).

    Length is the first dimension in ``shape_file``. Every batch has ``batch_size`` uids
    except possibly the one holding the longest utterances; with ``drop_last`` that smaller
    batch is dropped (unless it is the only one).

    Args:
        batch_size: uids per batch.
        shape_file: ``uid L`` / ``uid L,D`` lines.
        sort_in_batch: order of the uids inside a batch, "descending" (longest first, as
            packed RNNs want) or "ascending".
        sort_batch: order of the batches by length, "ascending" or "descending".
        drop_last: drop the incomplete batch.

    >>> sampler = SortedBatchSampler(2, "dump/train/speech_shape")  # doctest: +SKIP
    >>> list(sampler)  # doctest: +SKIP
    [('utt4', 'utt2'), ('utt1', 'utt3'), ('utt5',)]
    """

    @typechecked
    def __init__(
        self,
        batch_size: int,
        shape_file: str | Path,
        sort_in_batch: str = "descending",
        sort_batch: str = "ascending",
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        check_sort_order("sort_in_batch", sort_in_batch)
        check_sort_order("sort_batch", sort_batch)
        self.batch_size = batch_size
        self.shape_file = shape_file
        self.sort_in_batch = sort_in_batch
        self.sort_batch = sort_batch
        self.drop_last = drop_last

        shapes = load_shape_file(shape_file)
        if len(shapes) == 0:
            raise ValueError(f"{shape_file}: the shape file holds no utterances")
        keys = keys_by_ascending_length(shapes)
        batches = [keys[start : start + batch_size] for start in range(0, len(keys), batch_size)]
        if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
            batches.pop()
        self.batches = order_batches(batches, sort_in_batch, sort_batch)
        log_batch_summary(f"SortedBatchSampler({shape_file})", self.batches)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(N-batch={len(self)}, batch_size={self.batch_size}, "
            f"shape_file={self.shape_file}, sort_in_batch={self.sort_in_batch}, "
            f"sort_batch={self.sort_batch})"
        )
