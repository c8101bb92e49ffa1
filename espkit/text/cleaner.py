"""Text cleaners: named normalisations applied to a transcription before tokenization.

>>> cleaner = TextCleaner("english")
>>> cleaner("Mr. Jones owes me $20!")
'mister jones owes me twenty dollars!'
"""

from __future__ import annotations

from collections.abc import Callable

from espkit.text.english_cleaner import english_cleaner
from espkit.text.tacotron_cleaner import tacotron_cleaner
from espkit.utils.typecheck import typechecked


def _no_cleaning(text: str) -> str:
    return text


CLEANERS: dict[str, Callable[[str], str]] = {
    "none": _no_cleaning,
    "english": english_cleaner,
    "tacotron": tacotron_cleaner,  # ESPnet2's cleaner: upper case, its symbol rules
}


class TextCleaner:
    """Apply one or more cleaners, in the given order.

    Args:
        cleaner_types: a cleaner name, a list of names, or None (no cleaning). Valid names are the
            keys of :data:`CLEANERS`: ``none``, ``english`` (lower case), ``tacotron`` (ESPnet2's:
            ``english``, then its symbol rules, upper case; :mod:`espkit.text.tacotron_cleaner`).
    """

    @typechecked
    def __init__(self, cleaner_types: str | list[str] | tuple[str, ...] | None = None) -> None:
        if cleaner_types is None:
            names: list[str] = []
        elif isinstance(cleaner_types, str):
            names = [cleaner_types]
        else:
            names = list(cleaner_types)
        for name in names:
            if name not in CLEANERS:
                raise ValueError(f"unknown text cleaner {name!r}; valid cleaners: {', '.join(CLEANERS)}")
        self.cleaner_types = names
        self._functions = [CLEANERS[name] for name in names]

    def __call__(self, text: str) -> str:
        """Return ``text`` passed through every cleaner in turn."""
        for function in self._functions:
            text = function(text)
        return text

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(cleaner_types={self.cleaner_types})"
