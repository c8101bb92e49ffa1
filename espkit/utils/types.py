"""Small argparse value parsers shared by every entry point (ESPnet2's names)."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence, Tuple

import humanfriendly


def str2bool(value: str) -> bool:
    """Parse ``true/false/yes/no/1/0`` (case-insensitive)."""
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "y", "1", "on"):
        return True
    if lowered in ("false", "no", "n", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false), got {value!r}")


def _is_none(value: str) -> bool:
    return str(value).strip().lower() in ("none", "null", "nil", "")


def int_or_none(value: str) -> Optional[int]:
    """``"none"`` -> None, else an int."""
    return None if _is_none(value) else int(value)


def float_or_none(value: str) -> Optional[float]:
    """``"none"`` -> None, else a float."""
    return None if _is_none(value) else float(value)


def str_or_none(value: str) -> Optional[str]:
    """``"none"`` -> None, else the string itself."""
    return None if _is_none(value) else value


def humanfriendly_parse_size_or_none(value: str) -> Optional[float]:
    """``"1GB"``/``"500k"``/``"0"`` -> number of bytes; ``"none"`` -> None."""
    if _is_none(value):
        return None
    try:
        return float(humanfriendly.parse_size(str(value)))
    except humanfriendly.InvalidSize as exc:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} ({exc})") from None


def str2triple_str(value: str) -> Tuple[str, str, str]:
    """``"dump/train/wav.scp,speech,sound"`` -> ``("dump/train/wav.scp", "speech", "sound")``.

    The path may itself contain commas: the last two fields are name and type.
    """
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    parts = str(value).rsplit(",", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected 'path,name,type' (e.g. dump/train/wav.scp,speech,sound), got {value!r}"
        )
    path, name, kind = (p.strip() for p in parts)
    return path, name, kind


str2triple_str.accepts_sequence = True  # config files write it as a YAML list


def str2pair_str(value: str | Sequence[str]) -> Tuple[str, str]:
    """``"abc, def"`` (or the YAML list ``[abc, def]``) -> ``("abc", "def")``, each item stripped.

    Exactly two items, neither empty: ``"abc"``, ``"a,b,c"`` or ``"a,"`` is an ``ArgumentTypeError``.
    """
    items = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value).split(",")
    items = [item.strip() for item in items]
    if len(items) != 2 or not all(items):
        raise argparse.ArgumentTypeError(f"expected two non-empty items 'a,b', got {value!r}")
    return items[0], items[1]


str2pair_str.accepts_sequence = True  # config files may write it as a YAML list
