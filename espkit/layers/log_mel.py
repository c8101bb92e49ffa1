"""Mel filterbank (Slaney or HTK mel scale) and log-mel projection of spectrograms."""

from __future__ import annotations

import math

import torch
from torch import nn

from espkit.utils.typecheck import typechecked
from espkit.utils.types import parse_sampling_rate

# Slaney's Auditory Toolbox scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL  # 15 mels
_SLANEY_LOG_STEP = math.log(6.4) / 27.0  # mels per log-Hz above the break


def hz_to_mel(hz: torch.Tensor, htk: bool = False) -> torch.Tensor:
    """Frequency in Hz -> mel (HTK: ``2595 log10(1 + f / 700)``; else Slaney)."""
    if htk:
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    linear = hz / _SLANEY_HZ_PER_MEL
    log_part = _SLANEY_BREAK_MEL + torch.log(hz.clamp(min=_SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ) / (_SLANEY_LOG_STEP)
    return torch.where(hz >= _SLANEY_BREAK_HZ, log_part, linear)


def mel_to_hz(mel: torch.Tensor, htk: bool = False) -> torch.Tensor:
    """Mel -> frequency in Hz; inverse of :func:`hz_to_mel`."""
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = mel * _SLANEY_HZ_PER_MEL
    log_part = _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOG_STEP * (mel - _SLANEY_BREAK_MEL))
    return torch.where(mel >= _SLANEY_BREAK_MEL, log_part, linear)


def mel_filterbank(
    fs: int,
    n_fft: int,
    n_mels: int = 80,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
) -> torch.Tensor:
    """Triangular mel filters with Slaney area normalisation, float64 ``(n_mels, n_fft // 2 + 1)``.

    Filter ``m`` rises linearly from centre frequency ``c[m]`` to ``c[m + 1]`` and falls to
    ``c[m + 2]``, where the ``n_mels + 2`` centres are equally spaced on the mel scale
    between ``fmin`` and ``fmax``; it is then scaled by ``2 / (c[m + 2] - c[m])`` so every
    filter has the same area in Hz (librosa's default ``norm="slaney"``).
    """
    if fmax is None:
        fmax = fs / 2.0
    if not 0.0 <= fmin < fmax <= fs / 2.0:
        raise ValueError(f"Need 0 <= fmin < fmax <= fs/2; got fmin={fmin}, fmax={fmax}, fs={fs}")
    bin_hz = torch.linspace(0.0, fs / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    mel_edges = torch.linspace(
        float(hz_to_mel(torch.tensor(float(fmin), dtype=torch.float64), htk)),
        float(hz_to_mel(torch.tensor(float(fmax), dtype=torch.float64), htk)),
        n_mels + 2,
        dtype=torch.float64,
    )
    hz_edges = mel_to_hz(mel_edges, htk)
    lower, centre, upper = hz_edges[:-2, None], hz_edges[1:-1, None], hz_edges[2:, None]
    rising = (bin_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bin_hz[None, :]) / (upper - centre)
    weights = torch.minimum(rising, falling).clamp(min=0.0)
    return weights * (2.0 / (upper - lower))


class LogMel(nn.Module):
    """Project a (power or amplitude) spectrogram onto mel filters and take the log.

    Args:
        fs: sampling rate (Hz).
        n_fft: FFT size the spectrogram was computed with (``n_fft // 2 + 1`` bins).
        n_mels: number of mel bands.
        fmin, fmax: band edges in Hz (``fmax=None`` = ``fs / 2``).
        htk: HTK mel scale instead of Slaney's.
        log_base: base of the log (``10.0``, ``2.0``, ...); ``None`` = natural log.
    """

    @typechecked
    def __init__(
        self,
        fs: int | str = 22050,
        n_fft: int = 1024,
        n_mels: int = 80,
        fmin: float | None = 0.0,
        fmax: float | None = None,
        htk: bool = False,
        log_base: float | None = 10.0,
    ):
        super().__init__()
        fs = parse_sampling_rate(fs)
        fmin = 0.0 if fmin is None else float(fmin)
        fmax = fs / 2.0 if fmax is None else float(fmax)
        self.fs, self.n_fft, self.n_mels = fs, n_fft, n_mels
        self.fmin, self.fmax, self.htk, self.log_base = fmin, fmax, htk, log_base
        basis = mel_filterbank(fs, n_fft, n_mels, fmin, fmax, htk).to(torch.float32)
        self.register_buffer("mel_basis", basis, persistent=False)

    def extra_repr(self) -> str:
        return (
            f"fs={self.fs}, n_fft={self.n_fft}, n_mels={self.n_mels}, fmin={self.fmin}, "
            f"fmax={self.fmax}, htk={self.htk}, log_base={self.log_base}"
        )

    def forward(
        self, spec: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Log-mel of ``spec`` ``(B, T, n_freq)`` -> ``(B, T, n_mels)``, lengths unchanged.

        Computes ``log(max(spec @ mel_basis.T, 1e-10))``; frames at or past ``lengths`` are 0.
        """
        mel = torch.matmul(spec, self.mel_basis.to(spec.dtype).T)
        log_mel = torch.log(mel.clamp(min=1e-10))
        if self.log_base is not None:
            log_mel = log_mel / math.log(self.log_base)
        if lengths is not None:
            frames = torch.arange(log_mel.size(1), device=log_mel.device)
            mask = frames[None, :] >= lengths.to(log_mel.device)[:, None]
            log_mel = log_mel.masked_fill(mask.reshape(*mask.shape, *([1] * (log_mel.dim() - 2))), 0.0)
        return log_mel, lengths
