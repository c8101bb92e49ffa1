"""Pad a list of examples into one batch.

Batch schema (written once here; the TTS model documents its keys):

- every sequence key ``x`` of examples ``(L_i, ...)`` becomes a tensor ``(B, max L_i, ...)`` padded
  with ``float_pad_value``/``int_pad_value``, plus ``x_lengths`` ``(B,)`` (int64);
- keys listed in ``not_sequence`` (emotion labels, utterance vectors) are stacked without padding:
  ``(B,)`` for scalars, ``(B, D)`` for vectors, and get no ``_lengths``.

The defaults are ESPnet2's (``int_pad_value=-32768``, so a padded token id is never a valid
one); the TTS tasks pass ``int_pad_value=0``, as ESPnet2's TTS task does.
"""

from __future__ import annotations

from typing import Collection, Dict, List, Sequence, Tuple

import numpy as np
import torch


class CommonCollateFn:
    """``collate([(uid, {name: array}), ...]) -> (uids, {name: tensor, name_lengths: tensor})``.

    >>> collate = CommonCollateFn(int_pad_value=0, not_sequence=["emo_labs"])
    >>> uids, batch = collate([("a", {"text": np.array([3, 4]), "emo_labs": np.array(1)}),
    ...                        ("b", {"text": np.array([5]), "emo_labs": np.array(2)})])
    >>> batch["text"].tolist(), batch["text_lengths"].tolist(), batch["emo_labs"].tolist()
    ([[3, 4], [5, 0]], [2, 1], [1, 2])
    """

    def __init__(
        self,
        float_pad_value: float = 0.0,
        int_pad_value: int = -32768,
        not_sequence: Collection[str] = (),
    ):
        self.float_pad_value = float_pad_value
        self.int_pad_value = int_pad_value
        self.not_sequence = set(not_sequence)

    def __call__(
        self, examples: Sequence[Tuple[str, Dict[str, np.ndarray]]]
    ) -> Tuple[List[str], Dict[str, torch.Tensor]]:
        uids = [uid for uid, _ in examples]
        keys = list(examples[0][1])
        for uid, data in examples[1:]:
            if list(data) != keys:
                raise ValueError(f"uid {uid!r} has data keys {sorted(data)}, but {uids[0]!r} has {sorted(keys)}")
        batch: Dict[str, torch.Tensor] = {}
        for key in keys:
            arrays = [data[key] for _, data in examples]
            if key in self.not_sequence:
                # No lengths; arrays of different lengths are padded as ESPnet2 does.
                same = all(a.shape == arrays[0].shape for a in arrays)
                batch[key] = torch.from_numpy(np.stack(arrays)) if same else self.pad(key, arrays)[0]
                continue
            if key.endswith("_lengths"):
                raise ValueError(f"data key {key!r} clashes with the lengths the collate function adds")
            batch[key], batch[f"{key}_lengths"] = self.pad(key, arrays)
        return uids, batch

    def pad(self, key: str, arrays: Sequence[np.ndarray]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Pad ``(L_i, ...)`` arrays to ``(B, max L_i, ...)``; returns ``(padded, lengths)``."""
        for array in arrays:
            if array.ndim == 0:
                raise ValueError(f"data {key!r} is a scalar; list it in not_sequence to batch it unpadded")
            if array.shape[1:] != arrays[0].shape[1:]:
                raise ValueError(
                    f"data {key!r}: trailing shapes differ within a batch ({array.shape} vs {arrays[0].shape})"
                )
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        pad_value = self.float_pad_value if arrays[0].dtype.kind == "f" else self.int_pad_value
        padded = np.full((len(arrays), int(lengths.max()), *arrays[0].shape[1:]), pad_value, dtype=arrays[0].dtype)
        for i, array in enumerate(arrays):
            padded[i, : array.shape[0]] = array
        return torch.from_numpy(padded), torch.from_numpy(lengths)


def common_collate_fn(
    data: Sequence[Tuple[str, Dict[str, np.ndarray]]],
    float_pad_value: float = 0.0,
    int_pad_value: int = -32768,
    not_sequence: Collection[str] = (),
) -> Tuple[List[str], Dict[str, torch.Tensor]]:
    """ESPnet2's function form of :class:`CommonCollateFn` (same arguments, same result)."""
    return CommonCollateFn(float_pad_value, int_pad_value, not_sequence)(data)
