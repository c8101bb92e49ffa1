"""Sampling-rate conversion for data preparation (soxr, the SoX resampler library).

Used where a corpus is not at the configured rate (tts.sh stage 2, ``utils/format_wav_scp.py``);
training never resamples: audio at another rate is an error there. soxr is in the ``recipe``
extra (``pip install 'espkit[recipe]'``); docs/design.md ("Audio input") says why it was chosen.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

#: soxr's "high quality" preset: passband to 0.91 of the lower Nyquist frequency, images and
#: aliases attenuated far below 16-bit quantisation noise
QUALITY = "HQ"


def resample(audio: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """``audio`` ``(T,)`` or ``(T, C)`` at ``fs_in`` Hz -> float64 ``(T', )`` or ``(T', C)`` at ``fs_out``
    Hz, with ``T' = round(T * fs_out / fs_in)``; returned unchanged (as float64) when the rates agree.

    Raises:
        ValueError: a rate that is not a positive integer, or audio that is not 1-d/2-d.
        ImportError: soxr is not installed (the message says how to install it).
    """
    for name, rate in (("fs_in", fs_in), ("fs_out", fs_out)):
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise ValueError(f"resample: {name} must be a positive int, got {rate!r}")
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim not in (1, 2):
        raise ValueError(f"resample: audio must be (T,) or (T, C), got shape {audio.shape}")
    if fs_in == fs_out:
        return audio
    try:
        import soxr
    except ImportError:
        raise ImportError(
            f"resampling {fs_in} Hz -> {fs_out} Hz needs soxr: pip install 'espkit[recipe]' (tools/install.sh does)"
        ) from None
    return soxr.resample(audio, fs_in, fs_out, quality=QUALITY)
