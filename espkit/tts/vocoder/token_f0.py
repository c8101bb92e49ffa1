"""A duration model's predicted pitch as the F0 of a vocoder driven by F0 (the NSF generator).

FastSpeech2 predicts one F0 per token (the token average of the voiced frames' F0, 0 for an unvoiced
token) and the durations that place each token on the frames; the NSF vocoder wants one F0 per frame.
Repeating the token values would give a staircase contour; instead the vocoder's own F0 predictor,
which reads the generated features, supplies the voicing and the contour within each token, and the
token's predicted F0 supplies its level: within token ``k`` every voiced frame is scaled by
``token_f0[k] / geometric_mean(predicted voiced F0 in k)``. So the frames of each voiced token average
(geometrically) to what FastSpeech2 predicted, and a pitch control (``pitch_shift_cents``,
``pitch_scale``) reaches the waveform exactly, whether or not the predictor reads it from the features.
Frames the predictor leaves unvoiced stay unvoiced; a token FastSpeech2 calls unvoiced, or one whose
frames are all unvoiced to the predictor, keeps the predictor's values.
"""

from __future__ import annotations

import torch


def frame_f0_from_token_pitch(
    predicted_f0: torch.Tensor, token_f0: torch.Tensor, durations: torch.Tensor
) -> torch.Tensor:
    """Frame F0 ``(T_feats,)`` in Hz from the vocoder's prediction and a duration model's token pitch.

    Args:
        predicted_f0: ``(T_feats,)`` the vocoder's F0 prediction in Hz, 0 where unvoiced.
        token_f0: ``(T_text + 1,)`` the duration model's F0 per token in Hz, 0 for unvoiced tokens.
        durations: ``(T_text + 1,)`` frames per token; they sum to ``T_feats`` or, with a reduction
            factor ``r``, to ``T_feats / r`` (each token then spans ``r`` times its duration).

    Returns:
        ``(T_feats,)`` F0 in Hz, 0 where unvoiced.

    Raises:
        ValueError: the shapes disagree, or the durations do not tile the frames.
    """
    if predicted_f0.dim() != 1 or token_f0.dim() != 1 or durations.dim() != 1:
        raise ValueError("predicted_f0, token_f0 and durations must be 1-D")
    if token_f0.numel() != durations.numel():
        raise ValueError(f"token_f0 has {token_f0.numel()} tokens, durations {durations.numel()}")
    if bool((durations < 0).any()):
        raise ValueError("durations must be >= 0")
    num_frames, total = predicted_f0.numel(), int(durations.sum())
    if total <= 0 or num_frames % total != 0:
        raise ValueError(f"durations sum to {total}, which does not tile {num_frames} frames")
    frames_per_step = num_frames // total
    token_of_frame = torch.repeat_interleave(
        torch.arange(durations.numel(), device=durations.device), durations.long() * frames_per_step
    )
    voiced = predicted_f0 > 0
    log_f0 = torch.log(predicted_f0.clamp(min=1e-5)).double()
    num_tokens = token_f0.numel()
    sums = torch.zeros(num_tokens, dtype=torch.float64, device=predicted_f0.device)
    counts = torch.zeros(num_tokens, dtype=torch.float64, device=predicted_f0.device)
    sums.index_add_(0, token_of_frame, torch.where(voiced, log_f0, torch.zeros_like(log_f0)))
    counts.index_add_(0, token_of_frame, voiced.double())
    target = token_f0.double()
    apply = (counts > 0) & (target > 0)
    # log shift per token: log(target) - mean predicted log F0 over its voiced frames
    shift = torch.where(apply, torch.log(target.clamp(min=1e-5)) - sums / counts.clamp(min=1.0), torch.zeros_like(sums))
    out = torch.where(voiced, torch.exp(log_f0 + shift[token_of_frame]), torch.zeros_like(log_f0))
    return out.to(predicted_f0.dtype)
