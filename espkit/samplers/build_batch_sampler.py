"""Build a batch sampler from ESPnet2's ``--batch_type`` and its options."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from espkit.samplers.abs_sampler import AbsSampler
from espkit.samplers.folded_batch_sampler import FoldedBatchSampler
from espkit.samplers.length_batch_sampler import LengthBatchSampler
from espkit.samplers.num_elements_batch_sampler import NumElementsBatchSampler
from espkit.samplers.shape_file import shape_file_list
from espkit.samplers.sorted_batch_sampler import SortedBatchSampler
from espkit.samplers.unsorted_batch_sampler import UnsortedBatchSampler
from espkit.utils.typecheck import typechecked

BATCH_TYPES = ("unsorted", "sorted", "folded", "length", "numel")


def _require(value: int | None, option: str, batch_type: str) -> int:
    if value is None:
        raise ValueError(f"batch_type={batch_type!r} needs {option}; it was not given")
    return value


@typechecked
def build_batch_sampler(
    type: str,
    batch_size: int | None,
    batch_bins: int | None,
    shape_files: Sequence[str | Path],
    sort_in_batch: str = "descending",
    sort_batch: str = "ascending",
    drop_last: bool = False,
    min_batch_size: int = 1,
    fold_lengths: Sequence[int] = (),
    padding: bool = True,
    packing: str = "espnet",
) -> AbsSampler:
    """Make the sampler for ``type`` (one of :data:`BATCH_TYPES`).

    ``unsorted``/``sorted``/``folded`` use ``batch_size``; ``length``/``numel`` use
    ``batch_bins``. ``unsorted`` reads only the uids of ``shape_files[0]``; ``sorted`` uses
    ``shape_files[0]``; the others use all shape files. ``fold_lengths`` (one per shape
    file) is for ``folded``; ``padding`` and ``packing`` (``"espnet"``: ESPnet2's batches;
    ``"within_bins"``: never over ``batch_bins``; :mod:`espkit.samplers.bin_packing`) for
    ``length``/``numel``.
    """
    if type not in BATCH_TYPES:
        raise ValueError(f"unknown batch_type {type!r}; valid types: {', '.join(BATCH_TYPES)}")
    shape_files = shape_file_list(shape_files)
    if len(shape_files) == 0:
        raise ValueError(f"batch_type={type!r} needs at least one shape file")

    if type == "unsorted":
        return UnsortedBatchSampler(
            batch_size=_require(batch_size, "batch_size", type),
            key_file=shape_files[0],
            drop_last=drop_last,
        )
    if type == "sorted":
        return SortedBatchSampler(
            batch_size=_require(batch_size, "batch_size", type),
            shape_file=shape_files[0],
            sort_in_batch=sort_in_batch,
            sort_batch=sort_batch,
            drop_last=drop_last,
        )
    if type == "folded":
        return FoldedBatchSampler(
            batch_size=_require(batch_size, "batch_size", type),
            shape_files=shape_files,
            fold_lengths=fold_lengths,
            min_batch_size=min_batch_size,
            sort_in_batch=sort_in_batch,
            sort_batch=sort_batch,
            drop_last=drop_last,
        )
    sampler_class = LengthBatchSampler if type == "length" else NumElementsBatchSampler
    return sampler_class(
        batch_bins=_require(batch_bins, "batch_bins", type),
        shape_files=shape_files,
        min_batch_size=min_batch_size,
        sort_in_batch=sort_in_batch,
        sort_batch=sort_batch,
        drop_last=drop_last,
        padding=padding,
        packing=packing,
    )
