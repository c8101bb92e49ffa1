"""Length-sorted batches holding up to ``batch_bins`` tensor elements."""

from __future__ import annotations

import math

from espkit.samplers.length_batch_sampler import LengthBatchSampler


class NumElementsBatchSampler(LengthBatchSampler):
    """ESPnet2's ``numel`` batch type: batches bounded by the number of tensor elements.

    An utterance with shape ``L,D`` costs ``L x D`` elements (the product of its shape;
    ``L`` alone when there is no dim). Uids are sorted by their length in the first shape
    file, shortest first, so that utterances in a batch have similar lengths and little
    padding, and packed greedily by their bins summed over all shape files:

    - ``packing="espnet"`` (default, ESPnet2's batches for the same ``batch_bins``): with
      ``padding=True`` bins = batch size x (``L x D`` of the utterance just added), and the
      batch is closed once the bins exceed ``batch_bins``, with that utterance in it;
    - ``packing="within_bins"``: with ``padding=True`` bins = batch size x longest length x
      dim (the padded tensor ``(B, T_max, D)``), and the batch is closed before it would
      exceed ``batch_bins`` (a single utterance larger than ``batch_bins`` forms a batch of
      its own; a warning is logged once);
    - ``padding=False`` (both): bins = sum of ``L x D`` over the batch.

    See :mod:`espkit.samplers.bin_packing` for ``min_batch_size`` and ``drop_last``.

    Args:
        batch_bins: the budget of elements per batch.
        shape_files: shape files of the inputs; the first defines uids and sort order.
        min_batch_size: lower bound of the batch size (may exceed ``batch_bins``).
        sort_in_batch: order of uids inside a batch, "descending" or "ascending".
        sort_batch: order of the batches by length, "ascending" or "descending".
        drop_last: drop the incomplete last batch.
        padding: count padded (True) or actual (False) elements.
        packing: ``"espnet"`` or ``"within_bins"`` (:data:`espkit.samplers.bin_packing.PACKINGS`).

    >>> sampler = NumElementsBatchSampler(
    ...     batch_bins=3000000,
    ...     shape_files=["dump/train/text_shape", "dump/train/feats_shape"],
    ... )  # doctest: +SKIP
    >>> next(iter(sampler))  # doctest: +SKIP
    ('utt12', 'utt7', 'utt3')
    """

    @staticmethod
    def step_size(shape: tuple[int, ...]) -> int:
        """Elements one step of an utterance of ``shape`` ``(L, D...)`` holds: ``prod(D...)``."""
        return math.prod(shape[1:])
