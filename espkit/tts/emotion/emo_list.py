"""Emotion label lists (``--emo_list``) and the name <-> id conversion.

>>> converter = EmotionLabelConverter("neutral,happy,sad,angry")
>>> converter.name2id("Happy"), converter.id2name(3), len(converter)
(1, 'angry', 4)
>>> converter.mix_to_weights({"happy": 3, "sad": 1}).tolist()
[0.0, 0.75, 0.25, 0.0]
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

_PATH_HINTS = ("/", "\\", ".")


def _check_label(label: str, where: str) -> str:
    """Strip ``label`` and reject empty labels or ones with whitespace, commas or colons."""
    if not isinstance(label, str):
        raise ValueError(f"{where}: emotion labels must be strings, got {label!r}")
    label = label.strip()
    if not label:
        raise ValueError(f"{where}: empty emotion label")
    if any(ch.isspace() for ch in label) or "," in label or ":" in label:
        raise ValueError(f"{where}: emotion label {label!r} must not contain whitespace, ',' or ':'")
    return label


def _check_unique(labels: list[str], where: str) -> list[str]:
    if not labels:
        raise ValueError(f"{where}: the emotion list is empty")
    seen: dict[str, str] = {}
    for label in labels:
        key = label.lower()
        if key in seen:
            raise ValueError(
                f"{where}: duplicate emotion label {label!r} (labels are case-insensitive; "
                f"{seen[key]!r} is already listed)"
            )
        seen[key] = label
    return labels


def _read_emo_file(path: Path) -> list[str]:
    """One label per line; trailing blank lines are allowed, others are not."""
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    labels = [_check_label(line, f"{path}:{lineno}") for lineno, line in enumerate(lines, 1)]
    return _check_unique(labels, str(path))


def load_emo_list(spec: str | Path | Sequence[str]) -> list[str]:
    """Read an emotion label list.

    Args:
        spec: a file with one label per line (a ``Path``, or a ``str`` naming an existing
            file), a comma-separated string (``"neutral,happy,sad,angry"``), or a list.

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
            raise FileNotFoundError(f"emotion list file {spec} does not exist")
        return _read_emo_file(spec)
    if isinstance(spec, str):
        if Path(spec).is_file():
            return _read_emo_file(Path(spec))
        if "," not in spec and any(hint in spec for hint in _PATH_HINTS):
            raise FileNotFoundError(
                f"emotion list file {spec} does not exist (give a file with one label per "
                "line, or comma-separated labels such as 'neutral,happy,sad,angry')"
            )
        where = f"emotion list {spec!r}"
        labels = [_check_label(part, where) for part in spec.split(",")]
        return _check_unique(labels, where)
    where = f"emotion list {list(spec)!r}"
    labels = [_check_label(label, where) for label in spec]
    return _check_unique(labels, where)


class EmotionLabelConverter:
    """Maps emotion names (case-insensitive) to ids and back, and builds mixture weights.

    Args:
        emo_list: labels, or anything :func:`load_emo_list` accepts.
    """

    @typechecked
    def __init__(self, emo_list: str | Path | Sequence[str]):
        self.emo_list = load_emo_list(emo_list)
        self._ids = {label.lower(): i for i, label in enumerate(self.emo_list)}

    def __len__(self) -> int:
        return len(self.emo_list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.emo_list!r})"

    def name2id(self, name: str) -> int:
        """Id of emotion ``name`` (case-insensitive); ValueError naming the known labels."""
        key = name.strip().lower() if isinstance(name, str) else None
        if key not in self._ids:
            raise ValueError(f"unknown emotion {name!r}; known emotions: {', '.join(self.emo_list)}")
        return self._ids[key]

    def id2name(self, emo_id: int) -> str:
        """Name of emotion id ``emo_id``; ValueError when out of range."""
        if isinstance(emo_id, bool) or not isinstance(emo_id, numbers.Integral):
            raise ValueError(f"emotion id must be an integer, got {emo_id!r}")
        if not 0 <= int(emo_id) < len(self.emo_list):
            raise ValueError(
                f"emotion id {emo_id} out of range [0, {len(self.emo_list)}); "
                f"known emotions: {', '.join(self.emo_list)}"
            )
        return self.emo_list[int(emo_id)]

    def mix_to_weights(self, mix: str | int | Mapping[str, float]) -> np.ndarray:
        """Emotion weights ``(num_emotions,)`` (float64, sum 1) for a name, an id or a mixture.

        Args:
            mix: an emotion name; an id (also as a decimal string such as ``"2"`` when no
                label is spelled so); a ``{name: weight}`` mapping; or a string
                ``"happy:0.7,sad:0.3"``. Weights must be finite and >= 0 with a positive sum;
                they are normalised to sum 1.
        """
        weights = np.zeros(len(self.emo_list), dtype=np.float64)
        wrong_type = f"emotion must be a name, an id or a {{name: weight}} mapping, got {mix!r}"
        if isinstance(mix, bool):
            raise ValueError(wrong_type)
        if isinstance(mix, numbers.Integral):
            weights[self._id_of(self.id2name(int(mix)))] = 1.0
            return weights
        if isinstance(mix, str):
            if ":" not in mix:
                weights[self._id_of(mix)] = 1.0
                return weights
            mix = self._parse_mix_string(mix)
        if not isinstance(mix, Mapping):
            raise ValueError(wrong_type)
        if not mix:
            raise ValueError("empty emotion mixture; give at least one {name: weight}")
        given: set[int] = set()
        for name, weight in mix.items():
            emo_id = self._id_of(name)
            if emo_id in given:
                raise ValueError(f"emotion {self.emo_list[emo_id]!r} is given twice in {dict(mix)!r}")
            given.add(emo_id)
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
                raise ValueError(f"weight of emotion {name!r} must be a number, got {weight!r}")
            weight = float(weight)
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of emotion {name!r} must be finite and >= 0, got {weight}")
            weights[emo_id] = weight
        total = weights.sum()
        if total <= 0:
            raise ValueError(f"emotion weights must have a positive sum, got {dict(mix)!r}")
        return weights / total

    def _id_of(self, name: str | int) -> int:
        """Id of a name, or of a decimal id string such as ``"2"`` when no label is named so."""
        if isinstance(name, str) and name.strip().isdigit() and name.strip() not in self._ids:
            self.id2name(int(name))
            return int(name)
        if isinstance(name, numbers.Integral) and not isinstance(name, bool):
            self.id2name(int(name))
            return int(name)
        return self.name2id(name)

    def _parse_mix_string(self, text: str) -> dict[str, float]:
        """``"happy:0.7,sad:0.3"`` -> ``{"happy": 0.7, "sad": 0.3}``."""
        mix: dict[str, float] = {}
        for part in text.split(","):
            name, sep, value = part.partition(":")
            name = name.strip()
            try:
                weight = float(value)
            except ValueError:
                weight = None
            if not sep or not name or weight is None:
                raise ValueError(
                    f"cannot parse emotion mixture {text!r}: write name:weight pairs separated "
                    "by commas, e.g. 'happy:0.7,sad:0.3'"
                )
            if name.lower() in {key.lower() for key in mix}:
                raise ValueError(f"emotion {name!r} is given twice in {text!r}")
            mix[name] = weight
        return mix
