"""Speaker lists (``--spk_list``) and the name <-> id conversion of speaker ids (``sids``).

A speaker's id is its position in the list (``tts.sh --use_sid true`` writes the training set's
speakers, sorted, as ``dump/raw/<train_set>/spk_list``); the list is saved in ``config.yaml``
and sets the model's ``spks``.

>>> speakers = SpeakerConverter("p225,p226,p227")
>>> speakers.to_id("p226"), speakers.to_id(2), speakers.to_id("0"), speakers.id2name(1)
(1, 2, 0, 'p226')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from espkit.utils.label_list import LabelConverter, load_label_list
from espkit.utils.typecheck import typechecked


def load_spk_list(spec: str | Path | Sequence[str]) -> list[str]:
    """Read a speaker list: :func:`~espkit.utils.label_list.load_label_list` of speakers (a file
    with one name per line, ``"p225,p226"`` or a list)."""
    return load_label_list(spec, kind="speaker", example="p225,p226")


class SpeakerConverter(LabelConverter):
    """Speaker names (case-insensitive) <-> speaker ids; :meth:`to_id` also takes an id
    (an int, or a decimal string that names no speaker).

    Args:
        spk_list: names, or anything :func:`load_spk_list` accepts.
    """

    @typechecked
    def __init__(self, spk_list: str | Path | Sequence[str]):
        super().__init__(load_spk_list(spk_list), kind="speaker")

    @property
    def spk_list(self) -> list[str]:
        """The speaker names in id order."""
        return self.labels
