"""Shared behaviour of the scp readers and writers (``wav.scp``, ``feats.scp``, ...).

An scp file is a 2-column table ``<uid> <path>``. Readers are lazy mappings: the table is
parsed once (so malformed lines fail early with ``file:line``), each data file is loaded only
when its uid is accessed. Relative paths are resolved against the current working directory,
as in Kaldi and ESPnet, so run from the recipe directory.

Writers store each item as ``<outdir>/<uid><suffix>`` and append ``<uid> <path>`` to the scp.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from espkit.fileio.read_text import read_2columns_text

logger = logging.getLogger(__name__)


class AbsScpReader(Mapping, ABC):
    """Lazy ``uid -> loaded item`` mapping over an scp file; subclasses define :meth:`load`."""

    def __init__(self, fname: str | Path):
        self.fname = Path(fname)
        self.data = read_2columns_text(self.fname)

    @abstractmethod
    def load(self, path: str) -> Any:
        """Load the item stored at ``path`` (as written in the scp)."""
        raise NotImplementedError

    def get_path(self, uid: str) -> str:
        """The path of ``uid`` exactly as written in the scp."""
        try:
            return self.data[uid]
        except KeyError:
            raise KeyError(f"uid {uid!r} not found in {self.fname}") from None

    def __getitem__(self, uid: str) -> Any:
        path = self.get_path(uid)
        if path.endswith("|"):
            raise ValueError(
                f"{self.fname}: uid {uid!r}: piped commands ({path!r}) are not supported; "
                "write the audio to files first"
            )
        return self.load(path)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, uid: object) -> bool:
        return uid in self.data

    def keys(self):
        return self.data.keys()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.fname)!r}, {len(self)} entries)"


class AbsScpWriter(ABC):
    """Write ``writer[uid] = item`` to ``<outdir>/<uid><suffix>`` and list it in ``scpfile``.

    Use as a context manager (or call :meth:`close`) so the scp file is flushed and closed.
    """

    suffix: str = ""

    def __init__(self, outdir: str | Path, scpfile: str | Path):
        self.dir = Path(outdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.scpfile = Path(scpfile)
        self.scpfile.parent.mkdir(parents=True, exist_ok=True)
        self._fscp = open(self.scpfile, "w", encoding="utf-8")
        self.data: dict[str, str] = {}

    @abstractmethod
    def save(self, path: Path, value: Any) -> None:
        """Write ``value`` to ``path``."""
        raise NotImplementedError

    def __setitem__(self, uid: str, value: Any) -> None:
        if self._fscp.closed:
            raise ValueError(f"{self.scpfile}: writer is closed; cannot add uid {uid!r}")
        if not uid or any(c.isspace() for c in uid) or "/" in uid or uid in (".", ".."):
            raise ValueError(
                f"{self.scpfile}: invalid uid {uid!r}; it names a file, so it must be non-empty, "
                "without whitespace or '/'"
            )
        if uid in self.data:
            raise ValueError(f"{self.scpfile}: duplicate uid {uid!r}")
        path = self.dir / f"{uid}{self.suffix}"
        self.save(path, value)
        self._fscp.write(f"{uid} {path}\n")
        self._fscp.flush()
        self.data[uid] = str(path)

    def get_path(self, uid: str) -> str:
        """The path written for ``uid``."""
        try:
            return self.data[uid]
        except KeyError:
            raise KeyError(f"uid {uid!r} not written to {self.scpfile}") from None

    def close(self) -> None:
        self._fscp.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()
