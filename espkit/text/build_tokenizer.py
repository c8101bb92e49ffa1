"""Build a tokenizer from its ``token_type`` name (ESPnet2's ``build_tokenizer``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from espkit.text.abs_tokenizer import AbsTokenizer
from espkit.text.char_tokenizer import CharTokenizer
from espkit.text.phoneme_tokenizer import PhonemeTokenizer
from espkit.text.word_tokenizer import WordTokenizer
from espkit.utils.typecheck import typechecked

TOKEN_TYPES = ("char", "phn", "word")


@typechecked
def build_tokenizer(
    token_type: str,
    non_linguistic_symbols: str | Path | Iterable[str] | None = None,
    remove_non_linguistic_symbols: bool = False,
    space_symbol: str = "<space>",
    delimiter: str | None = None,
    g2p_type: str | None = None,
    g2p_cache_dir: str | Path | None = None,
) -> AbsTokenizer:
    """Return the tokenizer for ``token_type``.

    Args:
        token_type: ``char``, ``phn`` (needs ``g2p_type``) or ``word``.
        non_linguistic_symbols: file (one per line) or list of symbols kept as single tokens.
        remove_non_linguistic_symbols: drop those symbols from the tokens.
        space_symbol: token for a space (``char``) or a word boundary (``phn``).
        delimiter: word separator for ``word`` (None: whitespace).
        g2p_type: e.g. ``espeak_ng_english``; see :mod:`espkit.text.phoneme_tokenizer`.
        g2p_cache_dir: directory for the on-disk G2P cache of ``phn`` (None: memory only).
    """
    if token_type == "char":
        return CharTokenizer(
            non_linguistic_symbols=non_linguistic_symbols,
            space_symbol=space_symbol,
            remove_non_linguistic_symbols=remove_non_linguistic_symbols,
        )
    if token_type == "phn":
        if g2p_type is None:
            raise ValueError("token_type 'phn' needs a g2p type (--g2p / g2p_type), e.g. espeak_ng_english")

        return PhonemeTokenizer(
            g2p_type=g2p_type,
            non_linguistic_symbols=non_linguistic_symbols,
            space_symbol=space_symbol,
            remove_non_linguistic_symbols=remove_non_linguistic_symbols,
            cache_dir=g2p_cache_dir,
        )
    if token_type == "word":
        return WordTokenizer(
            delimiter=delimiter,
            non_linguistic_symbols=non_linguistic_symbols,
            remove_non_linguistic_symbols=remove_non_linguistic_symbols,
        )
    raise ValueError(f"unknown token_type {token_type!r}; valid token types: {', '.join(TOKEN_TYPES)}")
