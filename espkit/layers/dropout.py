"""Inverted dropout whose mask is drawn as ``uniform < keep`` (the same distribution as
``torch.nn.functional.dropout``, which on CPU draws it with ``bernoulli_``, several times slower
for the postnet-sized tensors of a TTS training step; figures in docs/benchmarks.md)."""

from __future__ import annotations

import torch
from torch import nn


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Identity when not ``training`` or ``p == 0``; all zeros when ``p == 1``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    mask = torch.rand(x.shape, device=x.device, dtype=x.dtype).ge_(p).mul_(1.0 / (1.0 - p))
    return x * mask


class Dropout(nn.Module):
    """:func:`dropout` as a module; follows ``train()`` / ``eval()`` like ``nn.Dropout``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
