"""Write a Kaldi-style data directory of 2-column text files, one line per uid
(:class:`DatadirWriter`), or a whole speech data directory at once (:func:`write_speech_data_dir`,
:func:`write_speech_data_sets` for the splits of one corpus).

>>> with DatadirWriter("exp/decode") as writer:  # doctest: +SKIP
...     writer["text"]["utt1"] = "hello"            # -> exp/decode/text: "utt1 hello"
...     writer["sub"]["wav.scp"]["utt1"] = "a.wav"  # -> exp/decode/sub/wav.scp
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from espkit.fileio.read_text import write_2columns_text

logger = logging.getLogger(__name__)


class DatadirWriter:
    """A node of a data directory: either a directory (``writer[name]`` gives a child node)
    or a text file (``writer[uid] = value`` appends ``<uid> <value>``).

    What a node is gets fixed by its first use; mixing both uses on one node is an error.
    Files are created on the first line written; :meth:`close` closes the whole tree.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.children: dict[str, DatadirWriter] = {}
        self._fd: IO[str] | None = None
        self._uids: set[str] = set()
        self._closed = False

    def __enter__(self) -> DatadirWriter:
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")

    def __getitem__(self, name: str) -> DatadirWriter:
        """The child node ``<path>/<name>`` (a sub-directory or a file)."""
        self._check_open()
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is a file (lines were written to it), not a directory")
        if not name or name in (".", "..") or "/" in name:
            raise ValueError(f"{self.path}: invalid entry name {name!r}")
        if name not in self.children:
            self.children[name] = DatadirWriter(self.path / name)
        return self.children[name]

    def __setitem__(self, uid: str, value: str) -> None:
        """Append ``<uid> <value>`` to this node's file."""
        self._check_open()
        if self.children:
            raise RuntimeError(f"{self.path} is a directory (it has entries), not a file")
        if not isinstance(value, str):
            raise TypeError(f"{self.path}: value for uid {uid!r} must be str, got {type(value).__name__}")
        if not uid or any(c.isspace() for c in uid):
            raise ValueError(f"{self.path}: invalid uid {uid!r}; it must be non-empty without whitespace")
        if "\n" in value or "\r" in value:
            raise ValueError(f"{self.path}: value for uid {uid!r} contains a newline")
        if not value.strip():
            raise ValueError(f"{self.path}: value for uid {uid!r} is empty; read_2columns_text would reject the line")
        if uid in self._uids:
            raise ValueError(f"{self.path}: duplicate uid {uid!r}")
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = open(self.path, "w", encoding="utf-8")
        self._fd.write(f"{uid} {value}\n")
        self._uids.add(uid)

    def close(self) -> None:
        """Close this node's file and all children; safe to call twice."""
        for child in self.children.values():
            child.close()
        if self._fd is not None:
            self._fd.close()
        self._closed = True


def write_speech_data_dir(
    outdir: str | Path, wav_scp: Mapping[str, str], text: Mapping[str, str], utt2spk: Mapping[str, str]
) -> None:
    """Write a Kaldi data directory of a speech corpus: ``wav.scp``, ``text``, ``utt2spk`` and
    ``spk2utt`` (``<speaker> <uid> <uid> ...``), every file sorted by its first column.

    Raises:
        ValueError: the three tables do not hold the same uids (the message names the first
            differences), or a value :func:`~espkit.fileio.read_text.write_2columns_text` rejects.
    """
    outdir = Path(outdir)
    uids = sorted(wav_scp)
    for name, table in (("text", text), ("utt2spk", utt2spk)):
        if set(table) != set(uids):
            differ = sorted(set(table) ^ set(uids))
            raise ValueError(f"{outdir}: wav.scp and {name} hold different uids (e.g. {differ[:3]})")
    spk2utt: dict[str, list[str]] = {}
    for uid in uids:
        spk2utt.setdefault(utt2spk[uid], []).append(uid)
    write_2columns_text(outdir / "wav.scp", {uid: wav_scp[uid] for uid in uids})
    write_2columns_text(outdir / "text", {uid: text[uid] for uid in uids})
    write_2columns_text(outdir / "utt2spk", {uid: utt2spk[uid] for uid in uids})
    write_2columns_text(outdir / "spk2utt", {spk: " ".join(spk2utt[spk]) for spk in sorted(spk2utt)})


def write_speech_data_sets(
    outdir: str | Path, sets: Mapping[str, Sequence[str]], utterances: Mapping[str, tuple[str, str, str]]
) -> None:
    """Write one speech data directory per set, ``<outdir>/<set name>`` (see :func:`write_speech_data_dir`),
    each of the uids ``sets[name]``, from ``utterances``: ``uid -> (wav.scp entry, text, speaker)``.

    Raises:
        ValueError: a uid of a set is not in ``utterances`` (the message names it and the set;
            nothing is written then).
    """
    for name, uids in sets.items():
        missing = [uid for uid in uids if uid not in utterances]
        if missing:
            raise ValueError(f"{Path(outdir) / name}: uid {missing[0]} is not among the utterances")
    for name, uids in sets.items():
        write_speech_data_dir(
            Path(outdir) / name,
            wav_scp={uid: utterances[uid][0] for uid in uids},
            text={uid: utterances[uid][1] for uid in uids},
            utt2spk={uid: utterances[uid][2] for uid in uids},
        )
