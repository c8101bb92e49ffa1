"""Padding masks built from sequence lengths."""

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
