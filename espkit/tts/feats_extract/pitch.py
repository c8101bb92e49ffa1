"""Frame-level F0 with the YIN estimator (a drop-in for ESPnet2's ``dio`` pitch extractor).

YIN (de Cheveigné & Kawahara, 2002): for each frame the squared-difference function
``d(tau)`` is normalised by its cumulative mean, the first trough below an absolute
threshold between ``fs / f0max`` and ``fs / f0min`` is the period, refined by parabolic
interpolation. Frames without such a trough are unvoiced (F0 = 0). All frames of a batch
are processed at once with FFT correlation.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch.nn import functional as F

from espkit.layers.stft import Stft
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.tts.feats_extract.frame_alignment import adjust_num_frames, average_by_duration
from espkit.utils.typecheck import typechecked
from espkit.utils.types import parse_sampling_rate


class Pitch(AbsFeatsExtract):
    """F0 on the fbank frame grid: ``(B, T_wav)`` -> ``(B, T_feats, 1)``.

    Frame ``t`` is centred on sample ``t * hop_length``, so the output has as many frames
    as :class:`~espkit.tts.feats_extract.fbank.LogMelFbank` with the same ``n_fft`` and
    ``hop_length``.

    Args:
        fs: sampling rate (Hz).
        n_fft: fbank FFT size; also the YIN analysis frame length (enlarged if shorter
            than two periods of ``f0min``).
        hop_length: frame shift (samples).
        f0min, f0max: search range (Hz).
        use_continuous_f0: fill unvoiced frames by linear interpolation between voiced
            neighbours (edges hold the nearest voiced value).
        use_log_f0: natural log of non-zero F0.
        reduction_factor: durations passed to ``forward`` count frames of the reduced
            (``T_feats / reduction_factor``) grid.
        use_token_averaged_f0: with ``durations``, average over each token's voiced frames.
        yin_threshold: absolute threshold of the cumulative-mean-normalised difference ``d'``:
            a frame is voiced when ``d'`` has a trough below it in the search range.
        yin_trough_margin: the period is the first trough below ``yin_threshold`` that is also
            within this margin of the frame's deepest ``d'`` (None: the first trough below the
            threshold, plain YIN). A margin keeps a shallow trough at half the period (an octave
            up) from being taken when a high threshold is used to catch weakly periodic frames.
    """

    @typechecked
    def __init__(
        self,
        fs: int | str = 22050,
        n_fft: int = 1024,
        hop_length: int = 256,
        f0min: float = 60.0,
        f0max: float = 500.0,
        use_continuous_f0: bool = True,
        use_log_f0: bool = True,
        reduction_factor: int | None = 1,
        use_token_averaged_f0: bool = False,
        yin_threshold: float = 0.15,
        yin_trough_margin: float | None = None,
    ):
        super().__init__()
        fs = parse_sampling_rate(fs)
        if not 0 < f0min < f0max < fs / 2:
            raise ValueError(f"Need 0 < f0min < f0max < fs/2; got {f0min}, {f0max}, fs={fs}")
        reduction_factor = 1 if reduction_factor is None else reduction_factor  # ESPnet2's default None
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {reduction_factor}")
        self.fs = fs
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.f0min = f0min
        self.f0max = f0max
        self.use_continuous_f0 = use_continuous_f0
        self.use_log_f0 = use_log_f0
        self.reduction_factor = reduction_factor
        self.use_token_averaged_f0 = use_token_averaged_f0
        self.yin_threshold = yin_threshold
        if yin_trough_margin is not None and yin_trough_margin < 0:
            raise ValueError(f"yin_trough_margin must be >= 0 or None, got {yin_trough_margin}")
        self.yin_trough_margin = yin_trough_margin
        self.tau_min = max(2, int(math.floor(fs / f0max)))
        self.tau_max = int(math.ceil(fs / f0min))
        frame_length = max(n_fft, 2 * (self.tau_max + 2))
        self.frame_length = frame_length + frame_length % 2
        self._frame_grid = Stft(n_fft=n_fft, hop_length=hop_length, center=True)

    def extra_repr(self) -> str:
        return (
            f"fs={self.fs}, hop_length={self.hop_length}, f0min={self.f0min}, "
            f"f0max={self.f0max}, frame_length={self.frame_length}"
        )

    def output_size(self) -> int:
        return 1

    def get_parameters(self) -> dict[str, Any]:
        return dict(
            fs=self.fs,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            f0min=self.f0min,
            f0max=self.f0max,
            use_continuous_f0=self.use_continuous_f0,
            use_log_f0=self.use_log_f0,
            reduction_factor=self.reduction_factor,
            use_token_averaged_f0=self.use_token_averaged_f0,
            yin_threshold=self.yin_threshold,
            yin_trough_margin=self.yin_trough_margin,
        )

    def forward(
        self,
        input: torch.Tensor,
        input_lengths: torch.Tensor | None = None,
        feats_lengths: torch.Tensor | None = None,
        durations: torch.Tensor | None = None,
        durations_lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Extract F0.

        Args:
            input: ``(B, T_wav)`` waveforms.
            input_lengths: ``(B,)`` samples; ``None`` = ``T_wav``.
            feats_lengths: ``(B,)`` target frame counts (trim / zero-pad to them).
            durations: ``(B, T_text)`` frames per token (used with token averaging).
            durations_lengths: ``(B,)`` tokens per row.

        Returns:
            pitch ``(B, T_feats, 1)`` (or ``(B, T_text, 1)`` when token-averaged) and its
            lengths ``(B,)``. Unvoiced and padded frames are 0.
        """
        if input.dim() == 1:
            input = input.unsqueeze(0)
        if input_lengths is None:
            input_lengths = torch.full((input.size(0),), input.size(1), dtype=torch.long, device=input.device)
        f0, lengths = self.estimate_f0(input, input_lengths)
        voiced = f0 > 0
        if self.use_continuous_f0:
            f0 = interpolate_unvoiced(f0, lengths)
            voiced = f0 > 0
        if self.use_log_f0:
            f0 = torch.where(voiced, torch.log(f0.clamp(min=1e-8)), f0)
        if feats_lengths is not None:
            f0, new_lengths = adjust_num_frames(f0, lengths, feats_lengths)
            voiced, _ = adjust_num_frames(voiced.to(f0.dtype), lengths, feats_lengths)
            lengths = new_lengths
        if self.use_token_averaged_f0 and durations is not None:
            f0 = average_by_duration(f0, durations * self.reduction_factor, durations_lengths, weights=voiced)
            lengths = (
                durations_lengths.to(f0.device)
                if durations_lengths is not None
                else torch.full((f0.size(0),), f0.size(1), dtype=torch.long, device=f0.device)
            )
        return f0.unsqueeze(-1).to(input.dtype), lengths

    @torch.no_grad()
    def estimate_f0(
        self, input: torch.Tensor, input_lengths: torch.Tensor, frame_index: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw YIN F0 in Hz ``(B, T_frames)`` (0 = unvoiced or padding) and frame counts.

        ``frame_index`` ``(B, F)``: analyse only these frames of each row (output ``(B, F)``, the
        same values as the corresponding frames of the whole analysis): what a vocoder needs for a
        training segment without tracking the whole utterance.
        """
        frames, valid, frame_lengths = self._analysis_frames(input, input_lengths, frame_index)
        return self._yin(self._cmnd(frames)) * valid, frame_lengths

    @torch.no_grad()
    def estimate_f0_and_periodicity(
        self, input: torch.Tensor, input_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw YIN F0 ``(B, T_frames)`` as :meth:`estimate_f0`, the periodicity ``(B, T_frames)``
        and the frame counts ``(B,)``.

        The periodicity is ``1 - min_tau d'(tau)`` over the search range ``[fs / f0max, fs / f0min]``
        clipped to ``[0, 1]`` (``d'``: the cumulative-mean-normalised difference). It needs no
        voicing threshold: about 1 for a periodic frame, near or below 0.5 for noise; 0 on padding.
        """
        frames, valid, frame_lengths = self._analysis_frames(input, input_lengths)
        cmnd = self._cmnd(frames)
        search = cmnd[..., self.tau_min : self.tau_max + 1]
        periodicity = (1.0 - search.min(dim=-1).values).clamp(0.0, 1.0)
        return self._yin(cmnd) * valid, periodicity * valid, frame_lengths

    def _analysis_frames(
        self, input: torch.Tensor, input_lengths: torch.Tensor, frame_index: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean-removed analysis frames ``(B, T, N)`` (float64), the real-frame mask ``(B, T)`` and
        the frame counts ``(B,)`` (``T``: every frame, or the ``F`` frames of ``frame_index`` ``(B, F)``)."""
        x = input.to(torch.float64)
        input_lengths = input_lengths.to(device=x.device, dtype=torch.long)
        frame_lengths = self._frame_grid.n_frames(input_lengths)
        if frame_index is None:
            t_frames = int(self._frame_grid.n_frames(x.size(1)))
            frame_index = torch.arange(t_frames, device=x.device)[None, :].expand(x.size(0), -1)
        frame_index = frame_index.to(device=x.device, dtype=torch.long)
        n = self.frame_length
        # analysis frame t is centred on sample t * hop, shifted inwards where it would
        # cross an end of the utterance (reflection breaks periodicity at the edges)
        centres = frame_index * self.hop_length
        last_start = (input_lengths - n).clamp(min=0)[:, None]
        starts = (centres - n // 2).clamp(min=0).minimum(last_start)  # (B, T)
        windows = F.pad(x, (0, n)).unfold(1, n, 1)  # (B, T_wav + 1, N), a view
        batch_index = torch.arange(x.size(0), device=x.device)[:, None]
        frames = windows[batch_index, starts]  # (B, T, N)
        inside = starts[..., None] + torch.arange(n, device=x.device) < input_lengths[:, None, None]
        frames = frames * inside
        frames = frames - frames.mean(dim=-1, keepdim=True)
        valid = frame_index < frame_lengths[:, None]
        return frames, valid, frame_lengths

    def _cmnd(self, frames: torch.Tensor) -> torch.Tensor:
        """Cumulative-mean-normalised difference ``(B, T, tau_max + 2)`` of ``(B, T, N)`` frames
        (lags 0 .. tau_max + 1; ``d'(0) = 1``)."""
        n = frames.size(-1)
        n_lags = self.tau_max + 2  # lags 0 .. tau_max + 1 (one past for interpolation)
        window = n - n_lags + 1  # integration window so that j + tau stays in the frame
        fft_size = 1 << (n - 1).bit_length()
        spec_all = torch.fft.rfft(frames, fft_size)
        spec_head = torch.fft.rfft(frames[..., :window], fft_size)
        corr = torch.fft.irfft(spec_head.conj() * spec_all, fft_size)[..., :n_lags]
        energy = F.pad(torch.cumsum(frames.pow(2), dim=-1), (1, 0))
        lags = torch.arange(n_lags, device=frames.device)
        energy_lag = energy[..., lags + window] - energy[..., lags]  # sum_{j<W} x_{j+tau}^2
        diff = (energy_lag[..., :1] + energy_lag - 2.0 * corr).clamp(min=0.0)
        cum_mean = torch.cumsum(diff[..., 1:], dim=-1) / lags[1:]
        cmnd = torch.ones_like(diff)
        cmnd[..., 1:] = torch.where(
            cum_mean > 1e-12 * energy_lag[..., :1], diff[..., 1:] / cum_mean.clamp(min=1e-300), 1.0
        )
        return cmnd

    def _yin(self, cmnd: torch.Tensor) -> torch.Tensor:
        """YIN's period pick on a ``(B, T, lags)`` cumulative-mean-normalised difference -> F0 in
        Hz ``(B, T)``, 0 where unvoiced."""
        # troughs below the threshold in [tau_min, tau_max]; the first one is the period
        centre = cmnd[..., self.tau_min : self.tau_max + 1]
        before = cmnd[..., self.tau_min - 1 : self.tau_max]
        after = cmnd[..., self.tau_min + 1 : self.tau_max + 2]
        candidate = (centre < self.yin_threshold) & (centre < before) & (centre <= after)
        if self.yin_trough_margin is not None:
            deepest = centre.min(dim=-1, keepdim=True).values
            candidate &= centre <= deepest + self.yin_trough_margin
        voiced = candidate.any(dim=-1)
        first = candidate.to(torch.int8).argmax(dim=-1, keepdim=True)
        a = before.gather(-1, first).squeeze(-1)
        b = centre.gather(-1, first).squeeze(-1)
        c = after.gather(-1, first).squeeze(-1)
        curvature = a - 2.0 * b + c
        shift = torch.where(curvature > 1e-12, 0.5 * (a - c) / curvature.clamp(min=1e-12), 0.0)
        period = (first.squeeze(-1) + self.tau_min).to(cmnd.dtype) + shift.clamp(-1.0, 1.0)
        return torch.where(voiced, self.fs / period, torch.zeros_like(period))


def interpolate_unvoiced(f0: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Linearly interpolate F0 ``(B, T)`` over zeros within each row's first ``lengths``
    frames; leading/trailing gaps take the nearest voiced value; rows with no voiced
    frame and padded frames stay 0."""
    batch, t_frames = f0.shape
    frames = torch.arange(t_frames, device=f0.device).expand(batch, -1)
    valid = frames < lengths.to(f0.device)[:, None]
    voiced = (f0 > 0) & valid
    big = t_frames + 1
    prev_idx = torch.where(voiced, frames, -1).cummax(dim=1).values
    next_idx = torch.where(voiced, frames, big).flip(1).cummin(dim=1).values.flip(1)
    has_prev, has_next = prev_idx >= 0, next_idx < big
    prev_val = f0.gather(1, prev_idx.clamp(min=0))
    next_val = f0.gather(1, next_idx.clamp(max=t_frames - 1))
    span = (next_idx - prev_idx).clamp(min=1).to(f0.dtype)
    weight = (frames - prev_idx).to(f0.dtype) / span
    between = prev_val + (next_val - prev_val) * weight
    filled = torch.where(has_prev & has_next, between, torch.where(has_prev, prev_val, next_val * has_next))
    return torch.where(voiced, f0, filled) * valid
