"""Synthesized vs. reference audio: MCD with DTW, and the frame-level F0 figures on the DTW path.

Both waveforms are cut to their speech region (frames within ``silence_db`` of the loudest
frame, first to last) so that leading/trailing silence of different kinds (digital zeros vs.
vocoder noise) does not weigh on the scores; mel-cepstra (:mod:`espkit.evaluate.mel_cepstrum`)
of the two regions are aligned by DTW on ``c1..c_order``.

- **MCD** (dB): mean over the DTW path of ``10 / ln 10 * sqrt(2 * sum_{d=1..order} (c_d - c'_d)^2)``
  (``c0``, the energy, excluded).
- **F0 figures** (V/UV error, GPE, FFE, log-F0 RMSE in cents with its coverage): on the F0
  tracks of the evaluation's one tracker sampled at the path pairs
  (:mod:`espkit.evaluate.f0_metrics`).
- **duration ratio**: synthesized samples / reference samples (whole files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from espkit.evaluate.dtw import dtw_path, euclidean_cost
from espkit.evaluate.f0_metrics import YIN_THRESHOLD, YIN_TROUGH_MARGIN, F0Track, f0_frame_errors, track_f0
from espkit.evaluate.mel_cepstrum import frame_energy_db, mel_cepstrum

MCD_CONSTANT = 10.0 / math.log(10.0) * math.sqrt(2.0)


@dataclass
class FrameConfig:
    """Analysis settings shared by the cepstra and the F0 tracks."""

    fs: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    order: int = 24
    silence_db: float = 40.0
    f0min: float = 60.0
    f0max: float = 500.0
    #: The F0 tracker's setting for every F0 figure (:mod:`espkit.evaluate.f0_metrics`; chosen on
    #: references and copy-synthesis, docs/design.md "Objective evaluation").
    yin_threshold: float = YIN_THRESHOLD
    yin_trough_margin: Optional[float] = YIN_TROUGH_MARGIN


def speech_region(wav: np.ndarray, config: FrameConfig) -> slice:
    """Frame slice from the first to the last frame within ``silence_db`` of the loudest one."""
    energy = frame_energy_db(wav, config.n_fft, config.hop_length)
    loud = np.flatnonzero(energy >= energy.max() - config.silence_db)
    return slice(int(loud[0]), int(loud[-1]) + 1)


def mcd_of_path(ref_mcep: np.ndarray, syn_mcep: np.ndarray, path: np.ndarray) -> float:
    """Mean MCD (dB) over ``path`` ``(L, 2)`` of cepstra ``(N, order + 1)`` and ``(M, order + 1)``."""
    diff = ref_mcep[path[:, 0], 1:] - syn_mcep[path[:, 1], 1:]
    return float(np.mean(MCD_CONSTANT * np.sqrt((diff**2).sum(axis=1))))


@dataclass
class Analysis:
    """What the metrics need of one waveform, computed once (a reference is compared many times).

    Attributes:
        num_samples: length of the waveform.
        region: frames of its speech region (:func:`speech_region`).
        mcep: mel-cepstra ``(T_region, order + 1)`` of the region.
        track: the F0 track of the whole waveform (:func:`espkit.evaluate.f0_metrics.track_f0`).
    """

    num_samples: int
    region: slice
    mcep: np.ndarray
    track: F0Track


def analyse(wav: np.ndarray, config: FrameConfig) -> Analysis:
    """:class:`Analysis` of one waveform ``(T,)`` in [-1, 1] at ``config.fs``."""
    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if len(wav) == 0:
        raise ValueError("cannot compare an empty waveform")
    region = speech_region(wav, config)
    mcep = mel_cepstrum(wav, config.fs, config.n_fft, config.hop_length, config.order)[region]
    return Analysis(num_samples=len(wav), region=region, mcep=mcep, track=track_f0(wav, config))


def compare_analyses(ref: Analysis, syn: Analysis) -> dict:
    """All spectral/F0 metrics of one utterance pair, on the DTW path of their speech regions.

    Returns:
        ``{"mcd_db", "duration_ratio", "path_length"}`` and the frame-level F0 figures and
        counts of :func:`espkit.evaluate.f0_metrics.f0_frame_errors`.
    """
    path = dtw_path(euclidean_cost(ref.mcep[:, 1:], syn.mcep[:, 1:]))
    ref_f0 = ref.track.f0[ref.region]
    syn_f0 = syn.track.f0[syn.region]
    # the F0 track can be a frame shorter than the cepstra at the very end of a file
    ref_index = np.minimum(path[:, 0], len(ref_f0) - 1)
    syn_index = np.minimum(path[:, 1], len(syn_f0) - 1)
    return {
        "mcd_db": mcd_of_path(ref.mcep, syn.mcep, path),
        **f0_frame_errors(ref_f0[ref_index], syn_f0[syn_index]),
        "duration_ratio": syn.num_samples / ref.num_samples,
        "path_length": int(len(path)),
    }


def compare_waveforms(ref_wav: np.ndarray, syn_wav: np.ndarray, config: FrameConfig) -> dict:
    """:func:`compare_analyses` of two waveforms ``(T,)`` in [-1, 1] at ``config.fs``."""
    return compare_analyses(analyse(ref_wav, config), analyse(syn_wav, config))
