"""2-D batch normalisation whose training statistics skip padded time steps."""

from __future__ import annotations

import torch
from torch import nn


class MaskedBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` over ``(B, C, T, F)`` that, in training, counts only real time steps.

    In eval mode (running statistics) it is exactly ``BatchNorm2d``. In training mode the
    batch mean/variance, and so the running statistics, are taken over the positions where
    ``mask`` ``(B, 1, T, 1)`` is True, so the amount of padding in a batch does not bias them.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalise ``x`` ``(B, C, T, F)``; ``mask`` ``(B, 1, T, 1)`` marks real time steps."""
        if mask is None or not self.training or not self.track_running_stats:
            return super().forward(x)
        weight = mask.to(x.dtype).expand(x.size(0), 1, x.size(2), x.size(3))
        count = weight.sum()
        if count < 2:
            return super().forward(x)
        mean = (x * weight).sum(dim=(0, 2, 3)) / count
        centered = x - mean[None, :, None, None]
        var = ((centered * weight) ** 2).sum(dim=(0, 2, 3)) / count
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            unbiased = var * (count / (count - 1))
            self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
            self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), momentum)
        out = centered / (var[None, :, None, None] + self.eps).sqrt()
        if self.affine:
            out = out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return out
