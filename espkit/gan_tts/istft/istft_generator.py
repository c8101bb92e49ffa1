"""iSTFT generator (Vocos / iSTFTNet family): a frame-rate ConvNeXt backbone predicting an STFT, one inverse STFT.

All the network runs at the feature frame rate; the only sample-rate work is one ``torch.istft``, which
makes this the cheapest generator on a CPU. ``torch.istft`` of the complex spectrum (``torch.polar``)
records fine in ``torch.jit.trace`` (length taken from the input) and compiles with ``torch.jit.script``,
so no hand-written overlap-add is needed for export.

Framing: frame ``t`` is centred on sample ``t * hop_length`` (``center=True``), the same convention as
espkit's :class:`~espkit.layers.stft.Stft` and ``LogMelFbank``, and the output is cut to exactly
``T_feats * hop_length`` samples (``length=``).
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import torch
from torch import nn

from espkit.gan_tts.convnext import ConvNeXtBackbone, init_convnext_
from espkit.layers.stft import WINDOWS, make_window
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class ISTFTGenerator(nn.Module):
    """Mel frames ``(B, in_channels, T_feats)`` -> waveform ``(B, out_channels, T_feats * hop_length)``.

    Input conv + LayerNorm, ``num_blocks`` :class:`ConvNeXtBlock` s, LayerNorm, then a linear head giving
    per frame and output channel ``n_fft // 2 + 1`` log-magnitudes and as many phases (radians); the
    magnitude is ``exp(min(log_mag, max_log_magnitude))`` and the waveform the inverse STFT of
    ``mag * exp(i * phase)``.

    Args:
        in_channels: input feature size (mel bands).
        out_channels: output waveform channels (one spectrum each).
        channels: backbone width.
        intermediate_channels: hidden size of each block's pointwise MLP.
        num_blocks: number of ConvNeXt blocks.
        kernel_size: odd kernel of the input conv and the depthwise convs.
        n_fft: FFT size of the inverse STFT.
        hop_length: frame shift in samples (= :attr:`upsample_factor`, the feature hop).
        win_length: synthesis window length (``None`` = ``n_fft``); needs ``hop_length <= win_length // 2``.
        window: synthesis window (``hann``, ``hamming``, ...).
        layer_scale_init: initial layer scale of the blocks; ``None`` = ``1 / num_blocks``.
        max_log_magnitude: cap of the predicted natural-log magnitude (``log(100)`` as in Vocos).
    """

    requires_f0: bool = False

    @typechecked
    def __init__(
        self,
        in_channels: int = 80,
        out_channels: int = 1,
        channels: int = 256,
        intermediate_channels: int = 768,
        num_blocks: int = 8,
        kernel_size: int = 7,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: Optional[int] = None,
        window: str = "hann",
        layer_scale_init: Optional[float] = None,
        max_log_magnitude: float = math.log(100.0),
    ):
        super().__init__()
        win_length = n_fft if win_length is None else win_length
        if kernel_size % 2 != 1:
            raise ConfigError(f"generator_conf.kernel_size must be odd, got {kernel_size}")
        if not 0 < win_length <= n_fft:
            raise ConfigError(f"generator_conf.win_length={win_length} must be in 1..n_fft={n_fft}")
        if not 0 < hop_length <= win_length // 2:
            raise ConfigError(
                f"generator_conf.hop_length={hop_length} must be in 1..win_length // 2 = {win_length // 2} "
                f"(frames must overlap for the inverse STFT to cover every sample)"
            )
        if window not in WINDOWS:
            raise ConfigError(f"generator_conf.window '{window}' is not one of {', '.join(WINDOWS)}")
        if num_blocks < 1:
            raise ConfigError(f"generator_conf.num_blocks must be >= 1, got {num_blocks}")
        self.out_channels = out_channels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.win_length = win_length
        self.upsample_factor = hop_length
        self.n_freq = n_fft // 2 + 1
        self.max_log_magnitude = float(max_log_magnitude)
        if layer_scale_init is None:
            layer_scale_init = 1.0 / num_blocks
        self.backbone = ConvNeXtBackbone(
            in_channels, channels, intermediate_channels, num_blocks, kernel_size, layer_scale_init
        )
        self.head = nn.Linear(channels, out_channels * 2 * self.n_freq)
        self.register_buffer("window", make_window(window, win_length, torch.device("cpu"), torch.float32), False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated-normal (std 0.02) weights and zero biases for the convs and linears, as ConvNeXt/Vocos."""
        init_convnext_(self)

    def remove_weight_norm(self) -> None:
        """Nothing to remove (no weight norm); present so every generator can be prepared alike."""

    def spectrum(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``c`` ``(B, in_channels, T_feats)`` -> ``(log_mag, phase)``, each ``(B * out_channels, n_freq, T_feats)``.

        ``log_mag`` is already capped at ``max_log_magnitude``.
        """
        batch, _, frames = c.shape
        x = self.head(self.backbone(c))  # (B, T, out * 2 * n_freq)
        x = x.reshape(batch, frames, self.out_channels, 2 * self.n_freq).permute(0, 2, 3, 1)
        x = x.reshape(batch * self.out_channels, 2 * self.n_freq, frames).float()
        log_mag, phase = x.chunk(2, dim=1)
        return log_mag.clamp(max=self.max_log_magnitude), phase

    def forward(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Generate a waveform batch.

        Args:
            c: ``(B, in_channels, T_feats)`` normalised log-mel.
            f0: ignored (accepted for the generator contract).

        Returns:
            ``(B, out_channels, T_feats * hop_length)`` float32.
        """
        batch, frames = c.size(0), c.size(2)
        log_mag, phase = self.spectrum(c)
        spec = torch.polar(torch.exp(log_mag), phase)
        wav = torch.istft(
            spec,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=True,
            length=frames * self.hop_length,
        )
        return wav.reshape(batch, self.out_channels, frames * self.hop_length)

    @torch.jit.export
    def inference(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One utterance: ``c`` ``(T_feats, in_channels)`` -> ``(T_feats * hop_length, out_channels)``.

        ``f0`` is ignored.
        """
        return self.forward(c.transpose(0, 1).unsqueeze(0), None).squeeze(0).transpose(0, 1)
