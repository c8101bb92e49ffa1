"""``TrainerOptions``: the trainer's settings, validated once (names and defaults of the CLI options).

A bad value raises ``ConfigError`` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from espkit.utils.config_argparse import ConfigError


def _default_criteria() -> List[List[str]]:
    return [["train", "loss", "min"], ["valid", "loss", "min"]]


@dataclass
class TrainerOptions:
    """The trainer's options (the ``trainer``/``common`` argument groups, same names and defaults)."""

    output_dir: str = "exp"
    ngpu: int = 0
    seed: int = 0
    max_epoch: int = 40
    patience: Optional[int] = None
    val_scheduler_criterion: Sequence[str] = ("valid", "loss")
    early_stopping_criterion: Sequence[str] = ("valid", "loss", "min")
    best_model_criterion: Sequence[Sequence[str]] = field(default_factory=_default_criteria)
    keep_nbest_models: Sequence[int] = (10,)
    nbest_averaging_interval: int = 0
    grad_clip: float = -1.0
    grad_clip_type: float = 2.0
    accum_grad: int = 1
    no_forward_run: bool = False
    resume: bool = False
    train_dtype: str = "float32"
    use_amp: bool = False
    log_interval: Optional[int] = None
    use_tensorboard: bool = False
    save_every_n_iters: Optional[int] = None
    num_att_plot: int = 3

    def __post_init__(self) -> None:
        if self.max_epoch < 1:
            raise ConfigError(f"--max_epoch must be >= 1, got {self.max_epoch}")
        if self.accum_grad < 1:
            raise ConfigError(f"--accum_grad must be >= 1, got {self.accum_grad}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"--patience must be >= 1 or none, got {self.patience}")
        if self.save_every_n_iters is not None and self.save_every_n_iters < 1:
            raise ConfigError(f"--save_every_n_iters must be >= 1 or none, got {self.save_every_n_iters}")
        if self.log_interval is not None and self.log_interval < 1:
            raise ConfigError(f"--log_interval must be >= 1 or none, got {self.log_interval}")
        if len(self.keep_nbest_models) == 0:
            raise ConfigError("--keep_nbest_models needs at least one number, e.g. 10")
        if self.train_dtype not in ("float16", "float32", "float64", "bfloat16"):
            raise ConfigError(f"--train_dtype must be float16, float32, float64 or bfloat16, got {self.train_dtype!r}")
        if len(self.val_scheduler_criterion) != 2:
            raise ConfigError(f"--val_scheduler_criterion needs <train|valid> <stat>, got {self.val_scheduler_criterion}")
        criteria = [list(self.early_stopping_criterion)] + [list(c) for c in self.best_model_criterion]
        for criterion in criteria:
            if len(criterion) != 3 or criterion[0] not in ("train", "valid") or criterion[2] not in ("min", "max"):
                raise ConfigError(f"a criterion must be '<train|valid> <stat> <min|max>', got {criterion}")
        self.best_model_criterion = [list(c) for c in self.best_model_criterion]
        self.keep_nbest_models = [int(n) for n in self.keep_nbest_models]
