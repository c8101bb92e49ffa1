"""The ``english`` text cleaner (``tacotron``, ESPnet2's, builds on it: :mod:`espkit.text.tacotron_cleaner`).

Steps, in order: normalise quotes/dashes/accents to plain ASCII where a Latin equivalent exists,
lower-case, expand numbers (:func:`espkit.text.english_numbers.expand_numbers`), expand common
abbreviations, collapse whitespace.

>>> english_cleaner("Dr. Smith paid  $5 on the 3rd.")
'doctor smith paid five dollars on the third.'
"""

from __future__ import annotations

import re
import unicodedata

from espkit.text.english_numbers import expand_numbers

# Typographic characters -> their plain counterparts.
_PUNCTUATION_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
    "\u2013": " - ", "\u2014": " - ", "\u2015": " - ",
    "\u2026": "...",
    "&": " and ",
}  # fmt: skip
_PUNCTUATION_TABLE = str.maketrans(_PUNCTUATION_MAP)

# Latin letters that NFKD does not decompose.
_LETTER_MAP = str.maketrans(
    {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ø": "o", "Ø": "O", "ð": "d",
     "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i"}
)  # fmt: skip

# (abbreviation without the dot, expansion); matched as whole words followed by a dot.
_ABBREVIATIONS = [
    ("mrs", "missus"),
    ("mr", "mister"),
    ("ms", "miss"),
    ("drs", "doctors"),
    ("dr", "doctor"),
    ("st", "saint"),
    ("co", "company"),
    ("jr", "junior"),
    ("sr", "senior"),
    ("maj", "major"),
    ("gen", "general"),
    ("rev", "reverend"),
    ("lt", "lieutenant"),
    ("hon", "honorable"),
    ("sgt", "sergeant"),
    ("capt", "captain"),
    ("esq", "esquire"),
    ("ltd", "limited"),
    ("col", "colonel"),
    ("ft", "fort"),
    ("prof", "professor"),
    ("vs", "versus"),
    ("etc", "et cetera"),
]
_ABBREVIATION_RE = re.compile(r"\b(" + "|".join(a for a, _ in _ABBREVIATIONS) + r")\.")
_ABBREVIATION_MAP = dict(_ABBREVIATIONS)
_WHITESPACE_RE = re.compile(r"\s+")


def normalize_punctuation(text: str) -> str:
    """Curly quotes -> straight quotes, dashes -> "-", "…" -> "...", "&" -> "and"."""
    return text.translate(_PUNCTUATION_TABLE)


def strip_accents(text: str) -> str:
    """ "café naïve æon" -> "cafe naive aeon"; characters without a Latin base are kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTER_MAP))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def expand_abbreviations(text: str) -> str:
    """ "mr. smith" -> "mister smith" (lower-case input)."""
    return _ABBREVIATION_RE.sub(lambda m: _ABBREVIATION_MAP[m.group(1)], text)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace -> one space; no leading/trailing space."""
    return _WHITESPACE_RE.sub(" ", text).strip()


def english_cleaner(text: str) -> str:
    """Normalise English text for TTS (see the module docstring for the steps)."""
    text = strip_accents(normalize_punctuation(text))
    text = text.lower()
    text = expand_numbers(text)
    text = expand_abbreviations(text)
    return collapse_whitespace(text)
