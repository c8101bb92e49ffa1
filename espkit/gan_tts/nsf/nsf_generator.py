"""Harmonic-plus-noise neural source-filter generator (``generator: nsf``).

The hn-NSF idea (Wang & Yamagishi): a *source* made from F0 — a sum of sines at the harmonics of
F0 where voiced, Gaussian noise everywhere — is shaped by a *filter* conditioned on the mel
spectrogram. Periodicity therefore comes from F0 rather than having to be learned, which is what
makes the output voiced like speech after a short training.

Here the filter is applied in the STFT domain: a frame-rate convolutional network reads the
(normalised) mel frames and predicts, for every STFT bin of every frame, a gain for the harmonic
source and a gain for the noise source; the output is the inverse STFT of
``gain_h * STFT(harmonic) + gain_n * STFT(noise)``. The STFT uses the features' own hop, so
frame ``t`` of the gains is frame ``t`` of the mel. The paper's filter is a stack of dilated
convolutions at the sampling rate; in the STFT domain the same conditioning costs a frame-rate
network plus one STFT/iSTFT pair, which is what a 2-core CPU can train in minutes.

F0 at synthesis time: the generator carries a small F0 predictor (dilated 1-D convolutions over
the mel frames) that outputs, per frame, a voicing logit and a distribution over ``f0_bins``
log-spaced F0 bins from ``f0min`` to ``f0max``, trained beside the filter (``auxiliary_losses``) on
the F0 of the training references. A classifier rather than a regression: where the mel leaves an
octave in doubt a regression learns the mean of the two candidates (a gross error either way); the
classifier keeps both and its peak picks one. The F0 is the probability-weighted mean log-F0 of the
bins within ``f0_peak_bins`` of the peak. :meth:`NSFGenerator.inference` uses
it when no F0 is given, so an acoustic model's predicted mel is all a synthesis needs.
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from espkit.gan_tts.convnext import ConvNeXtBackbone, init_convnext_
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked


class HarmonicNoiseSource(nn.Module):
    """F0 frames -> harmonic and noise excitations at the sampling rate.

    Args:
        fs: sampling rate (Hz).
        upsample_factor: samples per F0 frame (the feature hop).
        num_harmonics: harmonics summed (those above ``fs / 2`` are left out per sample).
        sine_amp: amplitude of each harmonic.
        noise_std: standard deviation of the noise source.
    """

    def __init__(self, fs: int, upsample_factor: int, num_harmonics: int, sine_amp: float, noise_std: float):
        super().__init__()
        self.fs = fs
        self.upsample_factor = upsample_factor
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.register_buffer("harmonics", torch.arange(1, num_harmonics + 1, dtype=torch.float32), persistent=False)

    def forward(self, f0: torch.Tensor, random_phase: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``f0`` ``(B, 1, T_feats)`` in Hz (0 = unvoiced) -> harmonic, noise ``(B, T_feats * hop)``."""
        f0_up = f0[:, 0].repeat_interleave(self.upsample_factor, dim=1)  # (B, L)
        voiced = (f0_up > 0).to(f0_up.dtype)
        # Phase of the fundamental in cycles, accumulated in float64 so long utterances stay exact.
        cycles = torch.cumsum(f0_up.double() / self.fs, dim=1)
        if random_phase:
            cycles = cycles + torch.rand(f0.size(0), 1, dtype=cycles.dtype, device=f0.device)
        phase = 2.0 * math.pi * torch.frac(cycles).to(f0_up.dtype)  # (B, L), in [0, 2*pi)
        harmonics = self.harmonics.to(f0_up.dtype)
        below_nyquist = (f0_up[..., None] * harmonics) < (self.fs / 2)  # (B, L, K)
        waves = torch.sin(phase[..., None] * harmonics) * below_nyquist.to(f0_up.dtype)
        harmonic = self.sine_amp * waves.sum(-1) * voiced
        noise = self.noise_std * torch.randn_like(f0_up)
        return harmonic, noise


class F0Predictor(nn.Module):
    """Mel frames ``(B, in_channels, T)`` -> F0-bin logits ``(B, num_bins, T)`` and voicing logit ``(B, 1, T)``.

    Dilated convolutions see about ``sum(dilations) * (kernel_size - 1)`` frames of context.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, dilations: tuple[int, ...], num_bins: int):
        super().__init__()
        layers = []
        for i, dilation in enumerate(dilations):
            layers += [
                nn.Conv1d(
                    in_channels if i == 0 else channels,
                    channels,
                    kernel_size,
                    dilation=dilation,
                    padding=dilation * (kernel_size - 1) // 2,
                ),
                nn.LeakyReLU(0.1),
            ]
        self.body = nn.Sequential(*layers)
        self.num_bins = num_bins
        self.out = nn.Conv1d(channels, num_bins + 1, 1)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.out(self.body(c))
        return out[:, : self.num_bins], out[:, self.num_bins :]


class NSFGenerator(nn.Module):
    """hn-NSF generator with an STFT-domain filter and a built-in F0 predictor.

    Args:
        in_channels: mel bins of the (normalised) input features.
        out_channels: must be 1.
        fs: sampling rate (Hz).
        upsample_factor: feature hop (samples); also the hop of the filter's STFT.
        n_fft: FFT size of the filter's STFT (a Hann window of this length).
        channels, intermediate_channels, num_blocks, kernel_size, layer_scale_init: the filter
            network (:class:`~espkit.gan_tts.convnext.ConvNeXtBackbone` at the frame rate; layer scale
            ``None`` = ``1 / num_blocks``).
        max_log_gain: the predicted log gains are clamped to this (keeps early training finite).
        num_harmonics, sine_amp, noise_std: the source (see :class:`HarmonicNoiseSource`).
        f0_predictor_channels, f0_predictor_kernel_size, f0_predictor_dilations: the F0 predictor.
        f0min, f0max, f0_bins: the predictor's F0 bins (log-spaced, centres at both ends).
        f0_label_sigma: width (in bins) of the Gaussian-blurred one-hot target of a voiced frame.
        f0_peak_bins: bins each side of the peak averaged at synthesis.
        vuv_threshold: voicing probability above which a predicted frame is voiced.
    """

    requires_f0 = True

    @typechecked
    def __init__(
        self,
        in_channels: int = 80,
        out_channels: int = 1,
        fs: int = 22050,
        upsample_factor: int = 256,
        n_fft: int = 1024,
        channels: int = 256,
        intermediate_channels: int = 768,
        num_blocks: int = 6,
        kernel_size: int = 7,
        layer_scale_init: Optional[float] = None,
        max_log_gain: float = 6.0,
        num_harmonics: int = 64,
        sine_amp: float = 0.1,
        noise_std: float = 0.1,
        f0_predictor_channels: int = 128,
        f0_predictor_kernel_size: int = 5,
        f0_predictor_dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 16, 1),
        f0min: float = 60.0,
        f0max: float = 500.0,
        f0_bins: int = 96,
        f0_label_sigma: float = 1.0,
        f0_peak_bins: int = 3,
        vuv_threshold: float = 0.5,
    ):
        super().__init__()
        if layer_scale_init is None:
            layer_scale_init = 1.0 / num_blocks
        if out_channels != 1:
            raise ConfigError(f"generator_conf.out_channels: the nsf generator makes one channel, got {out_channels}")
        if not 0 < upsample_factor <= n_fft // 2:
            raise ConfigError(
                f"generator_conf.upsample_factor={upsample_factor} must be in 1..n_fft // 2 = {n_fft // 2} "
                "(the filter's STFT frames must overlap)"
            )
        if kernel_size % 2 != 1 or f0_predictor_kernel_size % 2 != 1:
            raise ConfigError(
                f"generator_conf.kernel_size ({kernel_size}) and f0_predictor_kernel_size "
                f"({f0_predictor_kernel_size}) must be odd"
            )
        if not 0.0 < f0min < f0max < fs / 2 or f0_bins < 2:
            raise ConfigError(
                f"generator_conf: need 0 < f0min < f0max < fs / 2 and f0_bins >= 2; got f0min={f0min}, "
                f"f0max={f0max}, f0_bins={f0_bins}, fs={fs}"
            )
        if not 0.0 < vuv_threshold < 1.0:
            raise ConfigError(f"generator_conf.vuv_threshold must be in (0, 1), got {vuv_threshold}")
        self.in_channels = in_channels
        self.upsample_factor = upsample_factor
        self.n_fft = n_fft
        self.max_log_gain = max_log_gain
        self.f0_label_sigma = f0_label_sigma
        self.f0_peak_bins = f0_peak_bins
        self.register_buffer("log_f0_bins", torch.linspace(math.log(f0min), math.log(f0max), f0_bins), persistent=False)
        self.vuv_threshold = vuv_threshold
        n_freq = n_fft // 2 + 1
        self.source = HarmonicNoiseSource(fs, upsample_factor, num_harmonics, sine_amp, noise_std)
        self.backbone = ConvNeXtBackbone(
            in_channels, channels, intermediate_channels, num_blocks, kernel_size, layer_scale_init
        )
        self.gain_head = nn.Linear(channels, 2 * n_freq)
        self.f0_predictor = F0Predictor(
            in_channels, f0_predictor_channels, f0_predictor_kernel_size, tuple(f0_predictor_dilations), f0_bins
        )
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        init_convnext_(self.backbone)

    def remove_weight_norm(self) -> None:
        """Nothing to remove (no weight norm); present so every generator can be prepared alike."""

    # --- F0 -------------------------------------------------------------------------------------
    def predict_f0(self, c: torch.Tensor) -> torch.Tensor:
        """Predicted F0 in Hz ``(B, 1, T_feats)`` (0 where unvoiced) from ``c`` ``(B, in_channels, T_feats)``."""
        bin_logits, vuv_logit = self.f0_predictor(c)
        prob = torch.softmax(bin_logits, dim=1)  # (B, K, T)
        bins = torch.arange(prob.size(1), device=c.device)[None, :, None]
        near_peak = (bins - prob.argmax(dim=1, keepdim=True)).abs() <= self.f0_peak_bins
        weights = prob * near_peak.to(prob.dtype)
        log_f0 = (weights * self.log_f0_bins[None, :, None]).sum(1, keepdim=True) / weights.sum(1, keepdim=True)
        voiced = torch.sigmoid(vuv_logit) > self.vuv_threshold
        return torch.exp(log_f0) * voiced.to(log_f0.dtype)

    def auxiliary_losses(
        self, c: torch.Tensor, f0: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """F0-predictor losses against reference ``f0`` ``(B, 1, T_feats)`` Hz: voicing BCE on every
        frame; over voiced frames, the cross-entropy of the bin distribution with a Gaussian-blurred
        one-hot target (``f0_label_sigma`` bins wide) at the reference log-F0. ``lengths`` ``(B,)``:
        frames past a row's length are left out (padding)."""
        bin_logits, vuv_logit = self.f0_predictor(c)
        frames = torch.ones_like(f0)
        if lengths is not None:
            index = torch.arange(f0.size(2), device=f0.device)
            frames = (index[None, None, :] < lengths.to(f0.device)[:, None, None]).to(f0.dtype)
        voiced = (f0 > 0).to(c.dtype) * frames
        bce = F.binary_cross_entropy_with_logits(vuv_logit, voiced, reduction="none")
        vuv_loss = (bce * frames).sum() / frames.sum().clamp(min=1.0)
        step = self.log_f0_bins[1] - self.log_f0_bins[0]
        position = (torch.log(f0.clamp(min=1.0)) - self.log_f0_bins[0]) / step  # (B, 1, T), in bins
        bins = torch.arange(bin_logits.size(1), device=c.device, dtype=c.dtype)[None, :, None]
        target = torch.softmax(-0.5 * ((bins - position) / self.f0_label_sigma) ** 2, dim=1)
        cross_entropy = -(target * torch.log_softmax(bin_logits, dim=1)).sum(1, keepdim=True)
        f0_loss = (cross_entropy * voiced).sum() / voiced.sum().clamp(min=1.0)
        return {"f0_vuv_loss": vuv_loss, "f0_loss": f0_loss}

    # --- waveform -------------------------------------------------------------------------------
    def _gains(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_gains = self.gain_head(self.backbone(c))  # (B, T, 2 * n_freq)
        gains = torch.exp(log_gains.clamp(max=self.max_log_gain))
        gain_h, gain_n = gains.chunk(2, dim=-1)
        # The centred STFT of T * hop samples has T + 1 frames: the last frame repeats frame T - 1.
        gain_h = torch.cat([gain_h, gain_h[:, -1:]], dim=1).transpose(1, 2)
        gain_n = torch.cat([gain_n, gain_n[:, -1:]], dim=1).transpose(1, 2)
        return gain_h, gain_n  # (B, n_freq, T + 1)

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stft(
            x,
            self.n_fft,
            self.upsample_factor,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # (B, n_freq, T + 1)

    def forward(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None, random_phase: bool = True) -> torch.Tensor:
        """``c`` ``(B, in_channels, T_feats)``, ``f0`` ``(B, 1, T_feats)`` Hz (None: predicted)
        -> waveform ``(B, 1, T_feats * upsample_factor)``."""
        if f0 is None:
            f0 = self.predict_f0(c)
        harmonic, noise = self.source(f0, random_phase=random_phase)
        gain_h, gain_n = self._gains(c)
        spec = gain_h * self._stft(harmonic) + gain_n * self._stft(noise)
        length = c.size(2) * self.upsample_factor
        wav = torch.istft(spec, self.n_fft, self.upsample_factor, window=self.window, center=True, length=length)
        return wav.unsqueeze(1)

    @torch.jit.export
    def inference(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``c`` ``(T_feats, in_channels)``, ``f0`` ``(T_feats,)`` or ``(T_feats, 1)`` Hz (None:
        predicted from ``c``) -> ``(T_feats * upsample_factor, 1)``."""
        c = c.transpose(0, 1).unsqueeze(0)
        if f0 is not None:
            f0 = f0.reshape(1, 1, -1).to(c.dtype)
        return self.forward(c, f0, random_phase=False)[0].transpose(0, 1)
