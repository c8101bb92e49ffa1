"""``AbsTask``: parse options, build model/optimizers/iterators, and run training (ESPnet2's shape).

The parts live in small modules: option groups in ``argument_groups``, registries in
``optim_choices``/``ClassChoices``, data iterators in ``iter_factory_builder``, the loop in
``espkit.train.trainer``. A concrete task (``TTSTask``) adds its own options and ``build_model``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Type

import torch
import yaml

from espkit.fileio.atomic_file import atomic_write
from espkit.fileio.read_text import DataFormatError
from espkit.tasks import argument_groups
from espkit.tasks.iter_factory_builder import build_sequence_iter_factory
from espkit.tasks.optim_choices import optim_choices, scheduler_choices
from espkit.train.checkpoint import CheckpointError, load_model_state
from espkit.train.class_choices import ClassChoices, _yaml_friendly
from espkit.train.collect_stats import collect_stats
from espkit.train.launch import launch
from espkit.train.trainer import NonFiniteTrainingError, Trainer
from espkit.train.trainer_options import fill_repeatable_defaults
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.config_argparse import ArgumentParser, load_yaml_config
from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import check_config_kind

logger = logging.getLogger(__name__)

#: What ``AbsTask.main`` reports as one ``error:`` line: each names the option, file or line at
#: fault. ``OSError`` covers missing files, permissions, read-only and full file systems.
USER_ERRORS = (ConfigError, DataFormatError, CheckpointError, NonFiniteTrainingError, OSError)


class AbsTask(ABC):
    """Base of every task. Subclasses set ``class_choices_list`` and implement the abstract hooks."""

    #: ``ClassChoices`` of the task's swappable model parts (``--<name>``, ``--<name>_conf``).
    class_choices_list: List[ClassChoices] = []
    #: Constructor arguments the task fills in itself, per choice name (left out of ``_conf``).
    task_supplied_args: Dict[str, Sequence[str]] = {"optim": ("params",), "scheduler": ("optimizer",)}
    #: The class that trains the task's model (``espkit.train.launch`` builds and runs it).
    trainer: Type[Trainer] = Trainer
    #: Normaliser options whose ``global_mvn`` statistics training computes when missing -> the file
    #: name stats collection writes for them (e.g. ``{"normalize": "feats_stats.npz"}``).
    stats_files: Dict[str, str] = {}
    #: What the task's configs describe (``espkit.utils.model_kind``: ``tts`` or ``vocoder``); a
    #: ``--config`` of another kind is refused with one line. None: not checked.
    config_kind: Optional[str] = None

    # --- task hooks ----------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the task's own options (and its ``ClassChoices``) to ``parser``."""

    @classmethod
    @abstractmethod
    def build_model(cls, args: argparse.Namespace) -> torch.nn.Module:
        """Build the model from resolved ``args``."""

    @classmethod
    @abstractmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        """Data names every data set must provide (e.g. ``("text", "speech")``)."""

    @classmethod
    @abstractmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        """Data names a data set may provide."""

    @classmethod
    @abstractmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        """``fn(uid, data) -> data`` applied to each loaded example (tokenisation...)."""

    @classmethod
    @abstractmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        """``fn([(uid, data), ...]) -> (uids, batch)``."""

    @classmethod
    def shape_data_names(cls) -> tuple:
        """Data names whose shapes drive batching (shape files are cached for these)."""
        return cls.required_data_names(train=True)

    @classmethod
    def expected_fs(cls, args: argparse.Namespace) -> Optional[int]:
        """Sampling rate that ``sound`` data must have (None: not checked)."""
        return None

    @classmethod
    def prepare_dataset(cls, args: argparse.Namespace, dataset) -> None:
        """Hook run once per data set after loading (e.g. batch g2p to warm a cache); does nothing here."""
        return None

    # --- statistics -----------------------------------------------------------------------------
    @classmethod
    def missing_stats(cls, args: argparse.Namespace) -> List[str]:
        """Normalisers of :attr:`stats_files` configured as global_mvn whose statistics file is not
        given or absent."""
        missing = []
        for option in cls.stats_files:
            if getattr(args, option) == "global_mvn":
                stats_file = getattr(args, f"{option}_conf").get("stats_file")
                if stats_file is None or not Path(stats_file).exists():
                    missing.append(option)
        return missing

    @classmethod
    def prepare_stats(cls, args: argparse.Namespace) -> None:
        """Hook run before ``build_model`` in training: compute normalisation statistics that are
        configured but missing (:meth:`missing_stats`) once into ``<output_dir>/stats``, and point
        the ``<option>_conf stats_file`` at them."""
        missing = cls.missing_stats(args)
        if not missing:
            return

        stats_dir = Path(args.output_dir) / "stats"
        targets = {option: stats_dir / "train" / cls.stats_files[option] for option in missing}
        if not all(path.exists() for path in targets.values()):
            logger.warning(
                "normalisation statistics missing for %s: computing them once into %s",
                ", ".join(f"--{o}" for o in missing),
                stats_dir,
            )
            stats_args = argparse.Namespace(**vars(args))
            for option in cls.stats_files:
                setattr(stats_args, option, None)
                setattr(stats_args, f"{option}_conf", {})
            stats_args.num_iters_per_epoch = None
            stats_args.output_dir = str(stats_dir)
            model = cls.build_model(stats_args)
            iterator = cls.build_iter_factory(stats_args, distributed=False, mode="train").build_iter(1, shuffle=False)
            collect_stats(model, [("train", iterator)], stats_dir)
        for option, path in targets.items():
            getattr(args, f"{option}_conf")["stats_file"] = str(path)

    # --- options --------------------------------------------------------------------------------
    @classmethod
    def get_parser(cls) -> ArgumentParser:
        """The full parser: common groups, then the task's own options."""
        parser = ArgumentParser(
            description=f"{cls.__name__}: train or inspect a model",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
            retired_options=argument_groups.RETIRED_OPTIONS,
            config_check=cls._check_config_kind if cls.config_kind is not None else None,
        )
        argument_groups.add_common_arguments(parser)
        argument_groups.add_distributed_arguments(parser)
        argument_groups.add_cudnn_arguments(parser)
        argument_groups.add_collect_stats_arguments(parser)
        argument_groups.add_trainer_arguments(parser)
        argument_groups.add_pretraining_arguments(parser)
        argument_groups.add_batch_sampler_arguments(parser)
        argument_groups.add_dataset_arguments(parser)
        argument_groups.add_optimization_arguments(parser, optim_choices, scheduler_choices)
        cls.add_task_arguments(parser)
        return parser

    @classmethod
    def _check_config_kind(cls, config: Dict[str, Any], path: str) -> None:
        check_config_kind(path, cls.config_kind, config=config)

    @classmethod
    def all_class_choices(cls) -> List[ClassChoices]:
        return [optim_choices, scheduler_choices, *cls.class_choices_list]

    @classmethod
    def resolve_args(cls, args: argparse.Namespace) -> argparse.Namespace:
        """Fill every ``<name>_conf`` with the chosen class's defaults and check the keys; a
        repeatable trainer option nobody gave (``--best_model_criterion``) gets its default.

        Raises ``ConfigError`` naming the option and the accepted parameters for unknown keys.
        """
        for choices in cls.all_class_choices():
            name = getattr(args, choices.name)
            conf = getattr(args, f"{choices.name}_conf")
            exclude = cls.task_supplied_args.get(choices.name, ())
            setattr(args, f"{choices.name}_conf", choices.resolve_conf(name, conf, exclude=exclude))
        fill_repeatable_defaults(args)
        return args

    @classmethod
    def config_dict(cls, args: argparse.Namespace) -> Dict[str, Any]:
        """The resolved configuration as plain YAML-able data (what ``config.yaml`` holds)."""
        skip = {"config", "print_config"}
        return {k: _yaml_friendly(v) for k, v in vars(args).items() if k not in skip}

    @classmethod
    def print_config(cls, args: Optional[argparse.Namespace] = None, file: Optional[TextIO] = None) -> None:
        """Print the fully resolved configuration as YAML (to stdout by default).

        ESPnet2's form ``print_config(file)`` (the defaults, to ``file``) is accepted too."""
        if args is not None and hasattr(args, "write"):
            args, file = None, args
        file = sys.stdout if file is None else file
        if args is None:
            args = cls.get_parser().parse_args([])
        cls.resolve_args(args)
        yaml.safe_dump(cls.config_dict(args), file, indent=4, sort_keys=False, allow_unicode=True)

    @classmethod
    def load_config_args(cls, config_file: str | Path) -> argparse.Namespace:
        """Rebuild the ``args`` of a run from its ``config.yaml`` (as training wrote it).

        A config of another kind (``config_kind``) raises ``ConfigError``."""
        if cls.config_kind is not None:
            check_config_kind(config_file, cls.config_kind)
        return cls.get_parser().parse_args(["--config", str(config_file)])

    # --- builders -------------------------------------------------------------------------------
    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("the model has no trainable parameters (check --freeze_param)")
        return [optim_choices.build(args.optim, args.optim_conf, params=params)]

    @classmethod
    def build_schedulers(cls, args: argparse.Namespace, optimizers: Sequence[torch.optim.Optimizer]) -> list:
        return [
            scheduler_choices.build(args.scheduler, args.scheduler_conf, optimizer=optimizer)
            for optimizer in optimizers
        ]

    @classmethod
    def build_iter_factory(cls, args: argparse.Namespace, distributed: bool, mode: str):
        """Data iterator for ``mode`` in ``train``, ``valid`` or ``plot_att``."""

        return build_sequence_iter_factory(cls, args, distributed, mode)

    @classmethod
    def build_model_from_file(
        cls,
        config_file: str | Path,
        model_file: Optional[str | Path] = None,
        device: str = "cpu",
    ) -> tuple:
        """``(model, args)`` from a ``config.yaml`` and (optionally) a weights file.

        Weights load with ``torch.load(weights_only=True)``; see ``espkit.train.checkpoint``.
        """

        args = cls.load_config_args(config_file)
        cls.resolve_args(args)
        model = cls.build_model(args)
        if model_file is not None:
            load_model_state(model, model_file, map_location=device)
        model.to(device)
        return model, args

    # --- running ----------------------------------------------------------------------------------
    @classmethod
    def main(cls, args: Optional[argparse.Namespace] = None, cmd: Optional[Sequence[str]] = None) -> None:
        """Entry point: parse ``cmd`` (or take ``args``), then print the config or train.

        User mistakes and environment failures (:data:`USER_ERRORS`: a bad option, a malformed or
        missing data file, an unusable checkpoint, an unwritable or full disk) end with one ``error:``
        line and exit code 2; ``--log_level DEBUG`` also logs the traceback.
        """
        with exit_on_error(USER_ERRORS, logger):
            if args is None:
                args = cls.get_parser().parse_args(cmd)
            if args.print_config:
                cls.print_config(args)
                sys.exit(0)  # as ESPnet2: nothing else runs
            cls.resolve_args(args)

            launch(cls, args)

    @classmethod
    def dump_config(cls, args: argparse.Namespace, output_dir: str | Path) -> Path:
        """Write ``<output_dir>/config.yaml``; re-loadable with ``--config``."""
        path = Path(output_dir) / "config.yaml"
        with atomic_write(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(cls.config_dict(args), f, indent=4, sort_keys=False, allow_unicode=True)
        return path


__all__ = ["AbsTask", "ConfigError", "load_yaml_config"]
