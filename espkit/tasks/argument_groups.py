"""The task-independent option groups of every ``AbsTask`` parser (ESPnet2's names and defaults)."""

from __future__ import annotations

import argparse

from espkit.samplers.bin_packing import PACKINGS
from espkit.train import trainer_options
from espkit.utils.types import (
    humanfriendly_parse_size_or_none,
    int_or_none,
    str2bool,
    str2triple_str,
    str_or_none,
)

BATCH_TYPES = ("unsorted", "sorted", "folded", "length", "numel")

#: Removed options, which a ``config.yaml`` written before their removal still holds (ignored there).
RETIRED_OPTIONS = {
    "grad_noise": "it was never applied",
    "iterator_type": "it was read nowhere",
}


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common")
    group.add_argument("--print_config", action="store_true", help="Print the resolved config and exit")
    trainer_options.add_arguments(group, trainer_options.COMMON_OPTIONS)
    group.add_argument("--num_workers", type=int, default=1, help="Data loader worker processes")
    group.add_argument(
        "--num_threads",
        type=int_or_none,
        default=None,
        help="torch CPU threads per process (none: torch's default)",
    )
    group.add_argument(
        "--log_level",
        type=lambda x: x.upper(),
        default="INFO",
        choices=("ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"),
        help="Logging level",
    )
    group.add_argument("--dry_run", type=str2bool, default=False, help="Build everything, then stop before training")


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("distributed")
    group.add_argument("--dist_backend", default="auto", type=str, help="auto (nccl on GPU, gloo on CPU), nccl or gloo")
    group.add_argument("--dist_init_method", type=str, default="env://", help="torch.distributed init method")
    group.add_argument(
        "--dist_world_size", type=int_or_none, default=None, help="Number of processes (torchrun sets it)"
    )
    group.add_argument("--dist_rank", type=int_or_none, default=None, help="Global rank (torchrun sets it)")
    group.add_argument("--local_rank", type=int_or_none, default=None, help="Rank on this node (torchrun sets it)")
    group.add_argument(
        "--multiprocessing_distributed",
        type=str2bool,
        default=False,
        help="Spawn one process per GPU when --ngpu > 1 without torchrun",
    )


def add_cudnn_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cudnn")
    group.add_argument("--cudnn_enabled", type=str2bool, default=True, help="Enable cuDNN")
    group.add_argument("--cudnn_benchmark", type=str2bool, default=False, help="cuDNN autotuning")
    group.add_argument("--cudnn_deterministic", type=str2bool, default=True, help="Deterministic cuDNN kernels")


def add_collect_stats_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("collect stats")
    group.add_argument(
        "--collect_stats", type=str2bool, default=False, help="Collect feature statistics instead of training"
    )
    group.add_argument(
        "--write_collected_feats", type=str2bool, default=False, help="Also dump the features while collecting"
    )


def add_trainer_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("trainer")
    trainer_options.add_arguments(group, trainer_options.trainer_group_names())
    # read by the training data iterator (espkit.tasks.iter_factory_builder), not by the trainer
    group.add_argument("--num_iters_per_epoch", type=int_or_none, default=None, help="Fixed iterations per epoch")


def add_gan_trainer_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``GAN trainer`` group (``--generator_first``, ``--skip_discriminator_prob``, ...): for a task
    whose ``trainer`` is :class:`~espkit.train.gan_trainer.GANTrainer`, from ``GANTrainerOptions``."""
    group = parser.add_argument_group("GAN trainer")
    trainer_options.add_arguments(
        group, trainer_options.gan_trainer_group_names(), options_class=trainer_options.GANTrainerOptions
    )


def add_pretraining_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pretraining")
    group.add_argument(
        "--init_param",
        type=str,
        nargs="*",
        default=[],
        help="path[:src_key[:dst_key[:exclude_keys]]] to initialise (a part of) the model from",
    )
    group.add_argument(
        "--ignore_init_mismatch", type=str2bool, default=False, help="Skip mismatched shapes in --init_param"
    )
    group.add_argument("--freeze_param", type=str, nargs="*", default=[], help="Parameter name prefixes to freeze")


def add_batch_sampler_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("batch sampler")
    group.add_argument("--batch_type", type=str, default="folded", choices=BATCH_TYPES, help="Training batch type")
    group.add_argument(
        "--valid_batch_type",
        type=str_or_none,
        default=None,
        choices=BATCH_TYPES + (None,),
        help="Validation batch type (none: as training)",
    )
    group.add_argument("--batch_size", type=int, default=20, help="Utterances per batch (unsorted/sorted/folded)")
    group.add_argument(
        "--valid_batch_size", type=int_or_none, default=None, help="Validation batch size (none: as training)"
    )
    group.add_argument("--batch_bins", type=int, default=1000000, help="Elements per batch (length/numel)")
    group.add_argument(
        "--valid_batch_bins", type=int_or_none, default=None, help="Validation batch bins (none: as training)"
    )
    group.add_argument(
        "--train_shape_file", type=str, action="append", default=[], help="Shape file(s) of the training data"
    )
    group.add_argument(
        "--valid_shape_file", type=str, action="append", default=[], help="Shape file(s) of the validation data"
    )
    group.add_argument(
        "--fold_length", type=int, action="append", default=[], help="Fold length(s) for the folded batch type"
    )
    group.add_argument(
        "--sort_in_batch",
        type=str,
        default="descending",
        choices=("descending", "ascending"),
        help="Order inside a batch",
    )
    group.add_argument(
        "--sort_batch", type=str, default="descending", choices=("descending", "ascending"), help="Order of the batches"
    )
    group.add_argument(
        "--batch_packing",
        type=str,
        default="espnet",
        choices=PACKINGS,
        help="How length/numel batches meet --batch_bins: espnet (ESPnet2's batches: closed once over "
        "batch_bins) or within_bins (never over batch_bins; smaller batches)",
    )
    group.add_argument("--min_batch_size", type=int, default=1, help="Smallest batch size")
    group.add_argument("--drop_last_iter", type=str2bool, default=False, help="Drop the last incomplete batch")


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--train_data_path_and_name_and_type",
        type=str2triple_str,
        action="append",
        default=[],
        help="path,name,type of one training data file (repeatable), e.g. dump/train/wav.scp,speech,sound",
    )
    group.add_argument(
        "--valid_data_path_and_name_and_type",
        type=str2triple_str,
        action="append",
        default=[],
        help="path,name,type of one validation data file (repeatable)",
    )
    group.add_argument(
        "--allow_variable_data_keys", type=str2bool, default=False, help="Allow data keys beyond the task's"
    )
    group.add_argument(
        "--max_cache_size",
        type=humanfriendly_parse_size_or_none,
        default=0.0,
        help="In-memory data cache size, e.g. 1GB (0: no cache)",
    )
    group.add_argument(
        "--valid_max_cache_size",
        type=humanfriendly_parse_size_or_none,
        default=None,
        help="Validation cache size (none: as training)",
    )


def add_optimization_arguments(parser: argparse.ArgumentParser, optim_choices, scheduler_choices) -> None:
    group = parser.add_argument_group("optimizer and scheduler")
    optim_choices.add_arguments(group)
    scheduler_choices.add_arguments(group)
