"""The tokenizer interface: text line <-> list of token strings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable


class AbsTokenizer(ABC):
    """Split a line of text into tokens and join tokens back into text.

    Subclasses implement :meth:`text2tokens` and :meth:`tokens2text`; those whose backend is
    cheaper per batch (e.g. one G2P process for many lines) also override :meth:`text2tokens_batch`.
    """

    @abstractmethod
    def text2tokens(self, line: str) -> list[str]:
        """``"hello world"`` -> e.g. ``["h", "e", "l", "l", "o", "<space>", ...]``."""

    @abstractmethod
    def tokens2text(self, tokens: Iterable[str]) -> str:
        """Inverse of :meth:`text2tokens` as far as the tokenization allows."""

    def text2tokens_batch(self, lines: Iterable[str]) -> list[list[str]]:
        """Tokenize many lines; ``result[i] == self.text2tokens(lines[i])``."""
        return [self.text2tokens(line) for line in lines]
