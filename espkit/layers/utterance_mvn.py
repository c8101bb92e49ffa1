"""Per-utterance mean/variance normalisation over each utterance's own valid frames."""

from __future__ import annotations

import torch

from espkit.layers.abs_normalize import AbsNormalize, valid_frame_mask
from espkit.utils.typecheck import typechecked


class UtteranceMVN(AbsNormalize):
    """Normalise each utterance with the mean/std of its valid frames (padding excluded).

    Args:
        norm_means: subtract the utterance mean.
        norm_vars: divide by the utterance standard deviation.
        eps: floor of the variance.
    """

    @typechecked
    def __init__(self, norm_means: bool = True, norm_vars: bool = False, eps: float = 1.0e-20):
        super().__init__()
        self.norm_means = norm_means
        self.norm_vars = norm_vars
        self.eps = eps

    def extra_repr(self) -> str:
        return f"norm_means={self.norm_means}, norm_vars={self.norm_vars}"

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Normalise ``x`` ``(B, T, D...)`` or ``(B, T)``; statistics per row over ``t < lengths[b]``."""
        mask = valid_frame_mask(x, lengths).to(x.dtype)  # (B, T, 1...)
        count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1, 1...)
        mean = (x * mask).sum(dim=1, keepdim=True) / count
        if self.norm_means:
            x = x - mean
            centred = x
        else:
            centred = x - mean
        if self.norm_vars:
            var = (centred.pow(2) * mask).sum(dim=1, keepdim=True) / count
            x = x / var.clamp(min=self.eps).sqrt()
        return x * mask, lengths

    def inverse(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Not possible: the per-utterance statistics are not kept."""
        raise NotImplementedError(
            "UtteranceMVN cannot be inverted (per-utterance statistics are discarded); "
            "use --normalize global_mvn when features must be denormalised"
        )
