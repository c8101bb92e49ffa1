"""``python -m espkit.bin.tts_train`` fed ESPnet2's exact batch order, timing every optimizer step.

    python espkit_train.py --batch_order espnet_batches.json --step_log steps.json -- <tts_train options>

Everything is espkit's own training entry point (jemalloc preloaded when installed, as
``python -m espkit.bin.tts_train`` does; ``TTSTask.main`` -> launch -> ``Trainer.run``: model,
optimizer, data loading, validation, checkpoints, n-best averaging) with two changes, both in the train
iterator factory only:

- each epoch's batches are the uid batches ESPnet2's ``SequenceIterFactory`` yields for that epoch
  (``epochs`` in the JSON written by ``espnet_batches.py``), so both toolkits train on the same batches
  in the same order;
- the time between successive requests for a batch is recorded: step *i* = loading batch *i* + forward
  + backward + clip + optimizer step + logging of step *i* -- what ESPnet2's trainer logs as
  ``train_time`` (time from the end of the previous step to the end of this one).

Writes ``--step_log`` JSON: ``steps`` = [{"epoch", "step", "train_time", "end_unix", "n_utts", "uids_ok"}], and
``start_unix`` of the process (for time to first step).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# The process start, kept across the re-execution on jemalloc that python -m espkit.bin.tts_train does too.
START_UNIX = float(os.environ.setdefault("ESPKIT_BENCH_START_UNIX", repr(time.time())))

from espkit.torch_utils.host_allocator import use_jemalloc  # noqa: E402

use_jemalloc()  # as python -m espkit.bin.tts_train does, before torch is imported

from espkit.tasks.tts import TTSTask  # noqa: E402


class PinnedOrderTTSTask(TTSTask):
    """TTSTask whose train iterator yields a fixed per-epoch batch list and times each step."""

    batch_order: list = []  # per epoch: list of uid batches
    steps: list = []

    @classmethod
    def build_iter_factory(cls, args, distributed: bool, mode: str):
        factory = super().build_iter_factory(args, distributed, mode)
        if mode != "train" or args.collect_stats:
            return factory
        known = set(factory.dataset.uids)
        missing = {u for epoch in cls.batch_order for b in epoch for u in b} - known
        if missing:
            raise ValueError(
                f"--batch_order names {len(missing)} uids not in the training data, e.g. {sorted(missing)[:3]}"
            )
        order = cls.batch_order
        plain_build_iter = factory.build_iter

        def epoch_batches(epoch: int, shuffle=None):
            if not 1 <= epoch <= len(order):
                raise ValueError(f"--batch_order has {len(order)} epochs; epoch {epoch} was asked for")
            return [tuple(b) for b in order[epoch - 1]]

        def build_iter(epoch: int, shuffle=None, start_batch: int = 0):
            return cls._timed(
                plain_build_iter(epoch, shuffle=shuffle, start_batch=start_batch), epoch, order[epoch - 1][start_batch:]
            )

        factory.epoch_batches = epoch_batches  # what SequenceIterFactory.build_iter reads the batches from
        factory.num_batches = lambda epoch: len(order[epoch - 1])
        factory.build_iter = build_iter
        return factory

    @classmethod
    def _timed(cls, iterator, epoch: int, expected: list):
        start = time.perf_counter()
        for index, item in enumerate(iterator):
            yield item
            now = time.perf_counter()
            uids = list(item[0])
            cls.steps.append(
                dict(
                    epoch=epoch,
                    step=index + 1,
                    train_time=now - start,
                    end_unix=time.time(),
                    n_utts=len(uids),
                    uids_ok=sorted(uids) == sorted(expected[index]),
                )
            )
            start = now


def main() -> None:
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: espkit_train.py --batch_order FILE --step_log FILE -- <tts_train options>")
    split = argv.index("--")
    own, train_argv = argv[:split], argv[split + 1 :]
    options = dict(zip(own[::2], own[1::2]))
    PinnedOrderTTSTask.batch_order = json.loads(Path(options["--batch_order"]).read_text())["epochs"]
    try:
        PinnedOrderTTSTask.main(cmd=train_argv)
    finally:
        Path(options["--step_log"]).write_text(json.dumps(dict(start_unix=START_UNIX, steps=PinnedOrderTTSTask.steps)))


if __name__ == "__main__":
    main()
