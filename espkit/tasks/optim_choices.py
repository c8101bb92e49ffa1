"""Optimizer and scheduler registries shared by every task (``--optim``, ``--scheduler``)."""

from __future__ import annotations

import torch

from espkit.schedulers.warmup_lr import NoamLR, WarmupLR
from espkit.train.class_choices import ClassChoices

optim_choices = ClassChoices(
    "optim",
    {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "sgd": torch.optim.SGD,
        "adadelta": torch.optim.Adadelta,
        "adagrad": torch.optim.Adagrad,
        "adamax": torch.optim.Adamax,
        "asgd": torch.optim.ASGD,
        "lbfgs": torch.optim.LBFGS,
        "nadam": torch.optim.NAdam,
        "radam": torch.optim.RAdam,
        "rmsprop": torch.optim.RMSprop,
        "rprop": torch.optim.Rprop,
    },
    type_check=torch.optim.Optimizer,
    default="adam",
)

scheduler_choices = ClassChoices(
    "scheduler",
    {
        "steplr": torch.optim.lr_scheduler.StepLR,
        "multisteplr": torch.optim.lr_scheduler.MultiStepLR,
        "exponentiallr": torch.optim.lr_scheduler.ExponentialLR,
        "cosineannealinglr": torch.optim.lr_scheduler.CosineAnnealingLR,
        "reducelronplateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
        "onecyclelr": torch.optim.lr_scheduler.OneCycleLR,
        "cycliclr": torch.optim.lr_scheduler.CyclicLR,
        "cosineannealingwarmrestarts": torch.optim.lr_scheduler.CosineAnnealingWarmRestarts,
        "warmuplr": WarmupLR,
        "noamlr": NoamLR,
    },
    default=None,
    optional=True,
)
