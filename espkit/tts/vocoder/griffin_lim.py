"""Griffin-Lim vocoder for log-mel (or linear amplitude) spectrograms, with momentum.

Mel -> linear uses the pseudo-inverse of the mel filterbank (clamped positive); the phase
is then recovered by fast Griffin-Lim (Perraudin et al., 2013): alternating STFT / inverse
STFT projections with a momentum term.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from typeguard import typechecked

from espkit.layers.log_mel import mel_filterbank
from espkit.layers.stft import make_window
from espkit.tts.vocoder.abs_vocoder import AbsVocoder

logger = logging.getLogger(__name__)


class GriffinLim(AbsVocoder):
    """Spectrogram-to-waveform by Griffin-Lim.

    Args:
        fs: sampling rate (Hz).
        n_fft, n_shift, win_length, window: STFT of the features (``n_shift`` = hop, samples).
        n_mels: mel bands of the input; ``None`` = the input is a linear amplitude
            spectrogram ``(T, n_fft // 2 + 1)`` (no log).
        fmin, fmax, htk: mel filterbank of the features (see ``LogMel``).
        griffin_lim_iters: phase-reconstruction iterations.
        momentum: fast Griffin-Lim momentum (0 = classic Griffin-Lim).
        log_base: base of the input log-mel (``None`` = natural log).
        seed: seed of the random initial phase (deterministic output).
    """

    @typechecked
    def __init__(
        self,
        fs: int,
        n_fft: int,
        n_shift: int,
        win_length: int | None = None,
        window: str | None = "hann",
        n_mels: int | None = 80,
        fmin: float | None = 80,
        fmax: float | None = 7600,
        htk: bool = False,
        griffin_lim_iters: int = 32,
        momentum: float = 0.99,
        log_base: float | None = 10.0,
        seed: int = 0,
    ):
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self._fs = fs
        self.n_fft = n_fft
        self.n_shift = n_shift
        self.win_length = n_fft if win_length is None else win_length
        self.window = window
        self.n_mels = n_mels
        self.griffin_lim_iters = griffin_lim_iters
        self.momentum = momentum
        self.log_base = log_base
        self.seed = seed
        if n_mels is not None:
            basis = mel_filterbank(fs, n_fft, n_mels, fmin or 0.0, fmax, htk)
            self.register_buffer(
                "inverse_mel_basis", torch.linalg.pinv(basis).to(torch.float32), persistent=False
            )
        else:
            self.inverse_mel_basis = None

    @classmethod
    def from_feats_extract_params(cls, params: dict[str, Any], **kwargs: Any) -> GriffinLim:
        """Build from ``AbsFeatsExtract.get_parameters()``; ``kwargs`` override/add
        options (``griffin_lim_iters``, ``momentum``, ``fs`` where the extractor has none)."""
        options = dict(
            fs=params.get("fs"),
            n_fft=params["n_fft"],
            n_shift=params["hop_length"],
            win_length=params.get("win_length"),
            window=params.get("window", "hann"),
            n_mels=params.get("n_mels"),
            fmin=params.get("fmin"),
            fmax=params.get("fmax"),
            log_base=params.get("log_base"),
        )
        options.update(kwargs)
        if options["fs"] is None:
            raise ValueError("GriffinLim needs fs: the feature extractor has none, pass fs=...")
        return cls(**options)

    @property
    def fs(self) -> int:
        return self._fs

    def extra_repr(self) -> str:
        return (
            f"fs={self._fs}, n_fft={self.n_fft}, n_shift={self.n_shift}, n_mels={self.n_mels}, "
            f"griffin_lim_iters={self.griffin_lim_iters}, momentum={self.momentum}"
        )

    def amplitude_from_feats(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats`` ``(T, n_mels)`` log-mel (or ``(T, n_freq)`` linear) -> amplitude
        ``(T, n_freq)``, at least 1e-10."""
        if self.inverse_mel_basis is None:
            return feats.clamp(min=1e-10)
        if feats.size(-1) != self.n_mels:
            raise ValueError(
                f"GriffinLim expects (T, {self.n_mels}) feats, got {tuple(feats.shape)}"
            )
        scale = 1.0 if self.log_base is None else math.log(self.log_base)
        mel = torch.exp(feats * scale)
        return torch.matmul(mel, self.inverse_mel_basis.to(feats.dtype).T).clamp(min=1e-10)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats`` ``(T_feats, D)`` -> ``wav`` ``(T_wav,)`` with
        ``T_wav = (T_feats - 1) * n_shift``."""
        with torch.no_grad():
            feats = feats.detach().to(torch.float32)
            amplitude = self.amplitude_from_feats(feats).T  # (n_freq, T)
            num_frames = amplitude.size(1)
            # Very short inputs (an untrained model may stop after one frame) are padded with
            # silent frames so the reflect-padded STFT is defined, then trimmed back.
            min_frames = self.n_fft // self.n_shift + 2
            if num_frames < min_frames:
                amplitude = torch.nn.functional.pad(amplitude, (0, min_frames - num_frames))
                return self.griffin_lim(amplitude)[: max(num_frames - 1, 0) * self.n_shift]
            return self.griffin_lim(amplitude)

    def griffin_lim(self, amplitude: torch.Tensor) -> torch.Tensor:
        """Waveform whose STFT amplitude approximates ``amplitude`` ``(n_freq, T)``."""
        window = make_window(self.window, self.win_length, amplitude.device, amplitude.dtype)
        length = (amplitude.size(1) - 1) * self.n_shift
        stft_args = dict(
            n_fft=self.n_fft, hop_length=self.n_shift, win_length=self.win_length, window=window
        )

        def to_wav(spec: torch.Tensor) -> torch.Tensor:
            return torch.istft(spec, center=True, length=length, **stft_args)

        def to_spec(wav: torch.Tensor) -> torch.Tensor:
            return torch.stft(
                wav, center=True, pad_mode="reflect", return_complex=True, **stft_args
            )

        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        phase = torch.rand(amplitude.shape, generator=generator) * (2.0 * math.pi)
        angles = torch.polar(torch.ones_like(amplitude), phase.to(amplitude.device))
        previous = torch.zeros_like(angles)
        factor = self.momentum / (1.0 + self.momentum)
        for _ in range(self.griffin_lim_iters):
            rebuilt = to_spec(to_wav(amplitude * angles))
            angles = rebuilt - factor * previous
            angles = angles / (angles.abs() + 1e-16)
            previous = rebuilt
        return to_wav(amplitude * angles)
