"""HiFi-GAN generator and its multi-scale / multi-period discriminators (ESPnet2's class names and arguments).

Differences from ESPnet2 worth knowing (none changes a constructor argument):

- weight and spectral norm are torch's parametrizations (see :mod:`espkit.gan_tts.layers` for the
  state-dict key names), so ESPnet2 checkpoints do not load as they are;
- an upsampling layer accepts any ``kernel >= scale`` (ESPnet2 requires ``kernel == 2 * scale``):
  padding and output padding are chosen so that it multiplies the length by exactly ``scale``;
- the period discriminator's output convolution has kernel ``(kernel_sizes[1], 1)`` and takes the
  channels of the last layer, as in the official HiFi-GAN (ESPnet2 uses ``kernel_sizes[1] - 1``,
  which adds one frame, and reuses the next, unbuilt layer's channel count).
"""

from __future__ import annotations

import copy
import logging
import math
from types import MappingProxyType
from typing import Any, List, Mapping, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from espkit.gan_tts.hifigan.residual_block import MultiReceptiveFieldFusion
from espkit.gan_tts.layers import (
    apply_spectral_norm,
    apply_weight_norm,
    build_with,
    make_activation,
    remove_weight_norm,
)
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

_LEAKY = MappingProxyType({"negative_slope": 0.1})


def upsample_padding(kernel_size: int, scale: int) -> tuple[int, int]:
    """``(padding, output_padding)`` making ``ConvTranspose1d(k, stride=scale)`` output exactly ``T * scale``.

    The output length is ``(T - 1) * scale - 2 * padding + kernel_size + output_padding``.

    Raises:
        ConfigError: no such padding exists (``kernel_size < scale``, or ``kernel_size - scale``
            odd with ``scale == 1``).
    """
    excess = kernel_size - scale
    padding = (excess + 1) // 2
    output_padding = 2 * padding - excess
    if excess < 0 or output_padding >= scale:
        raise ConfigError(
            f"upsample_kernel_sizes: kernel {kernel_size} cannot upsample by exactly {scale} "
            f"(need kernel >= scale, e.g. kernel = 2 * scale)"
        )
    return padding, output_padding


class HiFiGANGenerator(nn.Module):
    """HiFi-GAN generator: mel frames ``(B, in_channels, T_feats)`` -> waveform ``(B, out_channels, T_feats * hop)``.

    An input convolution, then per upsampling stage an activation, a transposed convolution
    (``channels // 2 ** (i + 1)`` output channels) and the mean of one :class:`ResidualBlock` per
    ``resblock_kernel_sizes`` entry (:class:`MultiReceptiveFieldFusion`); then LeakyReLU(0.01), an output
    convolution and tanh.

    Args:
        in_channels: input feature size (mel bands).
        out_channels: output waveform channels.
        channels: channels after the input convolution (halved at each upsampling stage).
        global_channels: size of a global conditioning vector ``g`` (e.g. a speaker embedding);
            ``-1`` = none.
        kernel_size: odd kernel of the input and output convolutions.
        upsample_scales: factor of each upsampling stage; their product is :attr:`upsample_factor`
            (the feature hop in samples).
        upsample_kernel_sizes: kernel of each transposed convolution (``2 * scale`` as published).
        resblock_kernel_sizes: kernel of each residual block of a stage.
        resblock_dilations: dilations of each residual block of a stage.
        use_additional_convs: residual blocks add a dilation-1 convolution after each dilated one
            (``False`` = HiFi-GAN V3's ResBlock2).
        bias: convolutions of the residual blocks have a bias.
        nonlinear_activation: ``torch.nn`` activation class name.
        nonlinear_activation_params: its keyword arguments.
        use_weight_norm: weight-normalise every convolution (undo with :meth:`remove_weight_norm`).

    Stage ``i``'s modules are ``upsamples.{i}`` and ``blocks.{i}.resblocks.{j}`` (ESPnet2 numbers the
    residual blocks of all stages in one flat ``blocks`` list). ``torch.jit.trace`` of a wrapper
    calling :meth:`inference` works as it is; ``torch.jit.script`` of the generator works after
    :meth:`remove_weight_norm` (torch's weight-norm parametrization cannot be scripted).
    """

    requires_f0: bool = False

    @typechecked
    def __init__(
        self,
        in_channels: int = 80,
        out_channels: int = 1,
        channels: int = 512,
        global_channels: int = -1,
        kernel_size: int = 7,
        upsample_scales: Sequence[int] = (8, 8, 2, 2),
        upsample_kernel_sizes: Sequence[int] = (16, 16, 4, 4),
        resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
        resblock_dilations: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        use_additional_convs: bool = True,
        bias: bool = True,
        nonlinear_activation: str = "LeakyReLU",
        nonlinear_activation_params: Mapping[str, Any] = _LEAKY,
        use_weight_norm: bool = True,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ConfigError(f"generator_conf.kernel_size must be odd, got {kernel_size}")
        if len(upsample_scales) != len(upsample_kernel_sizes) or not upsample_scales:
            raise ConfigError(
                f"generator_conf: upsample_scales {list(upsample_scales)} and upsample_kernel_sizes "
                f"{list(upsample_kernel_sizes)} must be non-empty and of the same length"
            )
        if len(resblock_kernel_sizes) != len(resblock_dilations) or not resblock_kernel_sizes:
            raise ConfigError(
                f"generator_conf: resblock_kernel_sizes {list(resblock_kernel_sizes)} and resblock_dilations "
                f"must be non-empty and of the same length"
            )
        if channels // 2 ** len(upsample_scales) < 1:
            raise ConfigError(
                f"generator_conf.channels={channels} is too small for {len(upsample_scales)} upsampling stages "
                f"(halved at each)"
            )
        self.upsample_factor = int(math.prod(upsample_scales))
        self.num_upsamples = len(upsample_scales)
        self.num_blocks = len(resblock_kernel_sizes)
        self.input_conv = nn.Conv1d(in_channels, channels, kernel_size, padding=(kernel_size - 1) // 2)
        self.upsamples = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i, (scale, up_kernel) in enumerate(zip(upsample_scales, upsample_kernel_sizes)):
            padding, output_padding = upsample_padding(up_kernel, scale)
            stage_channels = channels // 2 ** (i + 1)
            self.upsamples.append(
                nn.Sequential(
                    make_activation(nonlinear_activation, nonlinear_activation_params),
                    nn.ConvTranspose1d(
                        channels // 2**i,
                        stage_channels,
                        up_kernel,
                        scale,
                        padding=padding,
                        output_padding=output_padding,
                    ),
                )
            )
            self.blocks.append(
                MultiReceptiveFieldFusion(
                    stage_channels,
                    resblock_kernel_sizes,
                    resblock_dilations,
                    bias=bias,
                    use_additional_convs=use_additional_convs,
                    nonlinear_activation=nonlinear_activation,
                    nonlinear_activation_params=nonlinear_activation_params,
                )
            )
        # the official implementation's default LeakyReLU slope (0.01) before the output conv
        self.output_conv = nn.Sequential(
            nn.LeakyReLU(),
            nn.Conv1d(stage_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2),
            nn.Tanh(),
        )
        self.global_conv = nn.Conv1d(global_channels, channels, 1) if global_channels > 0 else None
        self.reset_parameters()
        if use_weight_norm:
            self.apply_weight_norm()

    def reset_parameters(self) -> None:
        """Draw every convolution weight from ``N(0, 0.01)`` as the official implementation does."""
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                nn.init.normal_(module.weight, 0.0, 0.01)

    def apply_weight_norm(self) -> None:
        """Weight-normalise every convolution."""
        apply_weight_norm(self, (nn.Conv1d, nn.ConvTranspose1d))

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (for inference and export; outputs unchanged)."""
        remove_weight_norm(self)

    def forward(
        self, c: torch.Tensor, f0: Optional[torch.Tensor] = None, g: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Generate a waveform batch.

        Args:
            c: ``(B, in_channels, T_feats)`` normalised log-mel.
            f0: ignored (HiFi-GAN does not use F0; accepted for the generator contract).
            g: ``(B, global_channels, 1)`` global conditioning, only with ``global_channels > 0``.

        Returns:
            ``(B, out_channels, T_feats * upsample_factor)`` in ``[-1, 1]``.
        """
        c = self.input_conv(c)
        if g is not None:
            global_conv = self.global_conv
            if global_conv is None:
                raise ValueError("HiFiGANGenerator got g but was built with global_channels=-1")
            c = c + global_conv(g)
        for upsample, mrf in zip(self.upsamples, self.blocks):
            c = mrf(upsample(c))
        return self.output_conv(c)

    @torch.jit.export
    def inference(
        self, c: torch.Tensor, f0: Optional[torch.Tensor] = None, g: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """One utterance: ``c`` ``(T_feats, in_channels)`` -> ``(T_feats * upsample_factor, out_channels)``.

        ``f0`` is ignored; ``g`` is ``(global_channels, 1)``.
        """
        wav = self.forward(c.transpose(0, 1).unsqueeze(0), None, None if g is None else g.unsqueeze(0))
        return wav.squeeze(0).transpose(0, 1)


class HiFiGANPeriodDiscriminator(nn.Module):
    """Period discriminator: the waveform folded into ``(T / period, period)`` and 2-D convs of width 1.

    Args:
        in_channels: waveform channels.
        out_channels: channels of the final output.
        period: folding period in samples; the input is reflection-padded to a multiple of it.
        kernel_sizes: ``[kernel of the downsampling convs, kernel of the output conv]``, both odd.
        channels: channels of the first conv, multiplied by 4 per layer up to ``max_downsample_channels``.
        downsample_scales: stride (along time) of each downsampling conv.
        max_downsample_channels: channel ceiling.
        bias: convolutions have a bias.
        nonlinear_activation: ``torch.nn`` activation class name.
        nonlinear_activation_params: its keyword arguments.
        use_weight_norm: weight-normalise every conv.
        use_spectral_norm: spectral-normalise every conv (not together with weight norm).
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        period: int = 3,
        kernel_sizes: Sequence[int] = (5, 3),
        channels: int = 32,
        downsample_scales: Sequence[int] = (3, 3, 3, 3, 1),
        max_downsample_channels: int = 1024,
        bias: bool = True,
        nonlinear_activation: str = "LeakyReLU",
        nonlinear_activation_params: Mapping[str, Any] = _LEAKY,
        use_weight_norm: bool = True,
        use_spectral_norm: bool = False,
    ):
        super().__init__()
        if len(kernel_sizes) != 2 or any(k % 2 != 1 for k in kernel_sizes):
            raise ConfigError(f"period discriminator kernel_sizes must be two odd sizes, got {list(kernel_sizes)}")
        if use_weight_norm and use_spectral_norm:
            raise ConfigError("period discriminator: use_weight_norm and use_spectral_norm are exclusive")
        if period < 1:
            raise ConfigError(f"period discriminator: period must be >= 1, got {period}")
        self.period = period
        self.convs = nn.ModuleList()
        in_chs, out_chs = in_channels, channels
        for scale in downsample_scales:
            self.convs.append(
                nn.Sequential(
                    nn.Conv2d(
                        in_chs,
                        out_chs,
                        (kernel_sizes[0], 1),
                        (scale, 1),
                        padding=((kernel_sizes[0] - 1) // 2, 0),
                        bias=bias,
                    ),
                    make_activation(nonlinear_activation, nonlinear_activation_params),
                )
            )
            in_chs, out_chs = out_chs, min(out_chs * 4, max_downsample_channels)
        self.output_conv = nn.Conv2d(
            in_chs, out_channels, (kernel_sizes[1], 1), 1, padding=((kernel_sizes[1] - 1) // 2, 0), bias=bias
        )
        if use_weight_norm:
            apply_weight_norm(self, (nn.Conv2d,))
        if use_spectral_norm:
            apply_spectral_norm(self, (nn.Conv2d,))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """``x`` ``(B, in_channels, T_wav)`` -> each layer's output, the last the flattened score ``(B, -1)``.

        Layer ``l`` gives ``(B, C_l, T_l, period)`` where ``T_0 = ceil(T_wav / period)``.
        """
        batch, chans, length = x.shape
        n_pad = (-length) % self.period
        if n_pad:
            x = F.pad(x, (0, n_pad), "reflect" if n_pad < length else "replicate")
        x = x.reshape(batch, chans, (length + n_pad) // self.period, self.period)
        outs: List[torch.Tensor] = []
        for layer in self.convs:
            x = layer(x)
            outs.append(x)
        outs.append(torch.flatten(self.output_conv(x), 1, -1))
        return outs


class HiFiGANMultiPeriodDiscriminator(nn.Module):
    """One :class:`HiFiGANPeriodDiscriminator` per period.

    Args:
        periods: the periods (samples).
        discriminator_params: keyword arguments of every period discriminator (``period`` is overwritten).
    """

    @typechecked
    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        discriminator_params: Mapping[str, Any] = MappingProxyType(
            {
                "in_channels": 1,
                "out_channels": 1,
                "kernel_sizes": (5, 3),
                "channels": 32,
                "downsample_scales": (3, 3, 3, 3, 1),
                "max_downsample_channels": 1024,
                "bias": True,
                "nonlinear_activation": "LeakyReLU",
                "nonlinear_activation_params": {"negative_slope": 0.1},
                "use_weight_norm": True,
                "use_spectral_norm": False,
            }
        ),
    ):
        super().__init__()
        self.discriminators = nn.ModuleList()
        for period in periods:
            params = copy.deepcopy(dict(discriminator_params))
            params["period"] = period
            self.discriminators.append(build_with(HiFiGANPeriodDiscriminator, params, "period discriminator_params"))

    def forward(self, x: torch.Tensor) -> List[List[torch.Tensor]]:
        """``x`` ``(B, 1, T_wav)`` -> per period discriminator, its layer outputs (last = score)."""
        return [discriminator(x) for discriminator in self.discriminators]


class HiFiGANScaleDiscriminator(nn.Module):
    """Scale discriminator: strided grouped 1-D convolutions on the waveform.

    Args:
        in_channels: waveform channels.
        out_channels: channels of the final output.
        kernel_sizes: four odd kernels: the first conv, the downsampling convs, the last two convs.
        channels: channels of the first conv (doubled per downsampling conv up to
            ``max_downsample_channels``).
        max_downsample_channels: channel ceiling.
        max_groups: ceiling of the groups of the downsampling convs (4, then x4 per layer).
        bias: convolutions have a bias.
        downsample_scales: stride of each downsampling conv.
        nonlinear_activation: ``torch.nn`` activation class name.
        nonlinear_activation_params: its keyword arguments.
        use_weight_norm: weight-normalise every conv.
        use_spectral_norm: spectral-normalise every conv (not together with weight norm).
    """

    @typechecked
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        kernel_sizes: Sequence[int] = (15, 41, 5, 3),
        channels: int = 128,
        max_downsample_channels: int = 1024,
        max_groups: int = 16,
        bias: bool = True,
        downsample_scales: Sequence[int] = (2, 2, 4, 4, 1),
        nonlinear_activation: str = "LeakyReLU",
        nonlinear_activation_params: Mapping[str, Any] = _LEAKY,
        use_weight_norm: bool = True,
        use_spectral_norm: bool = False,
    ):
        super().__init__()
        if len(kernel_sizes) != 4 or any(k % 2 != 1 for k in kernel_sizes):
            raise ConfigError(f"scale discriminator kernel_sizes must be four odd sizes, got {list(kernel_sizes)}")
        if use_weight_norm and use_spectral_norm:
            raise ConfigError("scale discriminator: use_weight_norm and use_spectral_norm are exclusive")

        def act() -> nn.Module:
            return make_activation(nonlinear_activation, nonlinear_activation_params)

        self.layers = nn.ModuleList()
        self.layers.append(
            nn.Sequential(
                nn.Conv1d(in_channels, channels, kernel_sizes[0], padding=(kernel_sizes[0] - 1) // 2, bias=bias), act()
            )
        )
        in_chs = out_chs = channels
        groups = 4
        for scale in downsample_scales:
            if in_chs % groups or out_chs % groups:
                raise ConfigError(
                    f"scale discriminator: {in_chs}->{out_chs} channels are not divisible by {groups} groups "
                    f"(raise channels or lower max_groups)"
                )
            self.layers.append(
                nn.Sequential(
                    nn.Conv1d(
                        in_chs,
                        out_chs,
                        kernel_sizes[1],
                        stride=scale,
                        padding=(kernel_sizes[1] - 1) // 2,
                        groups=groups,
                        bias=bias,
                    ),
                    act(),
                )
            )
            in_chs, out_chs = out_chs, min(out_chs * 2, max_downsample_channels)
            groups = min(groups * 4, max_groups)
        out_chs = min(in_chs * 2, max_downsample_channels)
        self.layers.append(
            nn.Sequential(
                nn.Conv1d(in_chs, out_chs, kernel_sizes[2], padding=(kernel_sizes[2] - 1) // 2, bias=bias), act()
            )
        )
        self.layers.append(
            nn.Conv1d(out_chs, out_channels, kernel_sizes[3], padding=(kernel_sizes[3] - 1) // 2, bias=bias)
        )
        if use_weight_norm:
            apply_weight_norm(self, (nn.Conv1d,))
        if use_spectral_norm:
            apply_spectral_norm(self, (nn.Conv1d,))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """``x`` ``(B, in_channels, T_wav)`` -> each layer's output ``(B, C_l, T_l)``, the last the score."""
        outs: List[torch.Tensor] = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class HiFiGANMultiScaleDiscriminator(nn.Module):
    """``scales`` :class:`HiFiGANScaleDiscriminator` s on the waveform pooled 0, 1, 2, ... times.

    Args:
        scales: number of scale discriminators.
        downsample_pooling: ``torch.nn`` pooling class applied between scales.
        downsample_pooling_params: its keyword arguments.
        discriminator_params: keyword arguments of every scale discriminator.
        follow_official_norm: as the official HiFi-GAN, the first discriminator uses spectral norm and
            the others weight norm (overriding ``use_*_norm`` in ``discriminator_params``).
    """

    @typechecked
    def __init__(
        self,
        scales: int = 3,
        downsample_pooling: str = "AvgPool1d",
        downsample_pooling_params: Mapping[str, Any] = MappingProxyType({"kernel_size": 4, "stride": 2, "padding": 2}),
        discriminator_params: Mapping[str, Any] = MappingProxyType(
            {
                "in_channels": 1,
                "out_channels": 1,
                "kernel_sizes": (15, 41, 5, 3),
                "channels": 128,
                "max_downsample_channels": 1024,
                "max_groups": 16,
                "bias": True,
                "downsample_scales": (2, 2, 4, 4, 1),
                "nonlinear_activation": "LeakyReLU",
                "nonlinear_activation_params": {"negative_slope": 0.1},
            }
        ),
        follow_official_norm: bool = False,
    ):
        super().__init__()
        self.discriminators = nn.ModuleList()
        for i in range(scales):
            params = copy.deepcopy(dict(discriminator_params))
            if follow_official_norm:
                params["use_weight_norm"] = i != 0
                params["use_spectral_norm"] = i == 0
            self.discriminators.append(build_with(HiFiGANScaleDiscriminator, params, "scale discriminator_params"))
        self.pooling = (
            make_activation(downsample_pooling, downsample_pooling_params, option="downsample_pooling")
            if scales > 1
            else None
        )

    def forward(self, x: torch.Tensor) -> List[List[torch.Tensor]]:
        """``x`` ``(B, 1, T_wav)`` -> per scale discriminator, its layer outputs (last = score)."""
        outs: List[List[torch.Tensor]] = []
        for i, discriminator in enumerate(self.discriminators):
            if i > 0 and self.pooling is not None:
                x = self.pooling(x)
            outs.append(discriminator(x))
        return outs


class HiFiGANMultiScaleMultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN's discriminator: the multi-scale outputs followed by the multi-period outputs.

    Args:
        scales: number of scale discriminators.
        scale_downsample_pooling: ``torch.nn`` pooling class between scales.
        scale_downsample_pooling_params: its keyword arguments.
        scale_discriminator_params: keyword arguments of every scale discriminator.
        follow_official_norm: spectral norm on the first scale discriminator, weight norm on the others.
        periods: the periods of the period discriminators.
        period_discriminator_params: keyword arguments of every period discriminator.
    """

    @typechecked
    def __init__(
        self,
        scales: int = 3,
        scale_downsample_pooling: str = "AvgPool1d",
        scale_downsample_pooling_params: Mapping[str, Any] = MappingProxyType(
            {"kernel_size": 4, "stride": 2, "padding": 2}
        ),
        scale_discriminator_params: Mapping[str, Any] = MappingProxyType(
            {
                "in_channels": 1,
                "out_channels": 1,
                "kernel_sizes": (15, 41, 5, 3),
                "channels": 128,
                "max_downsample_channels": 1024,
                "max_groups": 16,
                "bias": True,
                "downsample_scales": (2, 2, 4, 4, 1),
                "nonlinear_activation": "LeakyReLU",
                "nonlinear_activation_params": {"negative_slope": 0.1},
            }
        ),
        follow_official_norm: bool = True,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        period_discriminator_params: Mapping[str, Any] = MappingProxyType(
            {
                "in_channels": 1,
                "out_channels": 1,
                "kernel_sizes": (5, 3),
                "channels": 32,
                "downsample_scales": (3, 3, 3, 3, 1),
                "max_downsample_channels": 1024,
                "bias": True,
                "nonlinear_activation": "LeakyReLU",
                "nonlinear_activation_params": {"negative_slope": 0.1},
                "use_weight_norm": True,
                "use_spectral_norm": False,
            }
        ),
    ):
        super().__init__()
        self.msd = HiFiGANMultiScaleDiscriminator(
            scales=scales,
            downsample_pooling=scale_downsample_pooling,
            downsample_pooling_params=scale_downsample_pooling_params,
            discriminator_params=scale_discriminator_params,
            follow_official_norm=follow_official_norm,
        )
        self.mpd = HiFiGANMultiPeriodDiscriminator(periods=periods, discriminator_params=period_discriminator_params)

    def forward(self, x: torch.Tensor) -> List[List[torch.Tensor]]:
        """``x`` ``(B, 1, T_wav)`` -> ``scales`` scale then ``len(periods)`` period discriminators' layer outputs."""
        return self.msd(x) + self.mpd(x)
