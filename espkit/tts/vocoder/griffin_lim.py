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

from espkit.layers.log_mel import mel_filterbank
from espkit.layers.stft import make_window
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.utils.typecheck import typechecked

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
            self.register_buffer("inverse_mel_basis", torch.linalg.pinv(basis).to(torch.float32), persistent=False)
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
            raise ValueError(f"GriffinLim expects (T, {self.n_mels}) feats, got {tuple(feats.shape)}")
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
        """Waveform whose STFT amplitude approximates ``amplitude`` ``(n_freq, T)``.

        Each iteration is an inverse STFT and an STFT with ``center=True`` (what
        ``torch.istft``/``torch.stft`` compute; the tests check both against them), written as
        framing + ``rfft`` and ``irfft`` + overlap-add on a ``(T, n_fft)`` frame matrix, with
        the window envelope computed once: ``torch.istft`` recomputes it and overlap-adds
        through ``unfold_backward`` on every call, which took 3/4 of Griffin-Lim's time.
        """
        frames = _StftFrames(
            self.n_fft,
            self.n_shift,
            self.win_length,
            self.window,
            amplitude.size(1),
            amplitude.device,
            amplitude.dtype,
        )
        amp = amplitude.T.contiguous()  # (T, n_freq)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        phase = torch.rand(amplitude.shape, generator=generator).T.to(amplitude.device) * (2.0 * math.pi)
        # the spectrum to invert, as the real view (T, n_freq, 2) of amplitude * exp(i phase)
        spec = torch.stack([amp * torch.cos(phase), amp * torch.sin(phase)], dim=-1)
        previous = torch.zeros_like(spec)
        factor = self.momentum / (1.0 + self.momentum)
        for _ in range(self.griffin_lim_iters):
            rebuilt = torch.view_as_real(frames.stft(frames.istft(spec)))
            angles = torch.sub(rebuilt, previous, alpha=factor)  # not yet of unit modulus
            # amplitude * angles / (|angles| + 1e-16), with |.| on the real view (a complex
            # abs/div is 3x slower on CPU)
            modulus = torch.addcmul(angles[..., 0] * angles[..., 0], angles[..., 1], angles[..., 1])
            scale = amp / modulus.sqrt_().add_(1e-16)
            spec = angles * scale.unsqueeze(-1)
            previous = rebuilt
        return frames.istft(spec)


class _StftFrames:
    """``center=True`` STFT / inverse STFT of one signal of ``num_frames`` frames.

    Spectra are ``(T, n_freq, 2)`` (real view of complex), signals ``((T - 1) * hop,)``.
    """

    def __init__(
        self,
        n_fft: int,
        hop: int,
        win_length: int,
        window: str | None,
        num_frames: int,
        device: torch.device,
        dtype: torch.dtype,
    ):
        win = make_window(window, win_length, device, dtype)
        left = (n_fft - win_length) // 2  # torch.stft centres a shorter window in the frame
        self.window = torch.nn.functional.pad(win, (left, n_fft - win_length - left))
        self.n_fft, self.hop, self.num_frames = n_fft, hop, num_frames
        self.pad = n_fft // 2
        self.length = (num_frames - 1) * hop
        envelope = self._overlap_add(self.window.square().expand(num_frames, n_fft))
        self.envelope = envelope[self.pad : self.pad + self.length].clamp(min=1e-11)

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """``(T, n_fft)`` -> ``(n_fft + (T - 1) * hop,)`` with frame ``t`` added at ``t * hop``."""
        num_frames, n_fft, hop = frames.size(0), self.n_fft, self.hop
        if n_fft % hop == 0:  # n_fft / hop shifted copies of (T, hop) blocks
            per = n_fft // hop
            blocks = frames.reshape(num_frames, per, hop)
            out = frames.new_zeros(num_frames + per - 1, hop)
            for j in range(per):
                out[j : j + num_frames] += blocks[:, j]
            return out.view(-1)
        total = n_fft + (num_frames - 1) * hop
        folded = torch.nn.functional.fold(frames.T.unsqueeze(0), (1, total), (1, n_fft), stride=(1, hop))
        return folded.view(total)

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """``((T - 1) * hop,)`` -> complex ``(T, n_freq)``."""
        padded = torch.nn.functional.pad(wav.view(1, 1, -1), (self.pad, self.pad), mode="reflect")
        frames = padded.view(-1).unfold(0, self.n_fft, self.hop) * self.window
        return torch.fft.rfft(frames)

    def istft(self, spec: torch.Tensor) -> torch.Tensor:
        """``(T, n_freq, 2)`` real view of a complex spectrum -> ``((T - 1) * hop,)``."""
        frames = torch.fft.irfft(torch.view_as_complex(spec), n=self.n_fft) * self.window
        signal = self._overlap_add(frames)
        return signal[self.pad : self.pad + self.length] / self.envelope
