"""Token-level predictors of FastSpeech(2): duration, pitch and energy."""

from __future__ import annotations

import torch
from torch import nn

from espkit.tts.fastspeech2.length_regulator import scale_durations


class _PredictorBlock(nn.Module):
    """``Conv1d -> ReLU -> LayerNorm (over channels) -> Dropout`` on ``(B, T, idim)``."""

    def __init__(self, idim: int, n_chans: int, kernel_size: int, dropout_rate: float, bias: bool):
        super().__init__()
        self.conv = nn.Conv1d(idim, n_chans, kernel_size, padding=(kernel_size - 1) // 2, bias=bias)
        self.norm = nn.LayerNorm(n_chans)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, xs: torch.Tensor) -> torch.Tensor:
        xs = torch.relu(self.conv(xs.transpose(1, 2))).transpose(1, 2)
        return self.dropout(self.norm(xs))


class VariancePredictor(nn.Module):
    """``n_layers`` of ``Conv1d -> ReLU -> LayerNorm -> Dropout`` then ``Linear(n_chans, 1)``.

    Padded tokens are zeroed before each convolution (so padding does not change real
    outputs) and their outputs are 0. Scriptable.

    Args:
        idim: input size (the model's ``adim``).
        n_layers: convolutions.
        n_chans: their channels.
        kernel_size: their kernel (odd).
        dropout_rate: dropout after each block.
        bias: bias of the convolutions.
    """

    def __init__(
        self,
        idim: int,
        n_layers: int = 2,
        n_chans: int = 384,
        kernel_size: int = 3,
        dropout_rate: float = 0.5,
        bias: bool = True,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"predictor kernel_size must be odd so that lengths are kept, got {kernel_size}")
        if n_layers < 1:
            raise ValueError(f"predictor n_layers must be >= 1, got {n_layers}")
        self.blocks = nn.ModuleList(
            _PredictorBlock(idim if i == 0 else n_chans, n_chans, kernel_size, dropout_rate, bias)
            for i in range(n_layers)
        )
        self.linear = nn.Linear(n_chans, 1)

    def forward(self, xs: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``xs`` ``(B, T_text, idim)``, ``pad_mask`` ``(B, T_text)`` True at padded tokens
        -> ``(B, T_text, 1)``."""
        return self._predict(xs, pad_mask)

    def _predict(self, xs: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
        for block in self.blocks:
            if pad_mask is not None:
                xs = xs.masked_fill(pad_mask.unsqueeze(-1), 0.0)
            xs = block(xs)
        out = self.linear(xs)
        if pad_mask is not None:
            out = out.masked_fill(pad_mask.unsqueeze(-1), 0.0)
        return out


class DurationPredictor(VariancePredictor):
    """:class:`VariancePredictor` of ``log(d + offset)`` for integer durations ``d``.

    Training compares :meth:`forward`'s output with ``log(d + offset)``; :meth:`inference`
    turns it back into frames: ``max(round(exp(x) - offset), 0)``, then ``round(. * alpha)``.

    Args:
        offset: added before the log (1: zero durations are fine).
        (others): see :class:`VariancePredictor` (ESPnet's defaults differ: dropout 0.1).
    """

    def __init__(
        self,
        idim: int,
        n_layers: int = 2,
        n_chans: int = 384,
        kernel_size: int = 3,
        dropout_rate: float = 0.1,
        offset: float = 1.0,
    ):
        super().__init__(idim, n_layers, n_chans, kernel_size, dropout_rate)
        self.offset = offset

    def forward(self, xs: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Log-domain predictions ``(B, T_text)`` (0 at padded tokens)."""
        return self._predict(xs, pad_mask).squeeze(-1)

    def inference(self, xs: torch.Tensor, pad_mask: torch.Tensor | None = None, alpha: float = 1.0) -> torch.Tensor:
        """Durations ``(B, T_text)`` long in frames (0 at padded tokens); scriptable."""
        log_d = self.forward(xs, pad_mask)
        durations = torch.clamp(torch.round(torch.exp(log_d) - self.offset), min=0).long()
        durations = scale_durations(durations, alpha)
        if pad_mask is not None:
            durations = durations.masked_fill(pad_mask, 0)
        return durations
