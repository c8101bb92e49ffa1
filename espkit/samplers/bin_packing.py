"""Greedy packing of length-sorted utterances into batches of at most ``batch_bins``.

Shared by :class:`LengthBatchSampler` (bins = lengths) and :class:`NumElementsBatchSampler`
(bins = elements). Each utterance has, per shape file, a ``(length, dim)`` cost: the batch
tensor for that file is ``(B, max length, dim)`` when padded, so

- with padding, bins = sum over files of ``B * max(length) * max(dim)``;
- without padding, bins = sum over files and utterances of ``length * dim``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

# costs[f][uid] = (length, dim) of the uid's data in shape file f
Costs = Sequence[Mapping[str, tuple[int, int]]]


class _BatchBins:
    """Running bins of one batch under construction."""

    def __init__(self, costs: Costs, padding: bool) -> None:
        self.costs = costs
        self.padding = padding
        self.uids: list[str] = []
        self.max_lengths = [0] * len(costs)
        self.max_dims = [0] * len(costs)
        self.unpadded = 0

    def bins_with(self, uid: str) -> int:
        """The batch's bins if ``uid`` were added."""
        if self.padding:
            per_row = 0
            for f, cost in enumerate(self.costs):
                length, dim = cost[uid]
                per_row += max(self.max_lengths[f], length) * max(self.max_dims[f], dim)
            return (len(self.uids) + 1) * per_row
        return self.unpadded + sum(cost[uid][0] * cost[uid][1] for cost in self.costs)

    def bins_with_one_more_longest(self) -> int:
        """The bins if another utterance as long as the batch's longest were added."""
        per_row = sum(m * d for m, d in zip(self.max_lengths, self.max_dims))
        if self.padding:
            return (len(self.uids) + 1) * per_row
        return self.unpadded + per_row

    def add(self, uid: str) -> None:
        for f, cost in enumerate(self.costs):
            length, dim = cost[uid]
            self.max_lengths[f] = max(self.max_lengths[f], length)
            self.max_dims[f] = max(self.max_dims[f], dim)
            self.unpadded += length * dim
        self.uids.append(uid)


def pack_by_bins(
    ascending_keys: Sequence[str],
    costs: Costs,
    batch_bins: int,
    min_batch_size: int,
    padding: bool,
    drop_last: bool,
    sampler_name: str,
) -> list[list[str]]:
    """Split ``ascending_keys`` (shortest first) into consecutive batches.

    A batch is closed when the next utterance would push it over ``batch_bins`` and it
    already holds ``min_batch_size`` utterances. So a batch exceeds ``batch_bins`` only
    when a single utterance is larger than ``batch_bins`` (it then forms a batch of its
    own; a warning is logged once) or when ``min_batch_size`` forces it.

    The last batch is what remains at the end: with ``drop_last`` it is dropped when it
    still had room for another utterance as long as its longest (unless it is the only
    batch); otherwise, if it holds fewer than ``min_batch_size`` utterances, it is merged
    into the previous batch.
    """
    if batch_bins < 1:
        raise ValueError(f"batch_bins must be >= 1, got {batch_bins}")
    if min_batch_size < 1:
        raise ValueError(f"min_batch_size must be >= 1, got {min_batch_size}")
    batches: list[list[str]] = []
    current = _BatchBins(costs, padding)
    oversized: list[str] = []
    forced_by_min_batch_size = 0
    for uid in ascending_keys:
        bins = current.bins_with(uid)
        if len(current.uids) > 0 and bins > batch_bins:
            if len(current.uids) >= min_batch_size:
                batches.append(current.uids)
                current = _BatchBins(costs, padding)
                bins = current.bins_with(uid)
            else:
                forced_by_min_batch_size += 1
        if len(current.uids) == 0 and bins > batch_bins:
            oversized.append(uid)
        current.add(uid)

    if len(current.uids) > 0:
        has_room = current.bins_with_one_more_longest() <= batch_bins
        if drop_last and has_room and len(batches) > 0:
            logger.info(
                "%s: drop_last: dropping the last batch of %d utterance(s)",
                sampler_name,
                len(current.uids),
            )
        elif len(current.uids) < min_batch_size and len(batches) > 0:
            batches[-1].extend(current.uids)
        else:
            batches.append(current.uids)

    if len(oversized) > 0:
        logger.warning(
            "%s: %d utterance(s) need more than batch_bins=%d on their own (e.g. %r); "
            "each is put in a batch by itself. Raise batch_bins to avoid this.",
            sampler_name,
            len(oversized),
            batch_bins,
            oversized[0],
        )
    if forced_by_min_batch_size > 0:
        logger.warning(
            "%s: min_batch_size=%d made some batches exceed batch_bins=%d",
            sampler_name,
            min_batch_size,
            batch_bins,
        )
    return batches
