"""``<output_dir>/history.jsonl``: one JSON line per finished epoch of a training run.

The trainer appends a line after each epoch's ``checkpoint.pth`` is saved; a line is one
``write`` of ``json.dumps(record) + "\\n"``, flushed and fsynced, so a run that is going on or
was killed leaves a readable prefix (at worst a partial last line, which :func:`read_history`
skips with a warning). A line holds::

    {"epoch": 3,
     "stats": {"train": {"loss": 0.41, "grad_norm": 1.2, "optim0_lr0": 0.001, "batches": 213,
                         "utts": 3408, "time": 71.5, ...},
               "valid": {"loss": 0.44, "time": 0.8, ...}},
     "timing": {"train_s": 71.5, "valid_s": 0.8, "s_per_batch": 0.336, "utts_per_s": 47.7,
                "elapsed_s": 216.0, "world_size": 1, "finished_at": "2026-12-05T22:08:14+00:00"}}

``stats`` are the reporter's epoch averages (:class:`espkit.train.reporter.Reporter`), so the
lines are the same numbers ``checkpoint.pth`` holds. ``timing`` (and each phase's ``time``) are
the only fields that depend on the machine: ``elapsed_s`` adds up the train and valid times of
the epochs so far; ``utts_per_s`` counts the utterances of every process (``world_size`` times
this process's, which the distributed sampler makes near equal); ``finished_at`` is null for a
line rebuilt from a checkpoint.

Resume: :func:`sync_history` makes the file hold exactly the epochs the restored checkpoint has
finished (a line the killed run wrote after its last checkpoint is dropped, a line it did not
get to write is rebuilt from the checkpoint), so a resumed run's file equals an uninterrupted
run's but for the timing fields.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from espkit.fileio.atomic_file import atomic_write
from espkit.fileio.read_text import DataFormatError

logger = logging.getLogger(__name__)

HISTORY_NAME = "history.jsonl"

PathLike = Union[str, os.PathLike]
# {epoch: {phase: {stat: value}}}: Reporter.history
EpochHistory = Mapping[int, Mapping[str, Mapping[str, float]]]


def _finite_or_none(value: float) -> Optional[float]:
    """JSON has no NaN/inf: they are written as null."""
    return value if math.isfinite(value) else None


def history_record(
    history: EpochHistory, epoch: int, world_size: int = 1, finished_at: Optional[str] = None
) -> Dict[str, Any]:
    """The line of ``epoch`` from the reporter's ``history`` (``{epoch: {phase: {stat: value}}}``).

    Args:
        history: every finished epoch so far (``elapsed_s`` adds up their times).
        epoch: the epoch the line is for; it must be in ``history``.
        world_size: the number of training processes (for ``utts_per_s``).
        finished_at: ISO time the epoch ended (None for a line rebuilt later).
    """
    if epoch not in history:
        raise KeyError(f"epoch {epoch} is not in the history (epochs: {sorted(history)})")
    phases = history[epoch]
    stats = {
        phase: {key: _finite_or_none(float(value)) for key, value in sorted(values.items())}
        for phase, values in sorted(phases.items())
    }
    train = phases.get("train", {})
    train_s = float(train.get("time", math.nan))
    batches = float(train.get("batches", math.nan))
    utts = float(train.get("utts", math.nan))
    elapsed = sum(
        float(values.get("time", 0.0))
        for e, epoch_phases in history.items()
        if e <= epoch
        for values in epoch_phases.values()
    )
    timing = {
        "train_s": _finite_or_none(train_s),
        "valid_s": _finite_or_none(float(phases.get("valid", {}).get("time", math.nan))),
        "s_per_batch": _finite_or_none(train_s / batches) if batches > 0 else None,
        "utts_per_s": _finite_or_none(utts * world_size / train_s) if train_s > 0 else None,
        "elapsed_s": elapsed,
        "world_size": world_size,
        "finished_at": finished_at,
    }
    return {"epoch": int(epoch), "stats": stats, "timing": timing}


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds (``finished_at``)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def append_history(path: PathLike, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one line (one write, flushed and fsynced).

    A partial last line left by a killed writer is ended first, so that it stays one bad
    line (skipped by :func:`read_history`) instead of swallowing the new record.
    """
    path = Path(path)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "ab") as handle:
        if handle.tell() > 0:
            with open(path, "rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":
                    line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_history(path: PathLike) -> List[Dict[str, Any]]:
    """The records of ``path`` sorted by epoch.

    A partial or unreadable last line (a run writing it, or killed while it did) is skipped
    with a warning; a bad line before the last one raises :class:`DataFormatError` naming the
    file and line. Of two lines for one epoch the later one is kept (warned).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: a malformed line other than the last.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    records: Dict[int, Dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("stats"), dict):
                raise ValueError("not an object with 'epoch' and 'stats'")
            epoch = int(record["epoch"])
        except (ValueError, KeyError, TypeError) as error:
            if number == len(lines):
                logger.warning(
                    "%s:%d: skipping an incomplete last line (the run is writing it or was killed while it did): %s",
                    path,
                    number,
                    error,
                )
                continue
            raise DataFormatError(
                f"{path}:{number}: not a history record ({error}); expected one JSON object per line"
            ) from None
        if epoch in records:
            logger.warning("%s:%d: epoch %d appears again; keeping this later line", path, number, epoch)
        records[epoch] = record
    return [records[epoch] for epoch in sorted(records)]


def records_from_history(history: EpochHistory, world_size: int = 1) -> List[Dict[str, Any]]:
    """Every epoch of a reporter's history as records (``finished_at`` null), sorted by epoch."""
    return [history_record(history, epoch, world_size) for epoch in sorted(history)]


def sync_history(path: PathLike, history: EpochHistory, last_epoch: int, world_size: int = 1) -> None:
    """Make ``path`` hold one line for each epoch of ``history`` up to ``last_epoch`` and no more.

    Called when a run starts: ``history`` and ``last_epoch`` (the last finished epoch, 0 for a
    new run) are those of the restored checkpoint. Lines already there keep their timing;
    missing ones (and any whose stats differ from the checkpoint's) are rebuilt from
    ``history``; lines of later epochs (written by a run killed before its next checkpoint, or
    left by an earlier run in the same directory) are dropped.
    The file is rewritten atomically, and only when it changes.
    """
    path = Path(path)
    existing: Dict[int, Dict[str, Any]] = {}
    if path.is_file():
        try:
            existing = {record["epoch"]: record for record in read_history(path)}
        except DataFormatError as error:
            logger.warning("%s; rebuilding the file from the checkpoint", error)
    wanted = [epoch for epoch in sorted(history) if epoch <= last_epoch]
    records, rebuilt = [], []
    for epoch in wanted:
        record = history_record(history, epoch, world_size)
        kept = existing.get(epoch)
        if kept is not None and kept["stats"] == record["stats"]:
            record = kept
        else:
            rebuilt.append(epoch)
        records.append(record)
    dropped = sorted(set(existing) - set(wanted))
    if dropped:
        logger.warning(
            "%s: dropping the lines of epochs %s (not in the checkpoint this run starts from)", path, dropped
        )
    if rebuilt and existing:
        logger.info("%s: rebuilding the lines of epochs %s from the checkpoint", path, rebuilt)
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    if not path.is_file() and not text:
        return
    with atomic_write(path, "w", encoding="utf-8", durable=True) as handle:
        handle.write(text)
