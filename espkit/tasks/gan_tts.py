"""``GANTTSTask``: the neural vocoder task — options, data handling and ``ESPnetGANVocoderModel`` building.

``python -m espkit.bin.gan_tts_train --config conf/tuning/train_vocoder_hifigan.yaml ...`` trains a
generator (``--generator``) against a discriminator (``--discriminator``) with two optimizers:
``--optim``/``--scheduler`` for the generator, ``--optim2``/``--scheduler2`` for the discriminator,
alternated by :class:`~espkit.train.gan_trainer.GANTrainer` (its options are the ``GAN trainer``
group). The features come from ``--feats_extract``/``--normalize``, the same registries (and, in the
recipe, the same settings and ``feats_stats.npz``) as the TTS model's.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from espkit.gan_tts.espnet_model import ESPnetGANVocoderModel
from espkit.gan_tts.graph import GraphDiscriminator, GraphGenerator
from espkit.gan_tts.hifigan.hifigan import (
    HiFiGANGenerator,
    HiFiGANMultiPeriodDiscriminator,
    HiFiGANMultiScaleDiscriminator,
    HiFiGANMultiScaleMultiPeriodDiscriminator,
)
from espkit.gan_tts.istft.istft_generator import ISTFTGenerator
from espkit.gan_tts.nsf.nsf_generator import NSFGenerator
from espkit.tasks import argument_groups
from espkit.tasks.abs_task import AbsTask
from espkit.tasks.optim_choices import optim_choices, scheduler_choices
from espkit.tasks.tts import STATS_FILES, feats_extract_choices, normalize_choices
from espkit.train.class_choices import ClassChoices
from espkit.train.collate_fn import CommonCollateFn
from espkit.train.gan_trainer import GANTrainer
from espkit.train.preprocessor import VocoderPreprocessor
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.utils.config_argparse import ArgumentParser
from espkit.utils.errors import ConfigError
from espkit.utils.nested_dict_action import NestedDictAction

logger = logging.getLogger(__name__)

generator_choices = ClassChoices(
    "generator",
    {"hifigan": HiFiGANGenerator, "istft": ISTFTGenerator, "nsf": NSFGenerator, "graph": GraphGenerator},
    type_check=torch.nn.Module,
    default="hifigan",
)
discriminator_choices = ClassChoices(
    "discriminator",
    {
        "hifigan_multi_scale_multi_period": HiFiGANMultiScaleMultiPeriodDiscriminator,
        "hifigan_multi_scale": HiFiGANMultiScaleDiscriminator,
        "hifigan_multi_period": HiFiGANMultiPeriodDiscriminator,
        "graph": GraphDiscriminator,
    },
    type_check=torch.nn.Module,
    default="hifigan_multi_scale_multi_period",
)
#: The discriminator's optimizer and scheduler: the same registries as ``--optim``/``--scheduler``.
optim2_choices = ClassChoices("optim2", optim_choices.classes, type_check=torch.optim.Optimizer, optional=True)
scheduler2_choices = ClassChoices("scheduler2", scheduler_choices.classes, optional=True)
#: ``--model_conf``: the keyword arguments of the vocoder model (resolved and checked like a ``_conf``).
model_choices = ClassChoices("model", {"vocoder": ESPnetGANVocoderModel}, type_check=ESPnetGANVocoderModel)
#: What ranks a vocoder's epochs unless the config says otherwise (there is no ``loss`` stat).
DEFAULT_CRITERION = ("valid", "generator_mel_loss", "min")
#: The model's parts, built by the task (left out of ``--model_conf``).
MODEL_PARTS = ("feats_extract", "normalize", "generator", "discriminator")


class GANTTSTask(AbsTask):
    """Neural vocoder: ``speech`` (+ ``pitch``) -> ``ESPnetGANVocoderModel`` trained by ``GANTrainer``."""

    trainer = GANTrainer
    config_kind = "vocoder"
    stats_files = {"normalize": STATS_FILES["normalize"]}
    class_choices_list = [feats_extract_choices, normalize_choices, generator_choices, discriminator_choices]
    # Filled in by build_model from the features, not by the user.
    task_supplied_args = {
        **AbsTask.task_supplied_args,
        "optim2": ("params",),
        "scheduler2": ("optimizer",),
        "generator": ("in_channels", "fs", "upsample_factor", "hop_length"),
    }

    @classmethod
    def get_parser(cls) -> ArgumentParser:
        """The task parser; early stopping and ``ReduceLROnPlateau`` watch ``valid generator_mel_loss``
        by default (a GAN model reports no ``loss``)."""
        parser = super().get_parser()
        parser.set_defaults(
            early_stopping_criterion=list(DEFAULT_CRITERION),
            val_scheduler_criterion=list(DEFAULT_CRITERION[:2]),
        )
        return parser

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        argument_groups.add_gan_trainer_arguments(parser)
        group = parser.add_argument_group("discriminator optimizer and scheduler")
        optim2_choices.add_arguments(group)
        scheduler2_choices.add_arguments(group)
        group = parser.add_argument_group("model parts")
        for choices in cls.class_choices_list:
            choices.add_arguments(group)
        group = parser.add_argument_group("model")
        group.add_argument(
            "--model_conf",
            action=NestedDictAction,
            default={},
            help="Keyword arguments of ESPnetGANVocoderModel (segment_size, lambda_mel, lambda_adv, ...)",
        )

    @classmethod
    def all_class_choices(cls) -> List[ClassChoices]:
        return [*super().all_class_choices(), optim2_choices, scheduler2_choices]

    @classmethod
    def resolve_args(cls, args: argparse.Namespace) -> argparse.Namespace:
        """Also fills ``--model_conf`` with the model's defaults and checks its keys; the best models are
        those of the lowest ``valid generator_mel_loss`` unless ``--best_model_criterion`` is given.

        The generator's ``in_channels``, ``fs`` and hop (``upsample_factor``/``hop_length``) come from
        the features; a ``--generator_conf`` that repeats them (ESPnet2 configs write ``in_channels:
        80``) is accepted when they agree, and left out of the resolved config.
        """
        if getattr(args, "best_model_criterion", None) is None:
            args.best_model_criterion = [list(DEFAULT_CRITERION)]
        supplied = cls.task_supplied_args["generator"]
        generator_conf = dict(args.generator_conf or {})
        repeated = {key: generator_conf.pop(key) for key in supplied if key in generator_conf}
        args.generator_conf = generator_conf
        super().resolve_args(args)
        args.model_conf = model_choices.resolve_conf("vocoder", args.model_conf, exclude=MODEL_PARTS)
        if repeated:
            cls._check_repeated_generator_args(args, repeated)
        return args

    @classmethod
    def _generator_args_from_feats(cls, feats_extract: AbsFeatsExtract) -> Dict[str, Any]:
        """The generator's constructor arguments that the features determine."""
        params = feats_extract.get_parameters()
        hop_length = params["hop_length"]
        return {
            "in_channels": feats_extract.output_size(),
            "fs": params["fs"],
            "upsample_factor": hop_length,
            "hop_length": hop_length,
        }

    @classmethod
    def _check_repeated_generator_args(cls, args: argparse.Namespace, repeated: Dict[str, Any]) -> None:
        feats_extract = feats_extract_choices.build(args.feats_extract, args.feats_extract_conf)
        if feats_extract is None:
            return  # build_model says what is wrong
        expected = cls._generator_args_from_feats(feats_extract)
        for key, value in repeated.items():
            if value != expected[key]:
                raise ConfigError(
                    f"--generator_conf {key}: {value} differs from the features' {expected[key]} "
                    f"(--feats_extract_conf); leave {key} out: the task sets it from the features"
                )

    # --- data ---------------------------------------------------------------------------------------
    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        return ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        return ("pitch", "feats")

    @classmethod
    def shape_data_names(cls) -> tuple:
        return ("speech",)

    @classmethod
    def expected_fs(cls, args: argparse.Namespace) -> Optional[int]:
        return args.feats_extract_conf.get("fs")

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        feats_extract = feats_extract_choices.build(args.feats_extract, args.feats_extract_conf)
        if feats_extract is None:
            raise ConfigError("--feats_extract is required: the vocoder computes its features from speech")
        return VocoderPreprocessor(frame_grid=feats_extract.stft)

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=0)

    # --- training -----------------------------------------------------------------------------------
    @classmethod
    def check_training_args(cls, args: argparse.Namespace) -> None:
        """What training needs beyond a model: the discriminator's optimizer."""
        if args.optim2 is None:
            raise ConfigError(
                "--optim2 is required: the discriminator's optimizer (e.g. optim2: adam, optim2_conf: {lr: 0.0002})"
            )

    @classmethod
    def prepare_stats(cls, args: argparse.Namespace) -> None:
        """Checks the training options first (nothing is computed for a run that cannot start), then
        computes missing statistics (:meth:`AbsTask.prepare_stats`)."""
        cls.check_training_args(args)
        super().prepare_stats(args)

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        """``[optim(generator parameters), optim2(discriminator parameters)]``."""
        cls.check_training_args(args)
        optimizers = []
        for part, choices, name in (
            ("generator", optim_choices, args.optim),
            ("discriminator", optim2_choices, args.optim2),
        ):
            params = [p for p in getattr(model, part).parameters() if p.requires_grad]
            if not params:
                raise ConfigError(f"the {part} has no trainable parameters (check --freeze_param)")
            optimizers.append(choices.build(name, getattr(args, f"{choices.name}_conf"), params=params))
        return optimizers

    @classmethod
    def build_schedulers(cls, args: argparse.Namespace, optimizers: Sequence[torch.optim.Optimizer]) -> list:
        """``[scheduler(generator optimizer), scheduler2(discriminator optimizer)]`` (None where unset)."""
        generator_optimizer, discriminator_optimizer = optimizers
        return [
            scheduler_choices.build(args.scheduler, args.scheduler_conf, optimizer=generator_optimizer),
            scheduler2_choices.build(args.scheduler2, args.scheduler2_conf, optimizer=discriminator_optimizer),
        ]

    # --- model --------------------------------------------------------------------------------------
    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetGANVocoderModel:
        feats_extract = feats_extract_choices.build(args.feats_extract, args.feats_extract_conf)
        if feats_extract is None:
            raise ConfigError("--feats_extract is required: the vocoder computes its features from speech")
        # statistics are what the normaliser will be made from
        normalize = None if args.collect_stats else normalize_choices.build(args.normalize, args.normalize_conf)
        generator = generator_choices.build(
            args.generator, args.generator_conf, **cls._generator_args_from_feats(feats_extract)
        )
        discriminator = discriminator_choices.build(args.discriminator, args.discriminator_conf)
        return model_choices.build(
            "vocoder",
            args.model_conf,
            feats_extract=feats_extract,
            normalize=normalize,
            generator=generator,
            discriminator=discriminator,
        )
