"""Per-iteration learning-rate schedules with warm-up (stepped after every optimizer step)."""

from __future__ import annotations

from typing import Union

import torch
from torch.optim.lr_scheduler import LRScheduler

from espkit.utils.typecheck import typechecked


class WarmupLR(LRScheduler):
    """Linear warm-up to the optimizer's lr, then inverse square-root decay.

    ``lr(step) = base_lr * warmup_steps**0.5 * min(step**-0.5, step * warmup_steps**-1.5)``
    so the peak, reached at ``step == warmup_steps``, is exactly ``base_lr``.
    """

    @typechecked
    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: Union[int, float] = 25000, last_epoch: int = -1):
        if warmup_steps <= 0:
            raise ValueError(f"warmup_steps must be positive, got {warmup_steps}")
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        step = self.last_epoch + 1
        scale = self.warmup_steps**0.5 * min(step**-0.5, step * self.warmup_steps**-1.5)
        return [base_lr * scale for base_lr in self.base_lrs]


class NoamLR(LRScheduler):
    """The Transformer ("Noam") schedule: ``model_size**-0.5 * min(step**-0.5, step * warmup**-1.5)``.

    The optimizer's lr is a multiplier on that curve (1.0 reproduces the paper's schedule).
    """

    @typechecked
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model_size: Union[int, float] = 320,
        warmup_steps: Union[int, float] = 25000,
        last_epoch: int = -1,
    ):
        if warmup_steps <= 0 or model_size <= 0:
            raise ValueError("model_size and warmup_steps must be positive")
        self.model_size = model_size
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        step = self.last_epoch + 1
        scale = self.model_size**-0.5 * min(step**-0.5, step * self.warmup_steps**-1.5)
        return [base_lr * scale for base_lr in self.base_lrs]
