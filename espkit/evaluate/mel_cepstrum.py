"""Mel-cepstra of a waveform by frequency warping of the log amplitude spectrum.

Method (documented because MCD values depend on it): frames of ``n_fft`` samples
(Hann window, centred on ``t * hop_length`` like the fbank/pitch extractors), natural-log
amplitude spectrum ``log|X(w)|`` (floored at ``amplitude_floor``), resampled onto the
mel-like frequency axis of a first-order all-pass warp with coefficient ``alpha``
(``w~ = w + 2 atan(alpha sin w / (1 - alpha cos w))``), then the real cepstrum of the warped
log spectrum (``log|X(w~)| = c0 + 2 sum_m c_m cos(m w~)``) truncated to ``order``. This is
the mel-cepstrum of SPTK's ``mcep`` without its iterative (UELS) refinement: the truncation
smooths the harmonics away, so ``c1..c_order`` describe the spectral envelope and the usual
MCD formula (natural-log cepstra, ``10 / ln 10 * sqrt(2 * sum_d (c_d - c'_d)^2)``) applies.
"""

from __future__ import annotations

import numpy as np

#: all-pass constants commonly used for each sampling rate (SPTK conventions)
ALPHA_BY_FS = {8000: 0.312, 11025: 0.357, 16000: 0.42, 22050: 0.455, 24000: 0.466, 44100: 0.544, 48000: 0.554}


def default_alpha(fs: int) -> float:
    """The all-pass constant for ``fs`` (nearest tabulated rate)."""
    nearest = min(ALPHA_BY_FS, key=lambda rate: abs(rate - fs))
    return ALPHA_BY_FS[nearest]


def frame_signal(wav: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Centred frames ``(T, n_fft)`` with ``T = 1 + len(wav) // hop_length`` (reflect padding)."""
    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    pad = n_fft // 2
    mode = "reflect" if len(wav) > pad else "constant"
    padded = np.pad(wav, (pad, pad), mode=mode)
    num_frames = 1 + len(wav) // hop_length
    index = np.arange(n_fft)[None, :] + hop_length * np.arange(num_frames)[:, None]
    padded = np.pad(padded, (0, max(0, index.max() + 1 - len(padded))))
    return padded[index]


def frame_energy_db(wav: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Frame energy in dB ``(T,)`` on the same grid as :func:`mel_cepstrum`."""
    frames = frame_signal(wav, n_fft, hop_length) * np.hanning(n_fft)[None, :]
    return 10.0 * np.log10(np.maximum((frames**2).sum(axis=1), 1e-20))


def mel_cepstrum(
    wav: np.ndarray,
    fs: int,
    n_fft: int = 1024,
    hop_length: int = 256,
    order: int = 24,
    alpha: float | None = None,
    amplitude_floor: float = 1e-5,
) -> np.ndarray:
    """Mel-cepstra ``(T, order + 1)`` (``c0..c_order``) of ``wav`` ``(T_wav,)`` in [-1, 1].

    See the module docstring for the method; ``alpha`` defaults to :func:`default_alpha`.
    """
    if order < 1 or order >= n_fft // 2:
        raise ValueError(f"order must be in [1, n_fft/2), got {order} with n_fft={n_fft}")
    alpha = default_alpha(fs) if alpha is None else alpha
    frames = frame_signal(wav, n_fft, hop_length) * np.hanning(n_fft)[None, :]
    log_amplitude = np.log(np.maximum(np.abs(np.fft.rfft(frames, axis=1)), amplitude_floor))  # (T, K)
    num_bins = log_amplitude.shape[1]
    warped = np.linspace(0.0, np.pi, num_bins)
    # the inverse of the all-pass warp is the warp with -alpha
    linear = warped - 2.0 * np.arctan(alpha * np.sin(warped) / (1.0 + alpha * np.cos(warped)))
    bins = linear / np.pi * (num_bins - 1)
    low = np.clip(np.floor(bins).astype(int), 0, num_bins - 2)
    frac = bins - low
    warped_log = log_amplitude[:, low] * (1.0 - frac) + log_amplitude[:, low + 1] * frac
    cepstrum = np.fft.irfft(warped_log, n=2 * (num_bins - 1), axis=1)
    return cepstrum[:, : order + 1]
