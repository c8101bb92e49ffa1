"""Build a trained model for inference from its ``config.yaml`` and weights file.

Unlike ``TTSTask.build_model_from_file`` it needs no normalisation statistics file (their values
are buffers of the weights), refuses a config whose token or emotion list differs from the
one the weights were trained with, and refuses a vocoder's files given for an acoustic model and
the reverse (``kind``: ``tts`` builds with ``TTSTask``, ``vocoder`` with ``GANTTSTask``).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from espkit.tasks.tts import TTSTask
from espkit.train.checkpoint import apply_model_state, extract_model_state, load_checkpoint
from espkit.tts.vocoder.gan_vocoder import check_weights_kind
from espkit.utils.config_argparse import load_yaml_config

logger = logging.getLogger(__name__)


def placeholder_stats(directory: Path, option: str, shape: Sequence[int]) -> Path:
    """An npz of zero mean, unit variance in ``directory``: lets ``GlobalMVN`` be built before its buffers load.

    ``shape`` ``()`` gives scalar statistics, an identity normalisation of features of any size (what a
    model with random weights, :mod:`espkit.bin.profile_model`, is built with).
    """
    path = directory / f"{option}_placeholder_stats.npz"
    np.savez(path, count=np.array(1.0), sum=np.zeros(shape), sum_square=np.ones(shape))
    return path


def check_same_vocabulary(train_config: str | Path, model_file: str | Path, args: argparse.Namespace) -> None:
    """ValueError when ``model_file`` sits beside another run's ``config.yaml`` whose token or emotion
    list differs from that of ``train_config`` (``args``).

    A model file records no vocabulary: with another list of the same size every id would decode
    silently to the wrong symbol or emotion. The ``config.yaml`` that training wrote next to its
    model files tells which lists the weights were trained with.
    """
    sibling = Path(model_file).parent / "config.yaml"
    if not sibling.is_file() or sibling.resolve() == Path(train_config).resolve():
        return
    trained = load_yaml_config(sibling)
    for key in ("token_list", "emo_list"):
        ours, theirs = getattr(args, key, None), trained.get(key)
        if isinstance(ours, list) and isinstance(theirs, list) and ours != theirs:
            first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            raise ValueError(
                f"{model_file} was trained with {sibling}, whose {key} differs from that of {train_config} "
                f"(first at index {first}: {theirs[first] if first < len(theirs) else 'nothing'!r} vs "
                f"{ours[first] if first < len(ours) else 'nothing'!r}); the ids would decode to the wrong "
                f"{'tokens' if key == 'token_list' else 'emotions'}: use --train_config {sibling}"
            )


def task_of(kind: str) -> type:
    """The task class that builds models of ``kind`` (``tts``: ``TTSTask``, ``vocoder``: ``GANTTSTask``)."""
    if kind == "tts":
        return TTSTask
    if kind == "vocoder":
        from espkit.tasks.gan_tts import GANTTSTask  # the GAN task imports the TTS one, not the reverse

        return GANTTSTask
    raise ValueError(f"kind must be 'tts' or 'vocoder', got {kind!r}")


def build_model_for_inference(
    train_config: str | Path, model_file: Optional[str | Path], device: str = "cpu", kind: str = "tts"
) -> tuple[torch.nn.Module, argparse.Namespace]:
    """``(model, args)`` like ``<task>.build_model_from_file``, without needing the statistics files.

    ``kind`` is ``tts`` (an acoustic model) or ``vocoder`` (a GAN vocoder); a config or weights
    file of the other kind is a ConfigError saying where it belongs (the task's
    :func:`~espkit.utils.model_kind.check_config_kind`,
    :func:`~espkit.tts.vocoder.gan_vocoder.check_weights_kind`).

    A ``global_mvn`` normaliser keeps its statistics as buffers (``normalize.mean``,
    ``normalize.std``) in the model file, so when the ``*_conf.stats_file`` of ``train_config``
    does not exist (the experiment folder was moved, say) the normaliser is built from a
    placeholder and its buffers come from ``model_file``. Without ``model_file``, or when the
    model file lacks those buffers, a FileNotFoundError names the option and the file. A model
    file beside a ``config.yaml`` with other token or emotion lists is refused
    (:func:`check_same_vocabulary`).
    """
    task = task_of(kind)
    args = task.load_config_args(train_config)  # checks the config's kind
    task.resolve_args(args)
    state = None
    if model_file is not None:
        state = extract_model_state(load_checkpoint(model_file, map_location=device), str(model_file))
        check_weights_kind(state, model_file, kind)
        check_same_vocabulary(train_config, model_file, args)
    missing = {}
    for option in task.stats_files:
        stats_file = getattr(args, f"{option}_conf").get("stats_file")
        if getattr(args, option) == "global_mvn" and (stats_file is None or not Path(stats_file).exists()):
            missing[option] = stats_file
    with tempfile.TemporaryDirectory(prefix="espkit_stats_") as tmp:
        for option, stats_file in missing.items():
            buffers = [f"{option}.mean", f"{option}.std"]
            if state is None or any(key not in state for key in buffers):
                gone = "is not set" if stats_file is None else f"{stats_file} does not exist"
                where = "no model_file was given" if state is None else f"{model_file} holds no {' / '.join(buffers)}"
                raise FileNotFoundError(
                    f"{train_config}: {option}_conf stats_file {gone} and {where} to take the statistics "
                    f"from; restore the file or set {option}_conf: {{stats_file: ...}} in {train_config} to "
                    "where it is now"
                )
            logger.info(
                "%s: %s statistics file %s not found; its statistics come from %s",
                train_config,
                option,
                stats_file,
                model_file,
            )
            placeholder = placeholder_stats(Path(tmp), option, state[buffers[0]].shape)
            getattr(args, f"{option}_conf")["stats_file"] = str(placeholder)
        try:
            model = task.build_model(args)
        finally:
            for option, stats_file in missing.items():
                getattr(args, f"{option}_conf")["stats_file"] = stats_file
    for option, stats_file in missing.items():  # what config.yaml says; the buffers hold the statistics
        getattr(model, option).stats_file = None if stats_file is None else Path(stats_file)
    if state is not None:
        apply_model_state(model, state, str(model_file))
    return model.to(device), args
