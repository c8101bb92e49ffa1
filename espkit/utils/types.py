"""Small argparse value parsers shared by every entry point (ESPnet2's names and errors).

A malformed value raises :class:`ArgumentValueError`, which is both argparse's
``ArgumentTypeError`` (so argparse prints our message as is) and a ``ValueError`` (what
ESPnet2's converters raise, so code catching ``ValueError`` keeps working).
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence, Tuple, Union

import humanfriendly


class ArgumentValueError(argparse.ArgumentTypeError, ValueError):
    """A command-line or config value that does not parse; the message says what was expected."""


def str2bool(value: str) -> bool:
    """Parse ``true/false/yes/no/y/n/on/off/1/0`` (case-insensitive), as ``distutils``' strtobool."""
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "y", "t", "1", "on"):
        return True
    if lowered in ("false", "no", "n", "f", "0", "off"):
        return False
    raise ArgumentValueError(f"expected a boolean (true/false), got {value!r}")


def remove_parenthesis(value: str) -> str:
    """``"(a, b)"`` or ``"[a, b]"`` -> ``"a, b"`` (outer whitespace stripped); anything else unchanged."""
    value = value.strip()
    if len(value) >= 2 and (value[0], value[-1]) in (("(", ")"), ("[", "]")):
        return value[1:-1]
    return value


def remove_quotes(value: str) -> str:
    """``'"a"'`` or ``"'a'"`` -> ``"a"`` (outer whitespace stripped); anything else unchanged."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def _is_none(value: str) -> bool:
    return str(value).strip().lower() in ("none", "null", "nil", "")


def int_or_none(value: str) -> Optional[int]:
    """``"none"`` -> None, else an int (``ValueError`` if it is not one)."""
    return None if _is_none(value) else int(value)


def float_or_none(value: str) -> Optional[float]:
    """``"none"`` -> None, else a float."""
    return None if _is_none(value) else float(value)


def str_or_none(value: str) -> Optional[str]:
    """``"none"`` -> None, else the string itself."""
    return None if _is_none(value) else value


def str_or_int(value: str) -> Union[str, int]:
    """``"3"`` -> 3; any other string is returned as it is (e.g. a device name or ``"auto"``)."""
    try:
        return int(value)
    except ValueError:
        return value


def parse_sampling_rate(fs: Union[int, str], option: str = "fs") -> int:
    """A sampling rate in Hz from an int or a humanfriendly string: ``"16k"`` -> 16000, ``"22.05k"`` -> 22050.

    ESPnet2's feature extractors accept both forms; a string that is not a whole number of Hz
    (``"16.0001k"``) or not positive raises ``ValueError`` naming ``option``.
    """
    if isinstance(fs, bool):
        raise ValueError(f"{option}: expected a sampling rate in Hz (e.g. 22050 or '22.05k'), got {fs!r}")
    if isinstance(fs, str):
        try:
            parsed = humanfriendly.parse_size(fs)
        except humanfriendly.InvalidSize:
            raise ValueError(f"{option}: not a sampling rate: {fs!r} (e.g. 22050 or '22.05k')") from None
        if parsed != int(parsed):
            raise ValueError(f"{option}: {fs!r} is not a whole number of Hz ({parsed})")
        fs = int(parsed)
    if fs <= 0:
        raise ValueError(f"{option}: a sampling rate must be positive, got {fs}")
    return int(fs)


def humanfriendly_parse_size_or_none(value: str) -> Optional[float]:
    """``"1GB"``/``"500k"``/``"0"`` -> number of bytes; ``"none"`` -> None."""
    if _is_none(value):
        return None
    try:
        return float(humanfriendly.parse_size(str(value)))
    except humanfriendly.InvalidSize as exc:
        raise ArgumentValueError(f"not a size: {value!r} ({exc})") from None


def str2triple_str(value: str) -> Tuple[str, str, str]:
    """``"dump/train/wav.scp,speech,sound"`` -> ``("dump/train/wav.scp", "speech", "sound")``.

    The path may itself contain commas: the last two fields are name and type. As in ESPnet2,
    outer parentheses/brackets (``"(a,b,c)"``) and quotes around each field (``"'a','b','c'"``,
    the repr of a YAML list) are removed.
    """
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    parts = remove_parenthesis(str(value)).rsplit(",", 2)
    if len(parts) != 3 or not all(remove_quotes(p) for p in parts):
        raise ArgumentValueError(f"expected 'path,name,type' (e.g. dump/train/wav.scp,speech,sound), got {value!r}")
    path, name, kind = (remove_quotes(p) for p in parts)
    return path, name, kind


str2triple_str.accepts_sequence = True  # config files write it as a YAML list


def str2pair_str(value: str | Sequence[str]) -> Tuple[str, str]:
    """``"abc, def"`` (or the YAML list ``[abc, def]``) -> ``("abc", "def")``, each item stripped.

    Exactly two items, neither empty: ``"abc"``, ``"a,b,c"`` or ``"a,"`` is an
    :class:`ArgumentValueError`. Outer parentheses/brackets and quotes are removed as in ESPnet2
    (``"('a', 'b')"`` -> ``("a", "b")``).
    """
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = remove_parenthesis(str(value)).split(",")
    items = [remove_quotes(item) for item in items]
    if len(items) != 2 or not all(items):
        raise ArgumentValueError(f"expected two non-empty items 'a,b', got {value!r}")
    return items[0], items[1]


str2pair_str.accepts_sequence = True  # config files may write it as a YAML list
