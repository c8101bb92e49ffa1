"""Length-sorted batches holding up to ``batch_bins`` frames/tokens."""

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
from espkit.samplers.bin_packing import pack_by_bins
from espkit.samplers.shape_file import load_shape_files, shape_file_list
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class LengthBatchSampler(AbsSampler):
    """ESPnet2's ``length`` batch type: batches bounded by total length.

    Uids are sorted by their length in the first shape file, shortest first, and packed
    greedily so that each batch's bins, summed over all shape files, stay within
    ``batch_bins``:

    - ``padding=True``: bins = batch size x longest length in the batch (the padded size);
    - ``padding=False``: bins = sum of the lengths.

    Only the first number of each shape counts (feature dims are ignored; see
    :class:`NumElementsBatchSampler` for that). ``packing="espnet"`` (default) closes a
    batch as ESPnet2 does, once it has crossed ``batch_bins``; ``"within_bins"`` closes it
    before, so that it stays within ``batch_bins`` (a single utterance longer than
    ``batch_bins`` forms a batch of its own). See :mod:`espkit.samplers.bin_packing` for the
    two rules, ``min_batch_size`` and ``drop_last``.

    Args:
        batch_bins: the budget of bins per batch.
        shape_files: shape files of the inputs; the first defines uids and sort order.
        min_batch_size: lower bound of the batch size (may exceed ``batch_bins``).
        sort_in_batch: order of uids inside a batch, "descending" or "ascending".
        sort_batch: order of the batches by length, "ascending" or "descending".
        drop_last: drop the incomplete last batch.
        padding: count padded (True) or actual (False) lengths.
        packing: ``"espnet"`` or ``"within_bins"`` (:data:`espkit.samplers.bin_packing.PACKINGS`).

    >>> sampler = LengthBatchSampler(
    ...     batch_bins=2000000,
    ...     shape_files=["dump/train/text_shape", "dump/train/speech_shape"],
    ... )  # doctest: +SKIP
    >>> sum(len(batch) for batch in sampler) == num_utterances  # doctest: +SKIP
    True
    """

    @typechecked
    def __init__(
        self,
        batch_bins: int,
        shape_files: Sequence[str | Path],
        min_batch_size: int = 1,
        sort_in_batch: str = "descending",
        sort_batch: str = "ascending",
        drop_last: bool = False,
        padding: bool = True,
        packing: str = "espnet",
    ) -> None:
        check_sort_order("sort_in_batch", sort_in_batch)
        check_sort_order("sort_batch", sort_batch)
        self.batch_bins = batch_bins
        self.shape_files = shape_file_list(shape_files)
        self.min_batch_size = min_batch_size
        self.sort_in_batch = sort_in_batch
        self.sort_batch = sort_batch
        self.drop_last = drop_last
        self.padding = padding
        self.packing = packing

        shape_dicts = load_shape_files(self.shape_files)
        keys = keys_by_ascending_length(shape_dicts[0])
        costs = [{uid: (shapes[uid][0], self.step_size(shapes[uid])) for uid in keys} for shapes in shape_dicts]
        batches = pack_by_bins(
            keys,
            costs,
            batch_bins=batch_bins,
            min_batch_size=min_batch_size,
            padding=padding,
            drop_last=drop_last,
            sampler_name=type(self).__name__,
            packing=packing,
        )
        self.batches = order_batches(batches, sort_in_batch, sort_batch)
        log_batch_summary(f"{type(self).__name__}({self.shape_files[0]})", self.batches)

    @staticmethod
    def step_size(shape: tuple[int, ...]) -> int:
        """Bins one step (frame/token) of an utterance of ``shape`` costs: 1 (dims ignored)."""
        return 1

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(N-batch={len(self)}, batch_bins={self.batch_bins}, "
            f"shape_files={self.shape_files}, padding={self.padding}, packing={self.packing!r})"
        )
