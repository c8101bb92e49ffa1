"""Start a run: one process, a torchrun worker, or ``--ngpu N`` spawned workers; then train.

``run_worker`` reads top to bottom: environment -> model -> optimizers -> data -> config -> trainer
(the task's ``trainer`` class).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import torch

from espkit.torch_utils.host_allocator import keep_freed_memory
from espkit.torch_utils.load_pretrained_model import freeze_parameters, load_pretrained_model
from espkit.torch_utils.seeding import set_all_random_seed
from espkit.train.checkpoint import check_model_state, extract_model_state, load_checkpoint
from espkit.train.collect_stats import collect_stats
from espkit.train.distributed import DistributedOption, shutdown
from espkit.train.run_state import CHECKPOINT_NAME
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)


def configure_logging(level: str, rank: int = 0) -> None:
    prefix = f"[rank {rank}] " if rank else ""
    logging.basicConfig(
        level=level if rank == 0 else "WARNING",
        format=f"%(asctime)s {prefix}(%(module)s:%(lineno)d) %(levelname)s: %(message)s",
        force=True,
    )


def launch(task, args: argparse.Namespace) -> None:
    """Run ``task`` with ``args``; spawns ``--ngpu`` processes when asked and not under torchrun."""
    under_torchrun = "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ
    if args.ngpu > 1 and args.multiprocessing_distributed and not under_torchrun:
        if not torch.cuda.is_available():
            raise ConfigError(f"--ngpu {args.ngpu} asks for GPUs but CUDA is not available")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29533")
        torch.multiprocessing.spawn(_spawned_worker, args=(task, args), nprocs=args.ngpu, join=True)
        return
    run_worker(task, args)


def _spawned_worker(local_rank: int, task, args: argparse.Namespace) -> None:
    os.environ.update(RANK=str(local_rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(args.ngpu))
    run_worker(task, args)


def select_device(args: argparse.Namespace, local_rank: int) -> torch.device:
    if args.ngpu > 0:
        if not torch.cuda.is_available():
            raise ConfigError(f"--ngpu {args.ngpu} asks for a GPU but CUDA is not available (use --ngpu 0)")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def run_worker(task, args: argparse.Namespace) -> None:
    """One process of a training or stats-collection run."""

    distributed_option = DistributedOption.from_args(args)
    configure_logging(args.log_level, distributed_option.rank)
    distributed_option.init()
    if args.output_dir is None:
        raise ConfigError("--output_dir is required for training and stats collection")
    output_dir = Path(args.output_dir)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    keep_freed_memory()
    set_all_random_seed(args.seed)
    torch.backends.cudnn.enabled = args.cudnn_enabled
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.backends.cudnn.deterministic = args.cudnn_deterministic
    device = select_device(args, distributed_option.local_rank or 0)

    if args.collect_stats:
        args.num_iters_per_epoch = None  # statistics read every utterance exactly once
        model = task.build_model(args).to(device)
        iterators = [
            (mode, task.build_iter_factory(args, distributed=False, mode=mode).build_iter(1, shuffle=False))
            for mode in ("train", "valid")
            if (args.train_data_path_and_name_and_type if mode == "train" else args.valid_data_path_and_name_and_type)
        ]
        if distributed_option.is_main:
            task.dump_config(args, output_dir)
        collect_stats(
            model, iterators, output_dir, device=str(device), write_collected_feats=args.write_collected_feats
        )
        return

    trainer_options = task.trainer.build_options(args)  # bad trainer options fail before any work is done
    checkpoint_path = output_dir / CHECKPOINT_NAME
    if checkpoint_path.exists() and not args.resume:
        raise ConfigError(
            f"{output_dir} already holds a training run ({checkpoint_path}); pass --resume true to continue "
            "it, or remove the directory (or choose another --output_dir) to start over"
        )
    task.prepare_stats(args)
    set_all_random_seed(args.seed)  # the same initial weights whether or not stats were computed first
    model = task.build_model(args)
    model = model.to(device=device, dtype=getattr(torch, args.train_dtype))
    for init_param in args.init_param:
        load_pretrained_model(init_param, model, args.ignore_init_mismatch, map_location=str(device))
    if args.freeze_param:
        freeze_parameters(model, args.freeze_param)
    logger.info("model:\n%s", model)
    num_params = sum(p.numel() for p in model.parameters())
    num_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("parameters: %.2f M (%.2f M trainable)", num_params / 1e6, num_trainable / 1e6)

    optimizers = task.build_optimizers(args, model)
    schedulers = task.build_schedulers(args, optimizers)
    train_iter_factory = task.build_iter_factory(args, distributed_option.distributed, "train")
    valid_iter_factory = task.build_iter_factory(args, distributed_option.distributed, "valid")
    plot_attention_iter_factory = (
        task.build_iter_factory(args, False, "plot_att")
        if args.num_att_plot > 0 and distributed_option.is_main
        else None
    )
    if args.resume and checkpoint_path.is_file():
        # before config.yaml is rewritten: a config that no longer fits the run must not replace its own
        check_model_state(
            model, extract_model_state(load_checkpoint(checkpoint_path), str(checkpoint_path)), str(checkpoint_path)
        )
    if distributed_option.is_main:
        path = task.dump_config(args, output_dir)
        logger.info("resolved config written to %s", path)
    if args.dry_run:
        logger.info("--dry_run true: stopping before training")
        shutdown()
        return
    trainer = task.trainer(model, optimizers, schedulers, trainer_options, distributed_option)
    trainer.run(train_iter_factory, valid_iter_factory, plot_attention_iter_factory)
    shutdown()
