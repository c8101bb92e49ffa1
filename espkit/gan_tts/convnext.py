"""ConvNeXt blocks on frame sequences, shared by the frame-rate generators (``istft``, ``nsf``)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block on ``(B, channels, T)``: depthwise conv, LayerNorm, pointwise MLP (GELU), layer scale, residual.

    Args:
        channels: block width.
        intermediate_channels: hidden size of the pointwise MLP.
        kernel_size: odd kernel of the depthwise convolution.
        layer_scale_init: initial value of the per-channel output scale; ``None`` or ``<= 0`` = no scale.
    """

    def __init__(
        self, channels: int, intermediate_channels: int, kernel_size: int = 7, layer_scale_init: Optional[float] = None
    ):
        super().__init__()
        self.dwconv = nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pwconv1 = nn.Linear(channels, intermediate_channels)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_channels, channels)
        if layer_scale_init is not None and layer_scale_init > 0:
            self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale_init)))
        else:
            self.gamma = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, channels, T)`` -> ``(B, channels, T)``."""
        h = self.dwconv(x).transpose(1, 2)
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        gamma = self.gamma
        if gamma is not None:
            h = h * gamma
        return x + h.transpose(1, 2)


class ConvNeXtBackbone(nn.Module):
    """Input conv + LayerNorm, ``num_blocks`` :class:`ConvNeXtBlock` s, LayerNorm (Vocos' backbone).

    ``(B, in_channels, T)`` -> ``(B, T, channels)`` (channels last, ready for a linear head).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        intermediate_channels: int,
        num_blocks: int,
        kernel_size: int = 7,
        layer_scale_init: Optional[float] = None,
    ):
        super().__init__()
        self.input_conv = nn.Conv1d(in_channels, channels, kernel_size, padding=(kernel_size - 1) // 2)
        self.input_norm = nn.LayerNorm(channels, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(channels, intermediate_channels, kernel_size, layer_scale_init) for _ in range(num_blocks)
        )
        self.output_norm = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        x = self.input_conv(c)
        x = self.input_norm(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return self.output_norm(x.transpose(1, 2))


def init_convnext_(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero biases for every conv and linear of ``module``."""
    for sub in module.modules():
        if isinstance(sub, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(sub.weight, std=0.02)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
