"""Readers and a writer for Kaldi-style text tables (``text``, ``wav.scp``, ``utt2spk``, ...).

A table has one entry per line: a uid, a run of whitespace, then the value (the rest of the
line). Blank lines are skipped. Every format problem is reported as :class:`DataFormatError`
whose message starts with ``<file>:<line>:`` (1-based line number).

>>> write_2columns_text("dump/train/text", {"utt1": "hello world"})  # doctest: +SKIP
>>> read_2columns_text("dump/train/text")  # doctest: +SKIP
{'utt1': 'hello world'}
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

NUM_SEQUENCE_LOADER_TYPES = ("text_int", "text_float", "csv_int", "csv_float")


class DataFormatError(ValueError):
    """A data file is malformed; the message names the file and the 1-based line number."""


class DuplicateKeyError(DataFormatError, RuntimeError):
    """A uid appears twice in a table (also a ``RuntimeError``, what ESPnet2's readers raise)."""


def read_lines_with_numbers(path: str | Path) -> list[tuple[int, str, str]]:
    """Parse ``path`` into ``(lineno, uid, value)`` triples, in file order.

    ``value`` is "" when the line holds only a uid. Blank lines are skipped.
    Duplicate uids are not checked here.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    entries = []
    for lineno, raw_line in enumerate(raw.split(b"\n"), start=1):
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataFormatError(f"{path}:{lineno}: not valid UTF-8 ({e.reason})") from None
        line = line.strip()
        if not line:
            continue
        parts = line.split(maxsplit=1)
        uid = parts[0]
        value = parts[1] if len(parts) == 2 else ""
        entries.append((lineno, uid, value))
    return entries


def _read_table(path: str | Path) -> dict[str, tuple[int, str]]:
    """Read a 2-column table as ``uid -> (lineno, value)``, rejecting empty values and duplicates."""
    table: dict[str, tuple[int, str]] = {}
    for lineno, uid, value in read_lines_with_numbers(path):
        if value == "":
            raise DataFormatError(f"{path}:{lineno}: uid {uid!r} has no value; expected '<uid> <value>'")
        if uid in table:
            first = table[uid][0]
            raise DuplicateKeyError(
                f"{path}:{lineno}: duplicate uid {uid!r} (first seen at line {first}, again at line {lineno})"
            )
        table[uid] = (lineno, value)
    return table


def read_2columns_text(path: str | Path) -> dict[str, str]:
    """Read ``<uid> <value>`` lines into a dict, in file order.

    The value is everything after the first run of whitespace, without trailing
    whitespace; it may itself contain spaces (e.g. a transcript).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: a line has no value, a uid repeats, or the file is not UTF-8.
    """
    return {uid: value for uid, (_, value) in _read_table(path).items()}


def read_multi_columns_text(
    path: str | Path, return_unsplit: bool = False
) -> tuple[dict[str, list[str]], dict[str, str] | None]:
    """Read ``<uid> <col1> <col2> ...`` lines into ``uid -> [col1, col2, ...]``, in file order.

    Returns ESPnet2's pair ``(columns, unsplit)``: ``unsplit`` maps each uid to the rest of its
    line as one string when ``return_unsplit``, else it is None.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: a line has no columns after the uid, or a uid repeats.
    """
    table = _read_table(path)
    columns = {uid: value.split() for uid, (_, value) in table.items()}
    unsplit = {uid: value for uid, (_, value) in table.items()} if return_unsplit else None
    return columns, unsplit


def read_label(path: str | Path) -> dict[str, list[list[str]]]:
    """Read ``<uid> <start> <end> <label> <start> <end> <label> ...`` lines (ESPnet2's label
    files) into ``uid -> [[start, end, label], ...]``, in file order; the fields stay strings.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: a line's fields after the uid are not whole triples, or a uid repeats.
    """
    labels: dict[str, list[list[str]]] = {}
    for uid, (lineno, value) in _read_table(path).items():
        fields = value.split()
        if len(fields) % 3 != 0:
            raise DataFormatError(
                f"{path}:{lineno}: uid {uid!r} has {len(fields)} fields; expected <start> <end> <label> triples"
            )
        labels[uid] = [fields[i : i + 3] for i in range(0, len(fields), 3)]
    return labels


def load_num_sequence_text(path: str | Path, loader_type: str = "csv_int") -> dict[str, np.ndarray]:
    """Read a table of number sequences, e.g. ``utt1 3,5,1`` or ``utt1 0.5 1.0``.

    Args:
        path: Table file.
        loader_type: ``text_int`` / ``text_float`` (whitespace separated) or
            ``csv_int`` / ``csv_float`` (comma separated).

    Returns:
        ``uid -> (L,)`` array; int64 for ``*_int``, float64 for ``*_float``.

    Raises:
        ValueError: unknown ``loader_type``.
        DataFormatError: a token is not a number of the requested kind.
    """
    if loader_type not in NUM_SEQUENCE_LOADER_TYPES:
        raise ValueError(f"Unknown loader_type {loader_type!r}; valid: {', '.join(NUM_SEQUENCE_LOADER_TYPES)}")
    layout, kind = loader_type.split("_")
    to_number = int if kind == "int" else float
    dtype = np.int64 if kind == "int" else np.float64

    result: dict[str, np.ndarray] = {}
    for uid, (lineno, value) in _read_table(path).items():
        tokens = value.split(",") if layout == "csv" else value.split()
        numbers = []
        for token in tokens:
            token = token.strip()
            try:
                numbers.append(to_number(token))
            except ValueError:
                raise DataFormatError(
                    f"{path}:{lineno}: uid {uid!r}: token {token!r} is not "
                    f"{'an integer' if kind == 'int' else 'a number'} "
                    f"(loader_type={loader_type})"
                ) from None
        result[uid] = np.array(numbers, dtype=dtype)
    return result


def write_2columns_text(path: str | Path, mapping: Mapping[str, str]) -> None:
    """Write ``<uid> <value>`` lines atomically (temp file in the same directory + ``os.replace``).

    Parent directories are created. Readers never see a half-written file.

    Raises:
        ValueError: a uid is empty or contains whitespace, or a value is empty or has a newline.
    """
    path = Path(path)
    lines = []
    for uid, value in mapping.items():
        if not uid or any(c.isspace() for c in uid):
            raise ValueError(f"{path}: invalid uid {uid!r}; a uid must be non-empty without whitespace")
        value = str(value)
        if "\n" in value or "\r" in value:
            raise ValueError(f"{path}: value for uid {uid!r} contains a newline")
        if not value.strip():
            raise ValueError(f"{path}: value for uid {uid!r} is empty")
        lines.append(f"{uid} {value}\n")

    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique sibling name opened with "x" (so the umask applies, unlike mkstemp's 0600).
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp_path, "x", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    logger.debug("Wrote %d lines to %s", len(lines), path)
