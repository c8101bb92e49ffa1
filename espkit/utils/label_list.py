"""Label lists (``--emo_list``, ``--spk_list``) and the name <-> id conversion they define.

A list is given as a file (one label per line), a comma-separated string or a list; a label's
id is its position. Labels are case-insensitive (``Happy`` is ``happy``) and must not contain
whitespace, ``,`` or ``:`` (the separators of the comma and mixture forms).

>>> converter = LabelConverter("p225,p226,p227", kind="speaker")
>>> converter.name2id("P226"), converter.id2name(2), len(converter)
(1, 'p227', 3)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from pathlib import Path

from espkit.utils.typecheck import typechecked

_PATH_HINTS = ("/", "\\", ".")


def _check_label(label: str, where: str, kind: str) -> str:
    """Strip ``label`` and reject empty labels or ones with whitespace, commas or colons."""
    if not isinstance(label, str):
        raise ValueError(f"{where}: {kind} labels must be strings, got {label!r}")
    label = label.strip()
    if not label:
        raise ValueError(f"{where}: empty {kind} label")
    if any(ch.isspace() for ch in label) or "," in label or ":" in label:
        raise ValueError(f"{where}: {kind} label {label!r} must not contain whitespace, ',' or ':'")
    return label


def _check_unique(labels: list[str], where: str, kind: str) -> list[str]:
    if not labels:
        raise ValueError(f"{where}: the {kind} list is empty")
    seen: dict[str, str] = {}
    for label in labels:
        key = label.lower()
        if key in seen:
            raise ValueError(
                f"{where}: duplicate {kind} label {label!r} (labels are case-insensitive; "
                f"{seen[key]!r} is already listed)"
            )
        seen[key] = label
    return labels


def _read_label_file(path: Path, kind: str) -> list[str]:
    """One label per line; trailing blank lines are allowed, others are not."""
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    labels = [_check_label(line, f"{path}:{lineno}", kind) for lineno, line in enumerate(lines, 1)]
    return _check_unique(labels, str(path), kind)


def load_label_list(spec: str | Path | Sequence[str], kind: str = "label", example: str = "a,b,c") -> list[str]:
    """Read a label list.

    Args:
        spec: a file with one label per line (a ``Path``, or a ``str`` naming an existing
            file), a comma-separated string (``"neutral,happy"``), or a list.
        kind: what the labels are (``emotion``, ``speaker``), named in the errors.
        example: a comma-separated list shown in the error for a missing file.

    Returns:
        the labels in order (their id is their position).

    Raises:
        ValueError: empty or duplicate (case-insensitive) labels, or labels with
            whitespace, ``,`` or ``:``.
        FileNotFoundError: ``spec`` is a ``Path``, or a ``str`` without commas that looks
            like a path (has ``/``, ``\\`` or ``.``), and no such file exists.
    """
    if isinstance(spec, Path):
        if not spec.is_file():
            raise FileNotFoundError(f"{kind} list file {spec} does not exist")
        return _read_label_file(spec, kind)
    if isinstance(spec, str):
        if Path(spec).is_file():
            return _read_label_file(Path(spec), kind)
        if "," not in spec and any(hint in spec for hint in _PATH_HINTS):
            raise FileNotFoundError(
                f"{kind} list file {spec} does not exist (give a file with one label per "
                f"line, or comma-separated labels such as '{example}')"
            )
        where = f"{kind} list {spec!r}"
        labels = [_check_label(part, where, kind) for part in spec.split(",")]
        return _check_unique(labels, where, kind)
    where = f"{kind} list {list(spec)!r}"
    labels = [_check_label(label, where, kind) for label in spec]
    return _check_unique(labels, where, kind)


class LabelConverter:
    """Maps label names (case-insensitive) to ids and back.

    Args:
        labels: labels, or anything :func:`load_label_list` accepts.
        kind: what the labels are, named in the errors (``unknown speaker 'x'; known speakers: ...``).
    """

    @typechecked
    def __init__(self, labels: str | Path | Sequence[str], kind: str = "label"):
        self.kind = kind
        self.labels = load_label_list(labels, kind)
        self._ids = {label.lower(): i for i, label in enumerate(self.labels)}

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.labels!r})"

    def known(self) -> str:
        """``known <kind>s: a, b, c`` (for error messages)."""
        return f"known {self.kind}s: {', '.join(self.labels)}"

    def name2id(self, name: str) -> int:
        """Id of label ``name`` (case-insensitive); ValueError naming the known labels."""
        key = name.strip().lower() if isinstance(name, str) else None
        if key not in self._ids:
            raise ValueError(f"unknown {self.kind} {name!r}; {self.known()}")
        return self._ids[key]

    def id2name(self, label_id: int) -> str:
        """Name of id ``label_id``; ValueError when it is no integer or out of range."""
        if isinstance(label_id, bool) or not isinstance(label_id, numbers.Integral):
            raise ValueError(f"{self.kind} id must be an integer, got {label_id!r}")
        if not 0 <= int(label_id) < len(self.labels):
            raise ValueError(f"{self.kind} id {label_id} out of range [0, {len(self.labels)}); {self.known()}")
        return self.labels[int(label_id)]

    def to_id(self, value: str | int) -> int:
        """Id of a name, of an integer id, or of a decimal id string such as ``"2"`` when no
        label is spelled so (a label always wins over the id of the same spelling)."""
        if isinstance(value, str) and value.strip().isdigit() and value.strip().lower() not in self._ids:
            value = int(value)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            self.id2name(int(value))
            return int(value)
        return self.name2id(value)
