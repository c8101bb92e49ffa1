"""Character tokenizer: one token per character, spaces as ``<space>``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from espkit.text.abs_tokenizer import AbsTokenizer
from espkit.text.non_linguistic_symbols import (
    load_non_linguistic_symbols,
    split_non_linguistic_symbols,
)
from espkit.utils.typecheck import typechecked


class CharTokenizer(AbsTokenizer):
    """Split text into characters.

    >>> CharTokenizer().text2tokens("hi you")
    ['h', 'i', '<space>', 'y', 'o', 'u']

    Args:
        non_linguistic_symbols: file (one per line) or list of symbols kept as single tokens.
        space_symbol: token that stands for a space.
        remove_non_linguistic_symbols: drop those symbols instead of keeping them.
    """

    @typechecked
    def __init__(
        self,
        non_linguistic_symbols: str | Path | Iterable[str] | None = None,
        space_symbol: str = "<space>",
        remove_non_linguistic_symbols: bool = False,
    ) -> None:
        self.non_linguistic_symbols = load_non_linguistic_symbols(non_linguistic_symbols)
        self.space_symbol = space_symbol
        self.remove_non_linguistic_symbols = remove_non_linguistic_symbols

    def text2tokens(self, line: str) -> list[str]:
        """``"a <noise> b"`` -> ``["a", "<space>", "<noise>", "<space>", "b"]``."""
        tokens: list[str] = []
        for piece, is_symbol in split_non_linguistic_symbols(line, self.non_linguistic_symbols):
            if is_symbol:
                if not self.remove_non_linguistic_symbols:
                    tokens.append(piece)
                continue
            tokens.extend(self.space_symbol if char == " " else char for char in piece)
        return tokens

    def tokens2text(self, tokens: Iterable[str]) -> str:
        """Join tokens, turning the space symbol back into ``" "``."""
        return "".join(" " if token == self.space_symbol else token for token in tokens)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(space_symbol={self.space_symbol!r}, "
            f"non_linguistic_symbols={len(self.non_linguistic_symbols)}, "
            f"remove_non_linguistic_symbols={self.remove_non_linguistic_symbols})"
        )
