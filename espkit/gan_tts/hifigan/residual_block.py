"""HiFi-GAN's residual block and the multi-receptive-field fusion (MRF) of several of them."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from espkit.gan_tts.layers import make_activation
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked


class ResidualBlock(nn.Module):
    """Dilated residual convolutions: for each dilation ``d``, ``x = x + conv2(act(conv1_d(act(x))))``.

    Without ``use_additional_convs`` the second (dilation 1) convolution of each step is left out,
    which is HiFi-GAN V3's "ResBlock2". Every convolution keeps the length ("same" padding).

    Args:
        kernel_size: odd kernel size of all convolutions.
        channels: input and output channels.
        dilations: one residual step per dilation.
        bias: convolutions have a bias.
        use_additional_convs: add the dilation-1 convolution after each dilated one.
        nonlinear_activation: ``torch.nn`` class name of the activation.
        nonlinear_activation_params: its keyword arguments.
    """

    @typechecked
    def __init__(
        self,
        kernel_size: int = 3,
        channels: int = 512,
        dilations: Sequence[int] = (1, 3, 5),
        bias: bool = True,
        use_additional_convs: bool = True,
        nonlinear_activation: str = "LeakyReLU",
        nonlinear_activation_params: Mapping[str, Any] = MappingProxyType({"negative_slope": 0.1}),
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ConfigError(f"resblock kernel size must be odd, got {kernel_size}")
        self.use_additional_convs = use_additional_convs
        self.convs1 = nn.ModuleList()
        self.convs2 = nn.ModuleList()
        for dilation in dilations:
            self.convs1.append(
                nn.Sequential(
                    make_activation(nonlinear_activation, nonlinear_activation_params),
                    nn.Conv1d(
                        channels,
                        channels,
                        kernel_size,
                        dilation=dilation,
                        bias=bias,
                        padding=(kernel_size - 1) // 2 * dilation,
                    ),
                )
            )
            if use_additional_convs:
                self.convs2.append(
                    nn.Sequential(
                        make_activation(nonlinear_activation, nonlinear_activation_params),
                        nn.Conv1d(channels, channels, kernel_size, bias=bias, padding=(kernel_size - 1) // 2),
                    )
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, channels, T)`` -> ``(B, channels, T)``."""
        if self.use_additional_convs:
            for conv1, conv2 in zip(self.convs1, self.convs2):
                x = x + conv2(conv1(x))
        else:
            for conv1 in self.convs1:
                x = x + conv1(x)
        return x


class MultiReceptiveFieldFusion(nn.Module):
    """Mean of one :class:`ResidualBlock` per ``(kernel_size, dilations)`` pair, all on the same input.

    Args:
        channels: input and output channels.
        kernel_sizes: kernel of each residual block.
        dilations: dilations of each residual block.
        **block_kwargs: the other :class:`ResidualBlock` arguments.
    """

    def __init__(
        self, channels: int, kernel_sizes: Sequence[int], dilations: Sequence[Sequence[int]], **block_kwargs: Any
    ):
        super().__init__()
        self.resblocks = nn.ModuleList(
            ResidualBlock(kernel_size=kernel, channels=channels, dilations=block_dilations, **block_kwargs)
            for kernel, block_dilations in zip(kernel_sizes, dilations)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, channels, T)`` -> ``(B, channels, T)``."""
        total = torch.zeros_like(x)
        for block in self.resblocks:
            total = total + block(x)
        return total / len(self.resblocks)
