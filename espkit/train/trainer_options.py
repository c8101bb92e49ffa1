"""``TrainerOptions``: the trainer's settings, defined once for the trainer and the command line.

Each field carries its command-line form in its metadata: ``help`` and the keywords of
``add_argument`` (``type``, ``nargs``, ``choices``, ``action``). :func:`add_arguments` builds the
``--<name>`` options of a task parser from the fields, :meth:`TrainerOptions.from_args` builds the
options back from the parsed arguments, and ``__post_init__`` checks them. So a default changed
here is the default of ``--help``, of ``--print_config`` / ``config.yaml`` and of the trainer.

:class:`GANTrainerOptions` adds the generator/discriminator alternation knobs of
:class:`~espkit.train.gan_trainer.GANTrainer`; only a task that trains with it lists them
(``espkit.tasks.argument_groups.add_gan_trainer_arguments``, the ``GAN trainer`` group).

A bad value raises ``ConfigError`` naming the option.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from espkit.utils.errors import ConfigError
from espkit.utils.types import int_or_none, str2bool, str_or_none

PHASES = ("train", "valid")
MODES = ("min", "max")
CRITERION_FORM = "'<train|valid> <stat> <min|max>'"

#: Options other parts of a run read too; the task parser lists them in its ``common`` group.
COMMON_OPTIONS = ("output_dir", "ngpu", "seed")


def is_criterion(parts: Sequence[str]) -> bool:
    """``parts`` is ``[<train|valid>, <stat>, <min|max>]``."""
    return len(parts) == 3 and parts[0] in PHASES and parts[2] in MODES


def str2criterion(value: Any) -> List[str]:
    """``"valid loss min"`` / ``"valid,loss,min"`` / ``[valid, loss, min]`` -> a 3-item list."""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    parts = value.replace(",", " ").split()
    if not is_criterion(parts):
        raise argparse.ArgumentTypeError(f"expected {CRITERION_FORM} (e.g. 'valid loss min'), got {value!r}")
    return parts


str2criterion.accepts_sequence = True  # config files write it as a YAML list


def _option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    factory: Optional[Callable[[], Any]] = None,
    **argparse_kwargs: Any,
) -> Any:
    """A field that is also the option ``--<name>``: ``help`` and ``add_argument`` keywords as metadata."""
    metadata = {"help": help, **argparse_kwargs}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainerOptions:
    """The trainer's options: the ``trainer`` argument group and ``COMMON_OPTIONS``, in parser order."""

    output_dir: Optional[str] = _option(None, type=str_or_none, help="Directory of the training run")
    ngpu: int = _option(0, type=int, help="Number of GPUs (0: CPU)")
    seed: int = _option(0, type=int, help="Random seed")
    max_epoch: int = _option(40, type=int, help="Number of epochs")
    patience: Optional[int] = _option(
        None,
        type=int_or_none,
        help="Early-stopping patience: stop once the best epoch is more than N epochs back (ESPnet2)",
    )
    val_scheduler_criterion: List[str] = _option(
        factory=lambda: ["valid", "loss"],
        type=str,
        nargs=2,
        help="Value for ReduceLROnPlateau-like schedulers: <train|valid> <stat>",
    )
    early_stopping_criterion: List[str] = _option(
        factory=lambda: ["valid", "loss", "min"],
        type=str,
        nargs=3,
        help="<train|valid> <stat> <min|max> watched by --patience",
    )
    best_model_criterion: List[List[str]] = _option(
        factory=lambda: [["valid", "loss", "min"], ["train", "loss", "min"]],
        type=str2criterion,
        action="append",
        help="Criteria for keeping the best models, e.g. 'valid loss min' (repeatable)",
    )
    keep_nbest_models: List[int] = _option(
        factory=lambda: [10], type=int, nargs="+", help="How many best models to keep/average"
    )
    nbest_averaging_interval: int = _option(0, type=int, help="Average the n-best every N epochs (0: at the end only)")
    grad_clip: float = _option(-1.0, type=float, help="Gradient norm threshold (<= 0: no clipping)")
    grad_clip_type: float = _option(2.0, type=float, help="Norm type for clipping (inf allowed)")
    accum_grad: int = _option(1, type=int, help="Gradient accumulation steps")
    no_forward_run: bool = _option(False, type=str2bool, help="Only iterate the data (debugging loaders)")
    resume: bool = _option(False, type=str2bool, help="Resume from <output_dir>/checkpoint.pth if present")
    train_dtype: str = _option(
        "float32", choices=("float16", "float32", "float64", "bfloat16"), help="Parameter dtype for training"
    )
    use_amp: bool = _option(False, type=str2bool, help="Mixed precision (fp16 on CUDA, bf16 on CPU)")
    log_interval: Optional[int] = _option(
        None, type=int_or_none, help="Log every N steps (none: about 10 lines per epoch)"
    )
    use_tensorboard: bool = _option(False, type=str2bool, help="Write tensorboard summaries")
    save_every_n_iters: Optional[int] = _option(None, type=int_or_none, help="Also checkpoint every N steps")
    num_att_plot: int = _option(3, type=int, help="Attention maps plotted per epoch (0: none)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainerOptions":
        """The options in parsed ``args``; an option absent from ``args``, or left none where the
        default is not none (a repeatable option nobody gave), keeps its default."""
        values = vars(args)
        return cls(
            **{
                option.name: values[option.name]
                for option in dataclasses.fields(cls)
                if option.name in values and (values[option.name] is not None or option.default is None)
            }
        )

    def __post_init__(self) -> None:
        if self.output_dir is None:
            raise ConfigError("--output_dir is required for training")
        if self.max_epoch < 1:
            raise ConfigError(f"--max_epoch must be >= 1, got {self.max_epoch}")
        if self.accum_grad < 1:
            raise ConfigError(f"--accum_grad must be >= 1, got {self.accum_grad}")
        for name in ("patience", "save_every_n_iters", "log_interval"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name} must be >= 1 or none, got {value}")
        if len(self.keep_nbest_models) == 0:
            raise ConfigError("--keep_nbest_models needs at least one number, e.g. 10")
        for option in dataclasses.fields(self):
            choices, value = option.metadata.get("choices"), getattr(self, option.name)
            if choices is not None and value not in choices:
                raise ConfigError(f"--{option.name} must be one of {', '.join(choices)}, got {value!r}")
        if len(self.val_scheduler_criterion) != 2:
            raise ConfigError(
                f"--val_scheduler_criterion needs <train|valid> <stat>, got {self.val_scheduler_criterion}"
            )
        for criterion in [self.early_stopping_criterion, *self.best_model_criterion]:
            if not is_criterion(list(criterion)):
                raise ConfigError(f"a criterion must be {CRITERION_FORM}, got {list(criterion)}")
        self.best_model_criterion = [list(c) for c in self.best_model_criterion]
        self.keep_nbest_models = [int(n) for n in self.keep_nbest_models]


@dataclass
class GANTrainerOptions(TrainerOptions):
    """:class:`TrainerOptions` plus the turn order of :class:`~espkit.train.gan_trainer.GANTrainer`.

    A *generator step* below is one generator turn (forward, backward, optimizer step or a skip
    for a non-finite loss); the count depends only on the batches trained, and is saved in
    ``checkpoint.pth`` so that ``--discriminator_start_step`` holds exactly after a resume.
    """

    generator_first: bool = _option(
        False, type=str2bool, help="Per batch, the generator turn before the discriminator turn (false: after)"
    )
    skip_discriminator_prob: float = _option(
        0.0, type=float, help="Probability of skipping the discriminator turns of a batch (drawn from torch's RNG)"
    )
    generator_train_iters: int = _option(1, type=int, help="Generator turns per batch (on the same batch)")
    discriminator_train_iters: int = _option(1, type=int, help="Discriminator turns per batch (on the same batch)")
    discriminator_start_step: int = _option(
        0,
        type=int,
        help="Generator steps trained alone and without adversarial losses before the discriminator starts",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.accum_grad != 1:
            raise ConfigError(
                f"--accum_grad {self.accum_grad}: the GAN trainer steps an optimizer after every turn and does "
                "not accumulate gradients; use --accum_grad 1 (and a larger --batch_size or --batch_bins)"
            )
        if not 0.0 <= self.skip_discriminator_prob <= 1.0:
            raise ConfigError(f"--skip_discriminator_prob must be in [0, 1], got {self.skip_discriminator_prob}")
        for name in ("generator_train_iters", "discriminator_train_iters"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if self.discriminator_start_step < 0:
            raise ConfigError(f"--discriminator_start_step must be >= 0, got {self.discriminator_start_step}")


def _fields(options_class: type = TrainerOptions) -> Dict[str, dataclasses.Field]:
    return {option.name: option for option in dataclasses.fields(options_class)}


def default_of(name: str, options_class: type = TrainerOptions) -> Any:
    """The default of option ``name`` of ``options_class`` (a fresh list where it is one)."""
    option = _fields(options_class)[name]
    return option.default if option.default_factory is dataclasses.MISSING else option.default_factory()


def trainer_group_names() -> List[str]:
    """The options of the ``trainer`` argument group (all but :data:`COMMON_OPTIONS`), in order."""
    return [name for name in _fields() if name not in COMMON_OPTIONS]


def gan_trainer_group_names() -> List[str]:
    """The options :class:`GANTrainerOptions` adds to :class:`TrainerOptions` (the ``GAN trainer`` group)."""
    return [name for name in _fields(GANTrainerOptions) if name not in _fields()]


def add_arguments(
    group: argparse._ActionsContainer, names: Iterable[str], options_class: type = TrainerOptions
) -> None:
    """Add ``--<name>`` to ``group`` for each named option of ``options_class``, as its field's metadata says.

    A repeatable (``append``) option starts from none, since argparse would append to a default
    list; :func:`fill_repeatable_defaults` puts the default in when nobody gave it.
    """
    fields = _fields(options_class)
    for name in names:
        kwargs = dict(fields[name].metadata)
        default = default_of(name, options_class)
        if kwargs.get("action") == "append":
            kwargs["help"] += f" (none: {', '.join(repr(' '.join(item)) for item in default)})"
            default = None
        group.add_argument(f"--{name}", default=default, **kwargs)


def fill_repeatable_defaults(args: argparse.Namespace) -> None:
    """Set the repeatable options that ``args`` leaves at none to their defaults (in place)."""
    for name, option in _fields().items():
        if option.metadata.get("action") == "append" and getattr(args, name, None) is None:
            setattr(args, name, default_of(name))
