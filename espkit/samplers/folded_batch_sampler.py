"""Length-sorted batches whose size shrinks for long utterances."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from espkit.samplers.abs_sampler import AbsSampler
from espkit.samplers.batch_order import (
    check_sort_order,
    keys_by_ascending_length,
    log_batch_summary,
    order_batches,
)
from espkit.samplers.shape_file import load_shape_files, shape_file_list
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class FoldedBatchSampler(AbsSampler):
    """ESPnet2's ``folded`` batch type: ``batch_size`` divided by a length-based fold factor.

    Uids are sorted by the length in the first shape file, shortest first, and cut into
    consecutive batches. The size of each batch comes from its first (shortest) uid::

        factor = max over shape files f of (length_f(uid) // fold_lengths[f])
        size = max(min_batch_size, batch_size // (1 + factor))

    so utterances up to ``fold_length`` long get the full ``batch_size``, twice as long get
    half of it, and so on. The last batch may be smaller than its size: with ``drop_last``
    it is dropped (unless it is the only batch); otherwise a last batch smaller than
    ``min_batch_size`` is merged into the previous one.

    Args:
        batch_size: batch size for utterances shorter than the fold lengths.
        shape_files: shape files of the inputs (e.g. ``[text_shape, speech_shape]``); the
            first one defines the uids and the sort order.
        fold_lengths: one length per shape file (e.g. ``[150, 240000]``).
        min_batch_size: lower bound of the batch size.
        sort_in_batch: order of uids inside a batch, "descending" or "ascending".
        sort_batch: order of the batches by length, "ascending" or "descending".
        drop_last: drop the incomplete last batch.

    >>> sampler = FoldedBatchSampler(
    ...     batch_size=32,
    ...     shape_files=["dump/train/text_shape", "dump/train/speech_shape"],
    ...     fold_lengths=[150, 240000],
    ... )  # doctest: +SKIP
    >>> [len(batch) for batch in sampler][:3]  # doctest: +SKIP
    [32, 32, 16]
    """

    @typechecked
    def __init__(
        self,
        batch_size: int,
        shape_files: Sequence[str | Path],
        fold_lengths: Sequence[int],
        min_batch_size: int = 1,
        sort_in_batch: str = "descending",
        sort_batch: str = "ascending",
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if min_batch_size < 1:
            raise ValueError(f"min_batch_size must be >= 1, got {min_batch_size}")
        shape_files = shape_file_list(shape_files)
        if len(fold_lengths) != len(shape_files):
            raise ValueError(
                f"fold_lengths needs one length per shape file: got {len(fold_lengths)} "
                f"fold length(s) {list(fold_lengths)} for {len(shape_files)} shape file(s) "
                f"{[str(path) for path in shape_files]}"
            )
        if any(fold_length < 1 for fold_length in fold_lengths):
            raise ValueError(f"fold_lengths must be >= 1, got {list(fold_lengths)}")
        check_sort_order("sort_in_batch", sort_in_batch)
        check_sort_order("sort_batch", sort_batch)
        self.batch_size = batch_size
        self.shape_files = shape_file_list(shape_files)
        self.fold_lengths = list(fold_lengths)
        self.min_batch_size = min_batch_size
        self.sort_in_batch = sort_in_batch
        self.sort_batch = sort_batch
        self.drop_last = drop_last

        shape_dicts = load_shape_files(self.shape_files)
        keys = keys_by_ascending_length(shape_dicts[0])
        batches: list[list[str]] = []
        start = 0
        while start < len(keys):
            size = self.folded_batch_size([shapes[keys[start]][0] for shapes in shape_dicts])
            batch = keys[start : start + size]
            start += size
            if len(batch) < size and len(batches) > 0:
                if drop_last:
                    logger.info("FoldedBatchSampler: drop_last: dropping %d uid(s)", len(batch))
                    break
                if len(batch) < min_batch_size:
                    batches[-1].extend(batch)
                    break
            batches.append(batch)
        self.batches = order_batches(batches, sort_in_batch, sort_batch)
        log_batch_summary(f"FoldedBatchSampler({self.shape_files[0]})", self.batches)

    def folded_batch_size(self, lengths: Sequence[int]) -> int:
        """Batch size for a batch whose first uid has ``lengths`` (one per shape file)."""
        factor = max(length // fold for length, fold in zip(lengths, self.fold_lengths))
        return max(self.min_batch_size, self.batch_size // (1 + factor))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(N-batch={len(self)}, batch_size={self.batch_size}, "
            f"shape_files={self.shape_files}, fold_lengths={self.fold_lengths})"
        )
