"""Phoneme tokenizer: text -> IPA phonemes (espeak-ng), words separated by ``<space>``.

``g2p_type`` names (ESPnet's): ``espeak_ng_english`` (= ``espeak_ng_en_us``, voice ``en-us``),
``espeak_ng_en_gb`` (voice ``en-gb``), or ``espeak_ng:<voice>`` for any espeak-ng voice
(``espeak_ng:de``, ``espeak_ng:fr-fr``; see ``espeak-ng --voices``).

>>> tokenizer = PhonemeTokenizer("espeak_ng_english")
>>> tokenizer.text2tokens("Hello world")
['h', 'ə', 'l', 'ˈoʊ', '<space>', 'w', 'ˈɜː', 'l', 'd']
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from espkit.text.abs_tokenizer import AbsTokenizer
from espkit.text.espeak_ng_g2p import EspeakNgG2p
from espkit.text.non_linguistic_symbols import (
    load_non_linguistic_symbols,
    split_non_linguistic_symbols,
)
from espkit.utils.typecheck import typechecked

G2P_VOICES = {
    "espeak_ng_english": "en-us",
    "espeak_ng_en_us": "en-us",
    "espeak_ng_en_gb": "en-gb",
}
GENERIC_G2P_PREFIX = "espeak_ng:"


def g2p_type_to_voice(g2p_type: str) -> str:
    """``"espeak_ng_english"`` -> ``"en-us"``, ``"espeak_ng:de"`` -> ``"de"``."""
    if g2p_type in G2P_VOICES:
        return G2P_VOICES[g2p_type]
    if g2p_type.startswith(GENERIC_G2P_PREFIX) and g2p_type[len(GENERIC_G2P_PREFIX) :].strip():
        return g2p_type[len(GENERIC_G2P_PREFIX) :].strip()
    raise ValueError(
        f"unknown g2p type {g2p_type!r}; valid: {', '.join(G2P_VOICES)}, "
        f"or '{GENERIC_G2P_PREFIX}<voice>' with a voice from `espeak-ng --voices`"
    )


class PhonemeTokenizer(AbsTokenizer):
    """Split text into phonemes; word boundaries become ``space_symbol``.

    Stress marks stay on their vowel (``ˈoʊ``), affricates are one token (``dʒ``). Non-linguistic
    symbols are kept as single tokens (or removed) and the text around them is converted apart.

    Args:
        g2p_type: see the module docstring; None (ESPnet2's): the text is already phonemes
            separated by one space, words by three (a word boundary becomes a ``" "`` token).
        non_linguistic_symbols: file (one per line) or list of symbols kept as single tokens.
        space_symbol: token placed between words.
        remove_non_linguistic_symbols: drop those symbols instead of keeping them.
        cache_dir: directory for the on-disk G2P cache (None: in memory only).
    """

    @typechecked
    def __init__(
        self,
        g2p_type: str | None,
        non_linguistic_symbols: str | Path | Iterable[str] | None = None,
        space_symbol: str = "<space>",
        remove_non_linguistic_symbols: bool = False,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.g2p_type = g2p_type
        # None (ESPnet2): the text is already phonemes, one space between them, three between words.
        self.g2p = None if g2p_type is None else EspeakNgG2p(g2p_type_to_voice(g2p_type), cache_dir=cache_dir)
        self.non_linguistic_symbols = load_non_linguistic_symbols(non_linguistic_symbols)
        self.space_symbol = space_symbol
        self.remove_non_linguistic_symbols = remove_non_linguistic_symbols

    def text2tokens(self, line: str) -> list[str]:
        """ "Hello world" -> ["h", "ə", "l", "ˈoʊ", "<space>", "w", "ˈɜː", "l", "d"]."""
        return self.text2tokens_batch([line])[0]

    def text2tokens_batch(self, lines: Iterable[str]) -> list[list[str]]:
        """Tokenize many lines with one espeak-ng process (plus cache hits)."""
        if self.g2p is None:
            return [
                [" " if t == "<space>" else t for t in line.replace("   ", " <space> ").split(" ")] for line in lines
            ]
        lines_pieces = [split_non_linguistic_symbols(line, self.non_linguistic_symbols) for line in lines]
        texts = [piece for pieces in lines_pieces for piece, is_symbol in pieces if not is_symbol]
        phonemes_of = dict(zip(texts, self.g2p(texts)))
        return [self._assemble(pieces, phonemes_of) for pieces in lines_pieces]

    def _assemble(self, pieces: list[tuple[str, bool]], phonemes_of: dict) -> list[str]:
        """Join words of phonemes and kept symbols, with ``space_symbol`` where text had spaces."""
        # (tokens of one word or symbol, whether whitespace precedes it in the line)
        units: list[tuple[tuple[str, ...], bool]] = []
        previous_ends_with_space = False
        for piece, is_symbol in pieces:
            if is_symbol:
                if not self.remove_non_linguistic_symbols:
                    units.append(((piece,), previous_ends_with_space))
                previous_ends_with_space = False
                continue
            for index, word in enumerate(phonemes_of[piece]):
                units.append((word, index > 0 or piece[:1].isspace()))
            previous_ends_with_space = piece[-1:].isspace()
        tokens: list[str] = []
        for unit_tokens, space_before in units:
            if tokens and space_before:
                tokens.append(self.space_symbol)
            tokens.extend(unit_tokens)
        return tokens

    def tokens2text(self, tokens: Iterable[str]) -> str:
        """Phonemes joined into an IPA string, ``space_symbol`` -> ``" "``."""
        return "".join(" " if token == self.space_symbol else token for token in tokens)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(g2p_type={self.g2p_type!r}, "
            f"space_symbol={self.space_symbol!r}, "
            f"non_linguistic_symbols={len(self.non_linguistic_symbols)}, "
            f"remove_non_linguistic_symbols={self.remove_non_linguistic_symbols})"
        )
