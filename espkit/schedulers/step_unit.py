"""When a scheduler steps: after every optimizer step, after every epoch, or on a validation value."""

from __future__ import annotations

import torch

from espkit.schedulers.warmup_lr import NoamLR, WarmupLR

#: Schedulers stepped after every optimizer update (``scheduler.step()``).
BATCH_STEP_SCHEDULERS = (
    WarmupLR,
    NoamLR,
    torch.optim.lr_scheduler.OneCycleLR,
    torch.optim.lr_scheduler.CyclicLR,
    torch.optim.lr_scheduler.CosineAnnealingWarmRestarts,
)


def scheduler_step_unit(scheduler: object) -> str:
    """``"batch"``, ``"valid_epoch"`` (ReduceLROnPlateau: ``step(metric)``) or ``"epoch"``."""
    if isinstance(scheduler, BATCH_STEP_SCHEDULERS):
        return "batch"
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        return "valid_epoch"
    return "epoch"
