"""Shape files: one ``uid L`` or ``uid L,D[,...]`` line per utterance.

A shape file records the shape of each utterance's data (ESPnet2's ``*_shape`` files), e.g.::

    utt1 16000
    utt2 245,80

The first number is the length (samples, frames or tokens); the remaining numbers are the
per-step dimensions. Batch samplers read these files to group utterances by length.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

ShapeDict = dict[str, tuple[int, ...]]


def _parse_shape(text: str) -> tuple[int, ...]:
    """Parse ``"245,80"`` into ``(245, 80)``; ValueError unless non-negative integers."""
    fields = text.split(",")
    shape = tuple(int(field) for field in fields)
    if any(dim < 0 for dim in shape):
        raise ValueError("negative dimension")
    return shape


def load_shape_file(path: str | Path) -> ShapeDict:
    """Read a shape file into ``{uid: shape}``, keeping the file's order.

    Blank lines are skipped. A line that is not ``uid L`` or ``uid L,D[,...]`` with
    non-negative integers, or a uid seen twice, raises ValueError naming the file and the
    1-based line number.
    """
    shapes: ShapeDict = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if len(fields) == 0:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f"{path}:{line_number}: expected 'uid L' or 'uid L,D' "
                    f"(two whitespace-separated fields), got {line.rstrip()!r}"
                )
            uid, shape_text = fields
            try:
                shape = _parse_shape(shape_text)
            except ValueError:
                raise ValueError(
                    f"{path}:{line_number}: shape of {uid!r} must be comma-separated "
                    f"non-negative integers like '245' or '245,80', got {shape_text!r}"
                ) from None
            if uid in shapes:
                raise ValueError(f"{path}:{line_number}: duplicate uid {uid!r}")
            shapes[uid] = shape
    return shapes


def write_shape_file(path: str | Path, shapes: Mapping[str, Sequence[int]]) -> None:
    """Write ``{uid: shape}`` as a shape file, atomically (temporary file + ``os.replace``).

    The parent directory is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for uid, shape in shapes.items():
        if len(uid) == 0 or any(c.isspace() for c in uid):
            raise ValueError(f"{path}: uid {uid!r} must be non-empty without whitespace")
        if len(shape) == 0:
            raise ValueError(f"{path}: shape of {uid!r} is empty; give at least the length")
        lines.append(f"{uid} {','.join(str(int(dim)) for dim in shape)}\n")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def shape_file_list(paths: Sequence[str | Path]) -> list[str | Path]:
    """``list(paths)``, refusing a single string (a common slip for ``[path]``)."""
    if isinstance(paths, str):
        raise TypeError(f"shape_files must be a list of paths, got the string {paths!r}")
    return list(paths)


def load_shape_files(paths: Sequence[str | Path]) -> list[ShapeDict]:
    """Load several shape files describing the same utterances (e.g. text and speech).

    The first file defines the set of uids; every later file must hold all of them
    (extra uids there are ignored). Raises ValueError listing a few missing uids.
    """
    paths = shape_file_list(paths)
    if len(paths) == 0:
        raise ValueError("at least one shape file is required")
    shape_dicts = [load_shape_file(path) for path in paths]
    first = shape_dicts[0]
    if len(first) == 0:
        raise ValueError(f"{paths[0]}: the shape file holds no utterances")
    for path, shapes in zip(paths[1:], shape_dicts[1:]):
        missing = [uid for uid in first if uid not in shapes]
        if len(missing) > 0:
            shown = ", ".join(missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(f"{path}: {len(missing)} uid(s) of {paths[0]} are missing: {shown}{more}")
    return shape_dicts
