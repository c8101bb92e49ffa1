"""Write a file all or nothing: a temporary file next to it, renamed over it once complete.

>>> with atomic_write("exp/config.yaml", "w", encoding="utf-8") as f:  # doctest: +SKIP
...     f.write(text)

A reader (or a later run) sees either the previous file or the complete new one; on any failure
inside the block the temporary file is removed and the previous file is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Optional


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: Optional[str] = None, durable: bool = False
) -> Iterator[IO]:
    """Open a temporary ``.<name>.*.tmp`` next to ``path`` for writing; rename it to ``path`` when
    the block ends without an error (parent directories are created).

    Args:
        mode: ``"w"`` (text) or ``"wb"``.
        durable: fsync the file before the rename and the directory after it (checkpoints), so
            the new file survives a power loss once the block has returned.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
    if durable:
        fsync_directory(path.parent)
