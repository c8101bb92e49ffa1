"""The evaluation's one F0 tracker and the frame-level F0 figures computed from it.

Every F0-based figure of ``espkit.bin.tts_evaluate`` (F0 errors, voicing, the emotion
classifier's prosody statistics) comes from :func:`track_f0` with one
:class:`~espkit.evaluate.spectral_metrics.FrameConfig`: the in-house YIN
(:class:`~espkit.tts.feats_extract.pitch.Pitch`) at :data:`YIN_THRESHOLD`. That threshold
was chosen on reference recordings and their copy-synthesis only, never on a system's
output; the choice and its validation (``bench/validate_f0_tracker.py``) are in
docs/design.md, "Objective evaluation".

Figures of a synthesized track against its reference track, both sampled on the same
aligned frame pairs (the DTW path; ``R`` = frames voiced in the reference):

- **V/UV error**: pairs whose voicing decisions differ / all pairs.
- **GPE** (gross pitch error): pairs voiced in both whose F0 differs by more than
  :data:`GROSS_ERROR` (20 %) / pairs voiced in both.
- **FFE** (F0 frame error): pairs with a voicing error or a gross pitch error / all pairs.
- **log-F0 RMSE** (cents) over pairs voiced in both, with its **coverage**: pairs voiced in
  both / ``R``, the share of the reference's voiced frames it was computed on. Gross errors
  (octave jumps, 1200 cents and more) dominate it when there are a few percent of them.
- **FPE** (fine pitch error, cents): the same RMSE over the pairs voiced in both *without* a
  gross error: how close the pitch is where it is right at all.

Ratios whose denominator is empty are ``None`` with a reason (no NaN reaches a JSON file).

Without a threshold, :func:`track_f0` also returns each frame's **periodicity**
(``1 - min d'(tau)``, YIN's aperiodicity turned round): its distribution over the active
frames says how periodic a waveform is whatever the voicing decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional

import numpy as np
import torch

from espkit.evaluate.mel_cepstrum import frame_energy_db
from espkit.tts.feats_extract.pitch import Pitch

if TYPE_CHECKING:  # a cycle at run time: spectral_metrics imports this module
    from espkit.evaluate.spectral_metrics import FrameConfig

#: YIN's absolute threshold for every F0 figure of the evaluation (validated in docs/design.md).
YIN_THRESHOLD = 0.45
#: ... and its trough margin (see :class:`~espkit.tts.feats_extract.pitch.Pitch`).
YIN_TROUGH_MARGIN: Optional[float] = 0.05
#: A pitch error above this relative deviation is gross (the standard 20 %).
GROSS_ERROR = 0.2
#: Quantiles of the periodicity distribution that are reported.
PERIODICITY_QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class F0Track:
    """One waveform's F0 analysis on the frame grid (frame ``t`` centred on sample ``t * hop``).

    Attributes:
        f0: F0 in Hz ``(T,)``, 0 where unvoiced.
        periodicity: ``(T,)`` in [0, 1] (see the module docstring).
        active: ``(T,)`` frames whose energy is within ``silence_db`` of the loudest frame.
    """

    f0: np.ndarray
    periodicity: np.ndarray
    active: np.ndarray

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0


def track_f0(wav: np.ndarray, config: "FrameConfig") -> F0Track:
    """The tracker of the evaluation on one waveform ``(T_wav,)`` in [-1, 1] at ``config.fs``."""

    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    pitch = Pitch(
        fs=config.fs,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        f0min=config.f0min,
        f0max=config.f0max,
        use_continuous_f0=False,
        use_log_f0=False,
        yin_threshold=config.yin_threshold,
        yin_trough_margin=config.yin_trough_margin,
    )
    x = torch.from_numpy(wav)[None]
    f0, periodicity, _ = pitch.estimate_f0_and_periodicity(x, torch.tensor([len(wav)]))
    energy = frame_energy_db(wav, config.n_fft, config.hop_length)
    num_frames = min(f0.size(1), len(energy))
    active = energy[:num_frames] >= energy.max() - config.silence_db
    return F0Track(f0=f0[0, :num_frames].numpy(), periodicity=periodicity[0, :num_frames].numpy(), active=active)


def _ratio(
    numerator: float, denominator: float, reason: str, null_reasons: Dict[str, str], key: str
) -> Optional[float]:
    if denominator <= 0:
        null_reasons[key] = reason
        return None
    return float(numerator / denominator)


def f0_frame_errors(ref_f0: np.ndarray, syn_f0: np.ndarray) -> dict:
    """Frame-level F0 figures of aligned tracks ``ref_f0``, ``syn_f0`` ``(L,)`` in Hz (0 = unvoiced).

    Returns the counts (``num_pairs``, ``ref_voiced``, ``syn_voiced``, ``both_voiced``,
    ``vuv_errors``, ``gross_errors``, ``sum_squared_cents``) from which corpus figures are pooled
    by :func:`pooled_f0_figures`, and this utterance's figures (see there).
    """
    ref_f0 = np.asarray(ref_f0, dtype=np.float64)
    syn_f0 = np.asarray(syn_f0, dtype=np.float64)
    if ref_f0.shape != syn_f0.shape or ref_f0.ndim != 1:
        raise ValueError(f"aligned F0 tracks must be (L,) of one length, got {ref_f0.shape} and {syn_f0.shape}")
    ref_voiced, syn_voiced = ref_f0 > 0, syn_f0 > 0
    both = ref_voiced & syn_voiced
    cents = 1200.0 * np.log2(syn_f0[both] / ref_f0[both])
    gross = np.abs(syn_f0[both] / ref_f0[both] - 1.0) > GROSS_ERROR
    counts = {
        "num_pairs": int(len(ref_f0)),
        "ref_voiced": int(ref_voiced.sum()),
        "syn_voiced": int(syn_voiced.sum()),
        "both_voiced": int(both.sum()),
        "vuv_errors": int((ref_voiced != syn_voiced).sum()),
        "gross_errors": int(gross.sum()),
        "sum_squared_cents": float((cents**2).sum()),
        "sum_squared_cents_fine": float((cents[~gross] ** 2).sum()),
    }
    return {**counts, **pooled_f0_figures([counts])}


def pooled_f0_figures(counts: list) -> dict:
    """Corpus figures pooled over the frame pairs of every utterance's :func:`f0_frame_errors` counts.

    Returns ``vuv_error``, ``gpe``, ``ffe``, ``f0_rmse_cents``, ``fpe_cents``, ``f0_rmse_coverage`` (each None
    when undefined, with the reason under ``null_reasons``) and ``ref_voiced_share`` (the
    reference's voiced share of the pairs: the FFE of a synthesis with no voiced frame).
    """
    total = {
        key: sum(c[key] for c in counts)
        for key in (
            "num_pairs",
            "ref_voiced",
            "both_voiced",
            "vuv_errors",
            "gross_errors",
            "sum_squared_cents",
            "sum_squared_cents_fine",
        )
    }
    reasons: Dict[str, str] = {}
    no_pairs = "no aligned frame pair"
    no_both = "no frame pair is voiced in both (coverage 0)"
    rmse = fpe = None
    if total["both_voiced"] > 0:
        rmse = float(np.sqrt(total["sum_squared_cents"] / total["both_voiced"]))
    else:
        reasons["f0_rmse_cents"] = no_both
    fine_pairs = total["both_voiced"] - total["gross_errors"]
    if fine_pairs > 0:
        fpe = float(np.sqrt(total["sum_squared_cents_fine"] / fine_pairs))
    else:
        reasons["fpe_cents"] = no_both if total["both_voiced"] == 0 else "every pair voiced in both is a gross error"
    return {
        "vuv_error": _ratio(total["vuv_errors"], total["num_pairs"], no_pairs, reasons, "vuv_error"),
        "gpe": _ratio(total["gross_errors"], total["both_voiced"], no_both, reasons, "gpe"),
        "ffe": _ratio(total["vuv_errors"] + total["gross_errors"], total["num_pairs"], no_pairs, reasons, "ffe"),
        "f0_rmse_cents": rmse,
        "fpe_cents": fpe,
        "f0_rmse_coverage": _ratio(
            total["both_voiced"], total["ref_voiced"], "the reference has no voiced frame", reasons, "f0_rmse_coverage"
        ),
        "ref_voiced_share": _ratio(total["ref_voiced"], total["num_pairs"], no_pairs, reasons, "ref_voiced_share"),
        "null_reasons": reasons,
    }


def voicing_figures(tracks: list) -> dict:
    """Voicing of waveforms on their own: ``voiced_ratio`` (voiced active frames / active frames,
    pooled over ``tracks``) and ``periodicity`` quantiles (:data:`PERIODICITY_QUANTILES`) over
    the active frames, keyed ``p10``, ``p50``, ``p90``."""
    active = sum(int(t.active.sum()) for t in tracks)
    if active == 0:
        return {
            "voiced_ratio": None,
            "periodicity": None,
            "null_reasons": {"voiced_ratio": "no active frame", "periodicity": "no active frame"},
        }
    voiced = sum(int((t.voiced & t.active).sum()) for t in tracks)
    values = np.concatenate([t.periodicity[t.active] for t in tracks])
    quantiles = np.quantile(values, PERIODICITY_QUANTILES)
    return {
        "voiced_ratio": voiced / active,
        "periodicity": {f"p{round(q * 100)}": float(v) for q, v in zip(PERIODICITY_QUANTILES, quantiles)},
        "null_reasons": {},
    }
