"""Ordering options shared by the length-sorted batch samplers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

SORT_ORDERS = ("ascending", "descending")


def check_sort_order(option: str, value: str) -> None:
    """Raise ValueError unless ``value`` is ``"ascending"`` or ``"descending"``."""
    if value not in SORT_ORDERS:
        raise ValueError(f"{option} must be one of {', '.join(SORT_ORDERS)}, got {value!r}")


def keys_by_ascending_length(shapes: Mapping[str, Sequence[int]]) -> list[str]:
    """Uids sorted by their length (first dimension), shortest first; ties keep file order."""
    return sorted(shapes, key=lambda uid: shapes[uid][0])


def order_batches(
    ascending_batches: Sequence[Sequence[str]], sort_in_batch: str, sort_batch: str
) -> list[tuple[str, ...]]:
    """Apply ``sort_in_batch`` / ``sort_batch`` to batches built from an ascending key list.

    Args:
        ascending_batches: batches whose uids, and the batches themselves, are in
            ascending length order.
        sort_in_batch: order of the uids inside each batch.
        sort_batch: order of the batches.
    """
    check_sort_order("sort_in_batch", sort_in_batch)
    check_sort_order("sort_batch", sort_batch)
    batches = [tuple(batch) for batch in ascending_batches]
    if sort_in_batch == "descending":
        batches = [batch[::-1] for batch in batches]
    if sort_batch == "descending":
        batches = batches[::-1]
    return batches


def log_batch_summary(sampler_name: str, batches: Sequence[Sequence[str]]) -> None:
    """Log the number of batches and the min/mean/max batch size."""
    sizes = [len(batch) for batch in batches]
    if len(sizes) == 0:
        logger.warning("%s: no batches", sampler_name)
        return
    logger.info(
        "%s: %d batches, batch size min=%d mean=%.1f max=%d",
        sampler_name,
        len(sizes),
        min(sizes),
        sum(sizes) / len(sizes),
        max(sizes),
    )
