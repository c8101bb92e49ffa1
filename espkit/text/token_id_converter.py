"""Tokens <-> integer ids through a token list (ESPnet2's ``TokenIDConverter``).

The token list is a text file with one token per line (or a list); the line number, from 0, is the
id. ESPnet's conventions, written by ``espkit.bin.tokenize_text --add_symbol``: ``<blank>`` is 0,
``<unk>`` is 1 and ``<sos/eos>`` is last.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from espkit.fileio.read_text import DataFormatError, DuplicateKeyError
from espkit.utils.typecheck import typechecked


def _read_token_list_file(path: Path) -> list[tuple[str, str]]:
    """``[(token, where)]`` with ``where`` = ``"path:line"``."""
    if not path.is_file():
        raise FileNotFoundError(f"token list {str(path)!r} does not exist (one token per line)")
    entries = []
    with path.open(encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            # Trailing whitespace is dropped, but a token that is itself whitespace is kept.
            token = line[:1] + line[1:].rstrip()
            entries.append((token, f"{path}:{line_number}"))
    return entries


class TokenListError(DataFormatError, RuntimeError):
    """A token list without its unk symbol (also a ``RuntimeError``, what ESPnet2 raises)."""


class TokenIDConverter:
    """Map tokens to ids and back.

    >>> converter = TokenIDConverter(["<blank>", "<unk>", "a", "b", "<sos/eos>"])
    >>> converter.tokens2ids(["a", "z", "b"])
    [2, 1, 3]
    >>> converter.ids2tokens([3, 2])
    ['b', 'a']

    Args:
        token_list: a token list file, or the tokens themselves.
        unk_symbol: token for anything not in the list; it must be in the list.
    """

    @typechecked
    def __init__(self, token_list: str | Path | Iterable[str], unk_symbol: str = "<unk>") -> None:
        if isinstance(token_list, (str, Path)):
            self.token_list_repr = str(token_list)
            entries = _read_token_list_file(Path(token_list))
        else:
            tokens = list(token_list)
            shown = ", ".join(tokens[:3]) + (", ..." if len(tokens) > 3 else "")
            self.token_list_repr = f"[{shown}]"
            entries = [(token, f"token_list[{index}]") for index, token in enumerate(tokens)]
        self.token_list: list[str] = []
        self.token2id: dict[str, int] = {}
        where_of: dict[str, str] = {}
        for token, where in entries:
            if token == "":
                raise DataFormatError(f"{where}: empty token in the token list")
            if token in self.token2id:
                raise DuplicateKeyError(
                    f"{where}: duplicate token {token!r} in the token list (first at {where_of[token]})"
                )
            self.token2id[token] = len(self.token_list)
            where_of[token] = where
            self.token_list.append(token)
        if unk_symbol not in self.token2id:
            raise TokenListError(
                f"unk symbol {unk_symbol!r} is not in the token list {self.token_list_repr}; "
                "add it (tokenize_text --add_symbol '<unk>:1') or pass the right unk_symbol"
            )
        self.unk_symbol = unk_symbol
        self.unk_id = self.token2id[unk_symbol]

    def get_num_vocabulary_size(self) -> int:
        """Number of tokens (the output size of a model over them)."""
        return len(self.token_list)

    def tokens2ids(self, tokens: Iterable[str]) -> list[int]:
        """Tokens -> ids; unknown tokens map to the unk id."""
        return [self.token2id.get(token, self.unk_id) for token in tokens]

    def ids2tokens(self, integers: np.ndarray | Iterable[int]) -> list[str]:
        """Ids ``(L,)`` -> tokens; an id outside ``[0, vocabulary size)`` raises ValueError."""
        if isinstance(integers, np.ndarray) and integers.ndim != 1:
            raise ValueError(f"ids must be one-dimensional, got shape {integers.shape}")
        tokens = []
        for integer in integers:
            index = int(integer)
            if not 0 <= index < len(self.token_list):
                raise ValueError(
                    f"token id {index} is out of range for a vocabulary of {len(self.token_list)} "
                    f"tokens ({self.token_list_repr})"
                )
            tokens.append(self.token_list[index])
        return tokens

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(token_list={self.token_list_repr}, "
            f"vocab_size={len(self.token_list)}, unk_symbol={self.unk_symbol!r})"
        )
