"""Sinusoidal positional encodings (Vaswani et al., 2017) added to a sequence of vectors."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoid_table(length: int, d_model: int, device: torch.device | None = None) -> torch.Tensor:
    """Table ``(length, d_model)``: ``sin(pos / 10000^(2i / d))`` at even and ``cos`` at odd channels."""
    positions = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    rates = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model, device=device)
    table[:, 0::2] = torch.sin(positions * rates)
    table[:, 1::2] = torch.cos(positions * rates)[:, : d_model // 2]
    return table


class PositionalEncoding(nn.Module):
    """``dropout(x * sqrt(d_model) + table[:T])`` for ``x`` ``(B, T, d_model)``.

    The table is computed on the fly for the sequence length (no maximum length, nothing
    stored in the state dict).

    Args:
        d_model: feature size.
        dropout_rate: dropout after the addition.
    """

    def __init__(self, d_model: int, dropout_rate: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.xscale = math.sqrt(d_model)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``(B, T, d_model)`` -> ``(B, T, d_model)``; ``x[:, t]`` gets position ``offset + t``
        (an incremental decoder's step)."""
        table = sinusoid_table(offset + x.size(1), self.d_model, x.device)[offset:].to(x.dtype)
        return self.dropout(x * self.xscale + table.unsqueeze(0))


class ScaledPositionalEncoding(nn.Module):
    """``dropout(x + alpha * table[:T])`` with a learnable scalar ``alpha`` (Li et al., 2019).

    Args:
        d_model: feature size.
        dropout_rate: dropout after the addition.
        init_alpha: initial ``alpha``.
    """

    def __init__(self, d_model: int, dropout_rate: float = 0.0, init_alpha: float = 1.0):
        super().__init__()
        self.d_model = d_model
        self.alpha = nn.Parameter(torch.tensor(float(init_alpha)))
        self.dropout = nn.Dropout(dropout_rate)

    def reset_parameters(self, init_alpha: float = 1.0) -> None:
        """Set ``alpha`` back to ``init_alpha``."""
        with torch.no_grad():
            self.alpha.fill_(init_alpha)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``(B, T, d_model)`` -> ``(B, T, d_model)``; ``x[:, t]`` gets position ``offset + t``."""
        table = sinusoid_table(offset + x.size(1), self.d_model, x.device)[offset:].to(x.dtype)
        return self.dropout(x + self.alpha * table.unsqueeze(0))


POS_ENC_CLASSES = {"abs_pos": PositionalEncoding, "scaled_abs_pos": ScaledPositionalEncoding}
