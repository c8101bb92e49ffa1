"""Loading the list of non-linguistic symbols (``<noise>``, ``[laughter]``, ...).

Tokenizers keep such a symbol as one token instead of splitting it into characters or phonemes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def load_non_linguistic_symbols(
    non_linguistic_symbols: str | Path | Iterable[str] | None,
) -> list[str]:
    """Return the symbols, longest first (so ``<noise2>`` wins over ``<noise>``).

    Args:
        non_linguistic_symbols: a text file with one symbol per line, a list of symbols, or None
            (no symbols). A path that does not exist raises FileNotFoundError.
    """
    if non_linguistic_symbols is None:
        return []
    if isinstance(non_linguistic_symbols, (str, Path)):
        path = Path(non_linguistic_symbols)
        if not path.is_file():
            raise FileNotFoundError(
                f"non_linguistic_symbols file {str(path)!r} does not exist "
                "(expected a text file with one symbol per line)"
            )
        with path.open(encoding="utf-8") as f:
            symbols = [line.strip() for line in f]
    else:
        symbols = [str(symbol).strip() for symbol in non_linguistic_symbols]
    unique = sorted({s for s in symbols if s}, key=lambda s: (-len(s), s))
    logger.debug("%d non-linguistic symbols", len(unique))
    return unique


def split_non_linguistic_symbols(line: str, symbols: list[str]) -> list[tuple[str, bool]]:
    """Cut ``line`` into pieces ``(text, is_symbol)``; symbols are matched longest first.

    >>> split_non_linguistic_symbols("a <noise> b", ["<noise>"])
    [('a ', False), ('<noise>', True), (' b', False)]
    """
    pieces: list[tuple[str, bool]] = []
    plain_start = 0
    position = 0
    while position < len(line):
        for symbol in symbols:
            if line.startswith(symbol, position):
                if plain_start < position:
                    pieces.append((line[plain_start:position], False))
                pieces.append((symbol, True))
                position += len(symbol)
                plain_start = position
                break
        else:
            position += 1
    if plain_start < len(line):
        pieces.append((line[plain_start:], False))
    return pieces
