"""Batches of a fixed size in the key file's order."""

from __future__ import annotations

import logging
from pathlib import Path

from espkit.samplers.abs_sampler import AbsSampler
from espkit.samplers.batch_order import log_batch_summary
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


def read_uids(key_file: str | Path) -> list[str]:
    """First whitespace-separated column of each non-blank line; duplicates raise ValueError."""
    uids: list[str] = []
    seen: set[str] = set()
    with open(key_file, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split(maxsplit=1)
            if len(fields) == 0:
                continue
            uid = fields[0]
            if uid in seen:
                raise ValueError(f"{key_file}:{line_number}: duplicate uid {uid!r}")
            seen.add(uid)
            uids.append(uid)
    if len(uids) == 0:
        raise ValueError(f"{key_file}: the key file holds no utterances")
    return uids


class UnsortedBatchSampler(AbsSampler):
    """Consecutive uids of ``key_file`` in groups of ``batch_size`` (ESPnet2's ``unsorted``).

    ``key_file`` is any text file whose first column is the uid (a shape file, ``wav.scp``,
    ``text``). Every batch has ``batch_size`` uids except possibly the last; with
    ``drop_last`` that smaller last batch is dropped (unless it is the only one).

    >>> sampler = UnsortedBatchSampler(batch_size=2, key_file="dump/train/speech_shape")
    ... # doctest: +SKIP
    >>> list(sampler)  # doctest: +SKIP
    [('utt1', 'utt2'), ('utt3', 'utt4'), ('utt5',)]
    """

    @typechecked
    def __init__(self, batch_size: int, key_file: str | Path, drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.key_file = key_file
        self.drop_last = drop_last
        uids = read_uids(key_file)
        self.batches = [tuple(uids[start : start + batch_size]) for start in range(0, len(uids), batch_size)]
        if drop_last and len(self.batches) > 1 and len(self.batches[-1]) < batch_size:
            self.batches.pop()
        log_batch_summary(f"UnsortedBatchSampler({key_file})", self.batches)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(N-batch={len(self)}, batch_size={self.batch_size}, key_file={self.key_file})"
