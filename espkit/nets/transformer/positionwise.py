"""Position-wise feed-forward blocks (ESPnet's ``positionwise_layer_type``).

* ``linear``: ``Linear -> ReLU -> Dropout -> Linear``;
* ``conv1d``: ``Conv1d -> ReLU -> Dropout -> Conv1d`` (FastSpeech's feed-forward);
* ``conv1d-linear``: ``Conv1d -> ReLU -> Dropout -> Linear``.

The convolutional blocks take the frame mask and zero padded frames before each
convolution, so that with ``kernel_size > 1`` padding cannot leak into real frames (a
padded batch gives the same real outputs as each utterance alone).
"""

from __future__ import annotations

import torch
from torch import nn

POSITIONWISE_LAYER_TYPES = ("linear", "conv1d", "conv1d-linear")


def _zero_padded(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``x`` ``(B, T, D)`` with frames where ``mask`` ``(B, 1, T)`` is False set to zero."""
    if mask is None:
        return x
    return x * mask.transpose(1, 2).to(x.dtype)


class PositionwiseFeedForward(nn.Module):
    """``Linear(idim, hidden) -> ReLU -> Dropout -> Linear(hidden, idim)``."""

    def __init__(self, idim: int, hidden_units: int, dropout_rate: float = 0.0):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden_units)
        self.w_2 = nn.Linear(hidden_units, idim)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T, idim)`` -> ``(B, T, idim)``; ``mask`` is unused (kept for one interface)."""
        return self.w_2(self.dropout(torch.relu(self.w_1(x))))


class MultiLayeredConv1d(nn.Module):
    """``Conv1d(idim, hidden, k) -> ReLU -> Dropout -> Conv1d(hidden, idim, k)`` (odd ``k``)."""

    def __init__(self, idim: int, hidden_units: int, kernel_size: int, dropout_rate: float = 0.0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"positionwise_conv_kernel_size must be odd so that lengths are kept, got {kernel_size}")
        self.w_1 = nn.Conv1d(idim, hidden_units, kernel_size, padding=(kernel_size - 1) // 2)
        self.w_2 = nn.Conv1d(hidden_units, idim, kernel_size, padding=(kernel_size - 1) // 2)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T, idim)`` -> ``(B, T, idim)``; ``mask`` ``(B, 1, T)`` True at real frames."""
        x = torch.relu(self.w_1(_zero_padded(x, mask).transpose(1, 2))).transpose(1, 2)
        x = _zero_padded(self.dropout(x), mask)
        return self.w_2(x.transpose(1, 2)).transpose(1, 2)


class Conv1dLinear(nn.Module):
    """``Conv1d(idim, hidden, k) -> ReLU -> Dropout -> Linear(hidden, idim)`` (odd ``k``)."""

    def __init__(self, idim: int, hidden_units: int, kernel_size: int, dropout_rate: float = 0.0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"positionwise_conv_kernel_size must be odd so that lengths are kept, got {kernel_size}")
        self.w_1 = nn.Conv1d(idim, hidden_units, kernel_size, padding=(kernel_size - 1) // 2)
        self.w_2 = nn.Linear(hidden_units, idim)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T, idim)`` -> ``(B, T, idim)``; ``mask`` ``(B, 1, T)`` True at real frames."""
        x = torch.relu(self.w_1(_zero_padded(x, mask).transpose(1, 2))).transpose(1, 2)
        return self.w_2(self.dropout(x))


def build_positionwise(
    layer_type: str, idim: int, hidden_units: int, kernel_size: int, dropout_rate: float
) -> nn.Module:
    """The feed-forward block named by ``layer_type`` (one of :data:`POSITIONWISE_LAYER_TYPES`)."""
    if layer_type == "linear":
        return PositionwiseFeedForward(idim, hidden_units, dropout_rate)
    if layer_type == "conv1d":
        return MultiLayeredConv1d(idim, hidden_units, kernel_size, dropout_rate)
    if layer_type == "conv1d-linear":
        return Conv1dLinear(idim, hidden_units, kernel_size, dropout_rate)
    raise ValueError(f"positionwise_layer_type must be one of {POSITIONWISE_LAYER_TYPES}, got {layer_type!r}")
