"""Padded batches: masks built from sequence lengths, means over real positions, ``<sos/eos>``."""

from __future__ import annotations

import torch


def make_pad_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean ``(B, max_len)`` mask, True at padded positions (``t >= lengths[b]``).

    Args:
        lengths: ``(B,)`` integer lengths.
        max_len: width of the mask; defaults to ``lengths.max()``.
    """
    if max_len is None:
        max_len = int(lengths.max())
    positions = torch.arange(max_len, device=lengths.device)
    return positions[None, :] >= lengths[:, None]


def make_non_pad_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean ``(B, max_len)`` mask, True at real positions (``t < lengths[b]``)."""
    return ~make_pad_mask(lengths, max_len)


def subsequent_mask(size: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean ``(size, size)`` mask, True where query ``i`` may attend key ``j`` (``j <= i``)."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def masked_mean(values: torch.Tensor, keep: torch.Tensor, per_utterance: bool = False) -> torch.Tensor:
    """Mean of ``values`` ``(B, T, ...)`` over positions where ``keep`` ``(B, T)`` is True.

    ``per_utterance=False``: every real element weighs the same (longer utterances count
    more). ``per_utterance=True``: each utterance's mean weighs ``1 / B`` (ESPnet's
    ``use_weighted_masking``).
    """
    keep = keep.to(values.dtype)
    while keep.dim() < values.dim():
        keep = keep.unsqueeze(-1)
    keep = keep.expand_as(values)
    if not per_utterance:
        return (values * keep).sum() / keep.sum()
    dims = tuple(range(1, values.dim()))
    per_utt = (values * keep).sum(dim=dims) / keep.sum(dim=dims)
    return per_utt.mean()


def append_eos(
    text: torch.Tensor, text_lengths: torch.Tensor, eos: int, padding_idx: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ``(B, T_text)`` -> ``(B, T_text + 1)`` with ``eos`` after each text.

    Whatever the padding held is replaced by ``padding_idx``. Returns the ids and the
    lengths ``text_lengths + 1``.
    """
    max_len = text.size(1)
    real = make_non_pad_mask(text_lengths, max_len)
    xs = text.new_full((text.size(0), max_len + 1), padding_idx)
    xs[:, :max_len] = torch.where(real, text, padding_idx)
    xs.scatter_(1, text_lengths.unsqueeze(1), eos)
    return xs, text_lengths + 1
