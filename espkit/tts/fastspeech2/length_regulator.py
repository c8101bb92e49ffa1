"""Length regulator: token states repeated by their durations into frame states."""

from __future__ import annotations

import logging

import torch
from torch import nn

from espkit.nets.masks import make_non_pad_mask

logger = logging.getLogger(__name__)


def scale_durations(durations: torch.Tensor, alpha: float) -> torch.Tensor:
    """``round(durations * alpha)`` as long (``alpha > 1``: longer, slower speech)."""
    if not alpha > 0.0:
        raise ValueError(f"alpha (speed control) must be > 0, got {alpha}")
    if alpha == 1.0:
        return durations.long()
    return torch.round(durations.float() * alpha).long()


class LengthRegulator(nn.Module):
    """Expand ``(B, T_text, D)`` token states to ``(B, T_feats, D)`` frame states.

    Token ``n`` of utterance ``b`` fills ``durations[b, n]`` consecutive frames; a token with
    duration 0 is dropped. An utterance whose durations are all zero (a badly trained
    predictor) gets 1 frame per real token, with a warning, as in ESPnet. Frames past an
    utterance's length are ``pad_value``.

    Args:
        pad_value: value of the padded frames.
    """

    def __init__(self, pad_value: float = 0.0):
        super().__init__()
        self.pad_value = pad_value

    @torch.jit.unused
    def forward(
        self,
        xs: torch.Tensor,
        durations: torch.Tensor,
        text_lengths: torch.Tensor | None = None,
        alpha: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Expand a padded batch.

        Args:
            xs: ``(B, T_text, D)``.
            durations: ``(B, T_text)`` integer frames per token (0 at padded tokens).
            text_lengths: ``(B,)``: tokens past them are treated as duration 0 (None: all real).
            alpha: durations become ``round(durations * alpha)`` first.

        Returns:
            ``(B, T_feats, D)`` with ``T_feats`` the longest total, and the totals ``(B,)``.
        """
        if durations.shape != xs.shape[:2]:
            raise ValueError(f"durations {tuple(durations.shape)} do not match the token states {tuple(xs.shape)}")
        if bool((durations < 0).any()):
            raise ValueError(f"durations must be >= 0, got {durations.tolist()}")
        durations = scale_durations(durations, alpha)
        real = None
        if text_lengths is not None:
            real = make_non_pad_mask(text_lengths.to(xs.device), xs.size(1))
            durations = durations * real
        return self.expand(xs, self.fix_empty(durations, real))

    @torch.jit.unused
    def fix_empty(self, durations: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`fill_empty` with a warning when it changes something."""
        empty = durations.sum(dim=1) == 0
        if not bool(empty.any()):
            return durations
        logger.warning("durations of %d utterance(s) are all zero: using 1 frame per token", int(empty.sum()))
        return self.fill_empty(durations, real)

    def fill_empty(self, durations: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """``durations`` ``(B, T_text)`` with all-zero rows set to 1 at real tokens (``real``
        ``(B, T_text)`` True at real tokens; None: all). Scriptable."""
        empty = (durations.sum(dim=1) == 0).unsqueeze(1)
        fill = empty if real is None else empty & real
        return torch.where(fill, torch.ones_like(durations), durations)

    def expand(self, xs: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` without checks or fixes (``durations`` ``(B, T_text)`` long, >= 0).

        Scriptable (:meth:`forward` is not: an export calls this and :meth:`fill_empty`).
        """
        feats_lengths = durations.sum(dim=1)
        max_frames = int(feats_lengths.max()) if feats_lengths.numel() > 0 else 0
        ends = durations.cumsum(dim=1)  # (B, T_text): first frame after each token
        frames = torch.arange(max_frames, device=xs.device).unsqueeze(0).expand(xs.size(0), -1).contiguous()
        # The token of frame t is the first one whose end is past t (zero-duration tokens never are).
        token = torch.searchsorted(ends, frames, right=True).clamp(max=xs.size(1) - 1)
        out = torch.gather(xs, 1, token.unsqueeze(-1).expand(-1, -1, xs.size(2)))
        real = frames < feats_lengths.unsqueeze(1)
        out = out.masked_fill(~real.unsqueeze(-1), self.pad_value)
        return out, feats_lengths
