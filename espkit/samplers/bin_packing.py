"""Greedy packing of length-sorted utterances into batches by ``batch_bins``.

Shared by :class:`LengthBatchSampler` (bins = lengths) and :class:`NumElementsBatchSampler`
(bins = elements). Each utterance has, per shape file, a ``(length, dim)`` cost. Two rules
(``packing``):

- ``"espnet"`` (default): ESPnet2's rule (espnet 202511), so an ESPnet2 config's
  ``batch_bins`` makes the same batches. Utterances are added one by one; with padding the
  batch's bins are ``B * sum over files of (length * dim of the utterance just added)``,
  without padding the sum of ``length * dim``. Once the bins exceed ``batch_bins`` (and the
  batch holds ``min_batch_size``), the batch is closed *with* that utterance, so every batch
  but the last crosses ``batch_bins``. The rest forms the last batch (dropped with
  ``drop_last`` unless it is the only one); a last batch smaller than ``min_batch_size`` is
  dealt out one utterance at a time to the batches before it, last batch first.
- ``"within_bins"``: espkit's stricter rule. The padded tensor of each file is
  ``(B, max length, max dim)``, so with padding the bins are ``B * sum over files of
  (max length * max dim)`` over the batch; a batch is closed *before* the utterance that
  would take it over ``batch_bins``, so a batch exceeds ``batch_bins`` only when one
  utterance alone does or ``min_batch_size`` forces it. The memory bound is real; batches
  are smaller (more steps per epoch) for the same ``batch_bins``.
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


PACKINGS = ("espnet", "within_bins")


def pack_by_bins(
    ascending_keys: Sequence[str],
    costs: Costs,
    batch_bins: int,
    min_batch_size: int,
    padding: bool,
    drop_last: bool,
    sampler_name: str,
    packing: str = "espnet",
) -> list[list[str]]:
    """Split ``ascending_keys`` (shortest first) into consecutive batches by ``packing`` (module docstring).

    Raises:
        ValueError: ``batch_bins`` or ``min_batch_size`` below 1, or an unknown ``packing``.
    """
    if packing not in PACKINGS:
        raise ValueError(f"unknown packing {packing!r}; valid: {', '.join(PACKINGS)}")
    if batch_bins < 1:
        raise ValueError(f"batch_bins must be >= 1, got {batch_bins}")
    if min_batch_size < 1:
        raise ValueError(f"min_batch_size must be >= 1, got {min_batch_size}")
    if packing == "espnet":
        return _pack_like_espnet(ascending_keys, costs, batch_bins, min_batch_size, padding, drop_last)
    return _pack_within_bins(ascending_keys, costs, batch_bins, min_batch_size, padding, drop_last, sampler_name)


def _pack_like_espnet(
    ascending_keys: Sequence[str],
    costs: Costs,
    batch_bins: int,
    min_batch_size: int,
    padding: bool,
    drop_last: bool,
) -> list[list[str]]:
    """ESPnet2's rule: close a batch once it has crossed ``batch_bins`` (see the module docstring)."""
    sizes: list[int] = []
    count = 0
    unpadded = 0
    for uid in ascending_keys:
        count += 1
        row = sum(cost[uid][0] * cost[uid][1] for cost in costs)
        if padding:
            bins = count * row
        else:
            unpadded += row
            bins = unpadded
        if bins > batch_bins and count >= min_batch_size:
            sizes.append(count)
            count = 0
            unpadded = 0
    if count > 0 and (not drop_last or len(sizes) == 0):
        sizes.append(count)
    if len(sizes) > 1 and sizes[-1] < min_batch_size:
        for i in range(sizes.pop()):
            sizes[-(i % len(sizes)) - 1] += 1
    batches: list[list[str]] = []
    start = 0
    for size in sizes:
        batches.append(list(ascending_keys[start : start + size]))
        start += size
    return batches


def _pack_within_bins(
    ascending_keys: Sequence[str],
    costs: Costs,
    batch_bins: int,
    min_batch_size: int,
    padding: bool,
    drop_last: bool,
    sampler_name: str,
) -> list[list[str]]:
    """espkit's stricter rule (``packing="within_bins"``).

    A batch is closed when the next utterance would push it over ``batch_bins`` and it
    already holds ``min_batch_size`` utterances. So a batch exceeds ``batch_bins`` only
    when a single utterance is larger than ``batch_bins`` (it then forms a batch of its
    own; a warning is logged once) or when ``min_batch_size`` forces it.

    The last batch is what remains at the end: with ``drop_last`` it is dropped when it
    still had room for another utterance as long as its longest (unless it is the only
    batch); otherwise, if it holds fewer than ``min_batch_size`` utterances, it is merged
    into the previous batch.
    """
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
