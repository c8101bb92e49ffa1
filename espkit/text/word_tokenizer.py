"""Word tokenizer: split on a delimiter (whitespace by default)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from espkit.text.abs_tokenizer import AbsTokenizer
from espkit.text.non_linguistic_symbols import load_non_linguistic_symbols
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class WordTokenizer(AbsTokenizer):
    """Split text into words.

    >>> WordTokenizer().text2tokens("hello  big world")
    ['hello', 'big', 'world']

    Args:
        delimiter: string to split on; None splits on runs of whitespace.
        non_linguistic_symbols: file (one per line) or list of symbols; only used to drop them
            when ``remove_non_linguistic_symbols`` is true (a word is already one token).
        remove_non_linguistic_symbols: drop words that are non-linguistic symbols.
    """

    @typechecked
    def __init__(
        self,
        delimiter: str | None = None,
        non_linguistic_symbols: str | Path | Iterable[str] | None = None,
        remove_non_linguistic_symbols: bool = False,
    ) -> None:
        self.delimiter = delimiter
        self.remove_non_linguistic_symbols = remove_non_linguistic_symbols
        symbols = load_non_linguistic_symbols(non_linguistic_symbols)
        if symbols and not remove_non_linguistic_symbols:
            logger.warning(
                "non_linguistic_symbols are only used by the word tokenizer together with "
                "remove_non_linguistic_symbols=true; they are ignored"
            )
        self.non_linguistic_symbols = set(symbols) if remove_non_linguistic_symbols else set()

    def text2tokens(self, line: str) -> list[str]:
        """Split ``line``; empty pieces (doubled delimiters) are dropped."""
        return [word for word in line.split(self.delimiter) if word and word not in self.non_linguistic_symbols]

    def tokens2text(self, tokens: Iterable[str]) -> str:
        """Join words with the delimiter (a space when it is None)."""
        return (" " if self.delimiter is None else self.delimiter).join(tokens)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(delimiter={self.delimiter!r})"
