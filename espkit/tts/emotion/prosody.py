"""Utterance prosody statistics as an emotion embedding (``--emo_extract prosody``).

The statistics are computed by one function, :func:`batch_prosody_statistics`, used both
by :class:`ProsodyEmoExtract` during training and by :func:`prosody_from_frames` (a batch
of one, in float64) during evaluation, so the two always agree.

Components, in this order (``prosody_component_names()`` returns them):

0. ``logf0_mean``: mean of log-F0 over voiced real frames (0 if none is voiced).
1. ``logf0_std``: std (ddof=0) of log-F0 over voiced real frames.
2. ``log_energy_mean``: mean of log energy over real frames.
3. ``log_energy_std``: std (ddof=0) of log energy over real frames.
4. ``delta_log_energy_std``: std (ddof=0) of frame-to-frame log-energy differences.
5. ``voiced_ratio``: voiced real frames / real frames.
6. ``duration_s``: real frames * hop_length / fs.
7. ``tokens_per_s``: text_lengths / duration_s (0 when no token lengths are given).
8. ``logf0_range`` (only with ``use_f0_range=True``): 95th minus 5th percentile of voiced
   log-F0 (numpy's default linear interpolation; 0 if none is voiced).

Pitch conventions: raw F0 in Hz with 0 (or any value <= 0) for unvoiced frames, or, with
``pitch_is_log=True``, log-F0 with exactly 0 for unvoiced frames. With a continuous
(interpolated) F0 track every frame counts as voiced. Energy is linear frame energy
(>= 0; the log is taken here with a floor of :data:`ENERGY_FLOOR`), or log energy with
``energy_is_log=True``.

Give ``text_lengths`` consistently: a classifier trained with ``tokens_per_s`` filled in
sees 0 there if inference leaves the token lengths out.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

ENERGY_FLOOR = 1.0e-5
"""Linear energy is clamped to this before the log."""

BASE_COMPONENTS = (
    "logf0_mean",
    "logf0_std",
    "log_energy_mean",
    "log_energy_std",
    "delta_log_energy_std",
    "voiced_ratio",
    "duration_s",
    "tokens_per_s",
)
F0_RANGE_COMPONENT = "logf0_range"
F0_RANGE_PERCENTILES = (5.0, 95.0)


def prosody_component_names(use_f0_range: bool = True) -> list[str]:
    """Names of the statistics vector's components, in order."""
    return list(BASE_COMPONENTS) + ([F0_RANGE_COMPONENT] if use_f0_range else [])


def _masked_mean_std(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std (ddof=0) of ``values`` ``(B, T)`` over ``mask`` ``(B, T)``; 0 where empty."""
    mask = mask.to(values.dtype)
    count = mask.sum(dim=1).clamp(min=1.0)
    mean = (values * mask).sum(dim=1) / count
    var = (((values - mean[:, None]) * mask) ** 2).sum(dim=1) / count
    return mean, var.clamp(min=0.0).sqrt()


def _masked_percentile(values: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """``q``-th percentile (numpy's linear interpolation) of ``values`` ``(B, T)`` over ``mask``.

    Rows with an empty mask give 0.
    """
    count = mask.sum(dim=1)
    ordered = torch.sort(values.masked_fill(~mask, float("inf")), dim=1).values
    ordered = ordered.masked_fill(torch.isinf(ordered), 0.0)
    last = (count - 1).clamp(min=0)
    position = last.to(values.dtype) * (q / 100.0)
    lower = position.floor().long()
    upper = torch.minimum(lower + 1, last)
    frac = position - lower.to(values.dtype)
    low_value = ordered.gather(1, lower[:, None]).squeeze(1)
    high_value = ordered.gather(1, upper[:, None]).squeeze(1)
    return low_value + (high_value - low_value) * frac


def batch_prosody_statistics(
    pitch: torch.Tensor,
    energy: torch.Tensor,
    lengths: torch.Tensor,
    text_lengths: torch.Tensor | None = None,
    fs: int = 22050,
    hop_length: int = 256,
    use_f0_range: bool = True,
    pitch_is_log: bool = False,
    energy_is_log: bool = False,
) -> torch.Tensor:
    """Prosody statistics of each utterance of a padded batch (see the module docstring).

    Args:
        pitch: frame pitch ``(B, T)`` or ``(B, T, 1)``.
        energy: frame energy ``(B, T)`` or ``(B, T, 1)``.
        lengths: real frames per utterance ``(B,)``.
        text_lengths: tokens per utterance ``(B,)``, or None.
        fs: sampling rate in Hz.
        hop_length: frame shift in samples.
        use_f0_range: append ``logf0_range``.
        pitch_is_log: ``pitch`` holds log-F0 (0 = unvoiced) instead of F0 in Hz.
        energy_is_log: ``energy`` holds log energy instead of linear energy.

    Returns:
        statistics ``(B, len(prosody_component_names(use_f0_range)))`` in ``pitch``'s dtype.
    """
    if pitch.dim() == 3:
        pitch = pitch.squeeze(-1)
    if energy.dim() == 3:
        energy = energy.squeeze(-1)
    if pitch.dim() != 2 or pitch.shape != energy.shape:
        raise ValueError(
            f"pitch and energy must both be (B, T) or (B, T, 1), got {tuple(pitch.shape)} and {tuple(energy.shape)}"
        )
    if lengths.dim() != 1 or lengths.size(0) != pitch.size(0):
        raise ValueError(f"lengths must be (B,) with B={pitch.size(0)}, got {tuple(lengths.shape)}")
    dtype = pitch.dtype if pitch.is_floating_point() else torch.float32
    pitch = pitch.to(dtype)
    energy = energy.to(dtype)
    lengths = lengths.to(pitch.device)
    num_frames = pitch.size(1)
    if int(lengths.max()) > num_frames:
        raise ValueError(f"lengths (max {int(lengths.max())}) exceed the {num_frames} frames of pitch/energy")
    frames = torch.arange(num_frames, device=pitch.device)
    real = frames[None, :] < lengths[:, None]

    if pitch_is_log:
        voiced = real & (pitch != 0)
        log_f0 = pitch
    else:
        voiced = real & (pitch > 0)
        log_f0 = torch.log(pitch.clamp(min=1.0e-8))
    log_f0 = log_f0.masked_fill(~voiced, 0.0)

    if energy_is_log:
        log_energy = energy
    else:
        if bool((energy.masked_fill(~real, 0.0) < 0).any()):
            raise ValueError(
                "energy has negative values on real frames; linear frame energy must be >= 0 "
                "(set energy_is_log: true if it is log energy)"
            )
        log_energy = torch.log(energy.clamp(min=ENERGY_FLOOR))
    log_energy = log_energy.masked_fill(~real, 0.0)

    logf0_mean, logf0_std = _masked_mean_std(log_f0, voiced)
    energy_mean, energy_std = _masked_mean_std(log_energy, real)
    delta = log_energy[:, 1:] - log_energy[:, :-1]
    _, delta_std = _masked_mean_std(delta, real[:, 1:])

    real_count = real.sum(dim=1).to(dtype)
    voiced_ratio = voiced.sum(dim=1).to(dtype) / real_count.clamp(min=1.0)
    duration_s = real_count * (hop_length / fs)
    if text_lengths is None:
        tokens_per_s = torch.zeros_like(duration_s)
    else:
        text_lengths = text_lengths.to(device=pitch.device, dtype=dtype)
        tokens_per_s = text_lengths / duration_s.clamp(min=hop_length / fs)

    components = [
        logf0_mean,
        logf0_std,
        energy_mean,
        energy_std,
        delta_std,
        voiced_ratio,
        duration_s,
        tokens_per_s,
    ]
    if use_f0_range:
        low_q, high_q = F0_RANGE_PERCENTILES
        components.append(_masked_percentile(log_f0, voiced, high_q) - _masked_percentile(log_f0, voiced, low_q))
    return torch.stack(components, dim=1)


def prosody_from_frames(
    pitch: np.ndarray,
    energy: np.ndarray,
    num_tokens: int | None,
    fs: int,
    hop_length: int,
    use_f0_range: bool = True,
    pitch_is_log: bool = False,
    energy_is_log: bool = False,
) -> np.ndarray:
    """Prosody statistics of one utterance from its frame tracks (float64, same maths as training).

    Args:
        pitch: frame pitch ``(T,)`` (F0 in Hz, 0 = unvoiced; or log-F0 with ``pitch_is_log``).
        energy: frame energy ``(T,)`` (linear; or log with ``energy_is_log``).
        num_tokens: number of input tokens, or None (``tokens_per_s`` is then 0).
        fs: sampling rate in Hz.
        hop_length: frame shift in samples.

    Returns:
        statistics ``(len(prosody_component_names(use_f0_range)),)``.
    """
    pitch = np.asarray(pitch, dtype=np.float64).reshape(-1)
    energy = np.asarray(energy, dtype=np.float64).reshape(-1)
    if pitch.shape != energy.shape:
        raise ValueError(f"pitch {pitch.shape} and energy {energy.shape} differ in length")
    text_lengths = None if num_tokens is None else torch.tensor([num_tokens], dtype=torch.float64)
    stats = batch_prosody_statistics(
        torch.from_numpy(pitch)[None],
        torch.from_numpy(energy)[None],
        torch.tensor([pitch.shape[0]]),
        text_lengths,
        fs=fs,
        hop_length=hop_length,
        use_f0_range=use_f0_range,
        pitch_is_log=pitch_is_log,
        energy_is_log=energy_is_log,
    )
    return stats[0].numpy()


class ProsodyEmoExtract(AbsEmoExtract):
    """Prosody statistics of the utterance, optionally standardised with running statistics.

    With ``normalize=True`` the statistics are standardised with buffers ``running_mean``
    and ``running_var`` (population statistics of every utterance seen in training mode,
    merged batch by batch like ``BatchNorm1d(affine=False, momentum=None)``, but always
    applied, so an item's output never depends on the other items of its batch in eval
    mode). The buffers update only in training mode and are saved in the checkpoint.

    Args:
        fs: sampling rate in Hz.
        hop_length: frame shift in samples.
        use_f0_range: append the 5th-95th percentile log-F0 range.
        pitch_is_log: pitch is log-F0 (0 = unvoiced) instead of F0 in Hz.
        normalize: standardise with running statistics.
        energy_is_log: energy is log energy instead of linear energy.
        eps: variance floor of the standardisation.
    """

    @typechecked
    def __init__(
        self,
        fs: int = 22050,
        hop_length: int = 256,
        use_f0_range: bool = True,
        pitch_is_log: bool = False,
        normalize: bool = True,
        energy_is_log: bool = False,
        eps: float = 1.0e-5,
    ):
        super().__init__()
        if fs <= 0 or hop_length <= 0:
            raise ValueError(f"fs and hop_length must be positive, got fs={fs}, hop_length={hop_length}")
        self.fs = fs
        self.hop_length = hop_length
        self.use_f0_range = use_f0_range
        self.pitch_is_log = pitch_is_log
        self.energy_is_log = energy_is_log
        self.normalize = normalize
        self.eps = eps
        size = len(prosody_component_names(use_f0_range))
        self.register_buffer("running_mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("running_var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("num_items_tracked", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return (
            f"fs={self.fs}, hop_length={self.hop_length}, use_f0_range={self.use_f0_range}, "
            f"pitch_is_log={self.pitch_is_log}, energy_is_log={self.energy_is_log}, "
            f"normalize={self.normalize}"
        )

    def output_size(self) -> int:
        return len(prosody_component_names(self.use_f0_range))

    def needs_pitch_energy(self) -> bool:
        return True

    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        pitch: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
        text_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Prosody statistics ``(B, output_size())`` of ``feats`` ``(B, T_feats, D)``.

        ``pitch`` and ``energy`` ``(B, T_feats, 1)`` are required; ``text_lengths`` ``(B,)``
        fills ``tokens_per_s``. The output has ``feats``' dtype and carries no gradient.
        """
        if pitch is None or energy is None:
            raise ValueError(
                "ProsodyEmoExtract needs frame pitch and energy: the model must compute them "
                "when emo_extract.needs_pitch_energy() is True"
            )
        if pitch.size(0) != feats.size(0):
            raise ValueError(f"pitch has batch size {pitch.size(0)} but feats has {feats.size(0)}")
        with torch.no_grad():
            stats = batch_prosody_statistics(
                pitch.detach().float(),
                energy.detach().float(),
                feats_lengths,
                text_lengths,
                fs=self.fs,
                hop_length=self.hop_length,
                use_f0_range=self.use_f0_range,
                pitch_is_log=self.pitch_is_log,
                energy_is_log=self.energy_is_log,
            )
            if self.normalize:
                if self.training:
                    self._update_running_stats(stats)
                mean = self.running_mean.to(stats.dtype)
                std = (self.running_var.to(stats.dtype) + self.eps).sqrt()
                stats = (stats - mean) / std
        return stats.to(feats.dtype)

    def _update_running_stats(self, stats: torch.Tensor) -> None:
        """Merge the population statistics of ``stats`` ``(B, K)`` into the buffers."""
        stats = stats.to(torch.float64)
        batch_count = stats.size(0)
        if batch_count == 0:
            return
        batch_mean = stats.mean(dim=0)
        batch_var = stats.var(dim=0, unbiased=False)
        seen = int(self.num_items_tracked)
        total = seen + batch_count
        delta = batch_mean - self.running_mean
        new_mean = self.running_mean + delta * (batch_count / total)
        if seen == 0:
            new_var = batch_var
        else:
            sum_sq = self.running_var * seen + batch_var * batch_count
            new_var = (sum_sq + delta**2 * (seen * batch_count / total)) / total
        self.running_mean.copy_(new_mean)
        self.running_var.copy_(new_var)
        self.num_items_tracked.fill_(total)
