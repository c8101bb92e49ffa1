"""Interface of feature normalisers (``--normalize global_mvn`` etc.)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class AbsNormalize(nn.Module, ABC):
    """Normalise padded feature batches ``(B, T, D)``; frames past ``lengths`` become 0."""

    @abstractmethod
    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Normalise ``x`` ``(B, T, D)``; returns ``(normalized (B, T, D), lengths)``."""
        raise NotImplementedError

    @abstractmethod
    def inverse(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Undo :meth:`forward` on ``x`` ``(B, T, D)``; returns ``(denormalized, lengths)``."""
        raise NotImplementedError


def valid_frame_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Boolean ``(B, T, 1, ...)`` (as many trailing 1s as ``x`` has dims after ``T``; ``(B, T)`` for
    a 2-d ``x``): True where frame ``t < lengths[b]`` (all True when None)."""
    trailing = (1,) * (x.dim() - 2)
    if lengths is None:
        return torch.ones(x.size(0), x.size(1), *trailing, dtype=torch.bool, device=x.device)
    frames = torch.arange(x.size(1), device=x.device)
    return (frames[None, :] < lengths.to(x.device)[:, None]).reshape(x.size(0), x.size(1), *trailing)
