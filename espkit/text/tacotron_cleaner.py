"""The ``tacotron`` text cleaner: ESPnet2's (``tacotron_cleaner.cleaners.custom_english_cleaners``).

Steps, in order: the ``english`` cleaner (ASCII, lower case, numbers and abbreviations expanded,
whitespace collapsed; :func:`espkit.text.english_cleaner.english_cleaner`), then ESPnet2's symbol
rules — ``;`` and ``:`` become ``,``, ``-`` becomes a space, ``&`` becomes ``and``, the brackets
``( ) [ ] < >`` and double quotes are removed — and finally upper case.

>>> tacotron_cleaner("(Hello-World);   &  jr. & dr.")
'HELLO WORLD, AND JUNIOR AND DOCTOR'

Known differences from ESPnet2's package (docs/espnet_compat.md): espkit's abbreviation list is
longer (``ms.``, ``sr.``, ``prof.``, ``vs.``, ``etc.``) and spells ``mrs.`` "missus", and
leading/trailing whitespace is removed.
"""

from __future__ import annotations

import re

from espkit.text.english_cleaner import collapse_whitespace, english_cleaner

_SYMBOL_TABLE = str.maketrans({";": ",", ":": ",", "-": " ", "&": " and "})
_REMOVED_RE = re.compile(r"[()\[\]<>\"]+")


def tacotron_cleaner(text: str) -> str:
    """Normalise English text as ESPnet2's ``tacotron`` cleaner does (upper-case result)."""
    text = english_cleaner(text).translate(_SYMBOL_TABLE)
    text = _REMOVED_RE.sub("", text)
    return collapse_whitespace(text.upper())
