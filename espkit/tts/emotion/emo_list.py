"""Emotion label lists (``--emo_list``) and the name <-> id conversion.

>>> converter = EmotionLabelConverter("neutral,happy,sad,angry")
>>> converter.name2id("Happy"), converter.id2name(3), len(converter)
(1, 'angry', 4)
>>> converter.mix_to_weights({"happy": 3, "sad": 1}).tolist()
[0.0, 0.75, 0.25, 0.0]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from espkit.utils.label_list import LabelConverter, load_label_list
from espkit.utils.typecheck import typechecked


def load_emo_list(spec: str | Path | Sequence[str]) -> list[str]:
    """Read an emotion label list: :func:`~espkit.utils.label_list.load_label_list` of emotions
    (a file with one label per line, ``"neutral,happy,sad,angry"`` or a list)."""
    return load_label_list(spec, kind="emotion", example="neutral,happy,sad,angry")


class EmotionLabelConverter(LabelConverter):
    """Maps emotion names (case-insensitive) to ids and back, and builds mixture weights.

    Args:
        emo_list: labels, or anything :func:`load_emo_list` accepts.
    """

    @typechecked
    def __init__(self, emo_list: str | Path | Sequence[str]):
        super().__init__(load_emo_list(emo_list), kind="emotion")

    @property
    def emo_list(self) -> list[str]:
        """The emotion labels in id order."""
        return self.labels

    def mix_to_weights(self, mix: str | int | Mapping[str, float]) -> np.ndarray:
        """Emotion weights ``(num_emotions,)`` (float64, sum 1) for a name, an id or a mixture.

        Args:
            mix: an emotion name; an id (also as a decimal string such as ``"2"`` when no
                label is spelled so); a ``{name: weight}`` mapping; or a string
                ``"happy:0.7,sad:0.3"``. Weights must be finite and >= 0 with a positive sum;
                they are normalised to sum 1.
        """
        weights = np.zeros(len(self.emo_list), dtype=np.float64)
        wrong_type = f"emotion must be a name, an id or a {{name: weight}} mapping, got {mix!r}"
        if isinstance(mix, bool):
            raise ValueError(wrong_type)
        if isinstance(mix, numbers.Integral):
            weights[self.to_id(int(mix))] = 1.0
            return weights
        if isinstance(mix, str):
            if ":" not in mix:
                weights[self.to_id(mix)] = 1.0
                return weights
            mix = self._parse_mix_string(mix)
        if not isinstance(mix, Mapping):
            raise ValueError(wrong_type)
        if not mix:
            raise ValueError("empty emotion mixture; give at least one {name: weight}")
        given: set[int] = set()
        for name, weight in mix.items():
            emo_id = self.to_id(name)
            if emo_id in given:
                raise ValueError(f"emotion {self.emo_list[emo_id]!r} is given twice in {dict(mix)!r}")
            given.add(emo_id)
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
                raise ValueError(f"weight of emotion {name!r} must be a number, got {weight!r}")
            weight = float(weight)
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of emotion {name!r} must be finite and >= 0, got {weight}")
            weights[emo_id] = weight
        total = weights.sum()
        if total <= 0:
            raise ValueError(f"emotion weights must have a positive sum, got {dict(mix)!r}")
        return weights / total

    def _parse_mix_string(self, text: str) -> dict[str, float]:
        """``"happy:0.7,sad:0.3"`` -> ``{"happy": 0.7, "sad": 0.3}``."""
        mix: dict[str, float] = {}
        for part in text.split(","):
            name, sep, value = part.partition(":")
            name = name.strip()
            try:
                weight = float(value)
            except ValueError:
                weight = None
            if not sep or not name or weight is None:
                raise ValueError(
                    f"cannot parse emotion mixture {text!r}: write name:weight pairs separated "
                    "by commas, e.g. 'happy:0.7,sad:0.3'"
                )
            if name.lower() in {key.lower() for key in mix}:
                raise ValueError(f"emotion {name!r} is given twice in {text!r}")
            mix[name] = weight
        return mix
