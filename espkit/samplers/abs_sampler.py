"""The interface every batch sampler implements."""

from __future__ import annotations

from abc import ABC
from collections.abc import Iterator


class AbsSampler(ABC):
    """A fixed list of mini-batches, each a tuple of utterance ids (``self.batches``).

    Samplers decide *which* uids go together; the order of the batches across epochs
    (shuffling, resuming mid-epoch, splitting across ranks) is the iterator factory's job
    (:class:`espkit.iterators.sequence_iter_factory.SequenceIterFactory`).

    >>> batches = list(sampler)  # doctest: +SKIP
    >>> batches[0]  # doctest: +SKIP
    ('utt3', 'utt1')
    """

    #: The batches; each constructor fills it.
    batches: list[tuple[str, ...]]

    def __len__(self) -> int:
        """Number of batches."""
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        """Yield the batches, each a tuple of uids."""
        return iter(self.batches)
