"""Aligning frame-level prosody features to feature frames or to token durations."""

from __future__ import annotations

import torch


def adjust_num_frames(
    values: torch.Tensor, lengths: torch.Tensor, target_lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trim or zero-pad each row of ``values`` ``(B, T, ...)`` to ``target_lengths``.

    Returns ``(values (B, max(target_lengths), ...), target_lengths)``; row ``b`` keeps its
    first ``min(lengths[b], target_lengths[b])`` frames and is 0 after them.
    """
    target_lengths = target_lengths.to(device=values.device, dtype=torch.long)
    t_out = int(target_lengths.max()) if target_lengths.numel() else 0
    if values.size(1) < t_out:
        pad = values.new_zeros(values.size(0), t_out - values.size(1), *values.shape[2:])
        values = torch.cat([values, pad], dim=1)
    values = values[:, :t_out]
    keep = torch.minimum(lengths.to(values.device), target_lengths)
    frames = torch.arange(t_out, device=values.device)
    mask = frames[None, :] < keep[:, None]
    mask = mask.reshape(*mask.shape, *([1] * (values.dim() - 2)))
    return values * mask.to(values.dtype), target_lengths


def average_by_duration(
    values: torch.Tensor,
    durations: torch.Tensor,
    durations_lengths: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean of frame values over each token's frames.

    Args:
        values: ``(B, T_feats)`` frame values.
        durations: ``(B, T_text)`` frames per token; token ``n`` of row ``b`` covers frames
            ``sum(durations[b, :n])`` to ``sum(durations[b, :n + 1])``.
        durations_lengths: ``(B,)`` tokens per row; tokens past it are 0.
        weights: ``(B, T_feats)`` 0/1 mask of frames that count (e.g. voiced frames);
            ``None`` = all frames. A token without counted frames gets 0.

    Returns:
        ``(B, T_text)`` token averages.
    """
    batch, t_feats = values.shape
    durations = durations.to(device=values.device, dtype=torch.long).clamp(min=0)
    if weights is None:
        weights = torch.ones_like(values)
    weights = weights.to(values.dtype)
    zero = values.new_zeros(batch, 1)
    cum_values = torch.cat([zero, torch.cumsum(values * weights, dim=1)], dim=1)
    cum_weights = torch.cat([zero, torch.cumsum(weights, dim=1)], dim=1)
    ends = torch.cumsum(durations, dim=1).clamp(max=t_feats)
    starts = torch.cat([durations.new_zeros(batch, 1), ends[:, :-1]], dim=1)
    sums = cum_values.gather(1, ends) - cum_values.gather(1, starts)
    counts = cum_weights.gather(1, ends) - cum_weights.gather(1, starts)
    averages = torch.where(counts > 0, sums / counts.clamp(min=1e-8), torch.zeros_like(sums))
    if durations_lengths is not None:
        tokens = torch.arange(durations.size(1), device=values.device)
        averages = averages * (tokens[None, :] < durations_lengths.to(values.device)[:, None])
    return averages
