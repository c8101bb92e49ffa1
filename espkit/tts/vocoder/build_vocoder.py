"""The vocoder of synthesis and copy-synthesis: a trained vocoder given by its files, or Griffin-Lim.

``vocoder_config`` has ESPnet2's two meanings: with ``vocoder_file``, the trained vocoder's training
``config.yaml``; without it, a YAML of Griffin-Lim options. A training config is told apart by its
``generator`` (vocoder) or ``tts`` key, so a vocoder config given without its weights, or a TTS
model's config given as either, is a one-line error rather than a silent Griffin-Lim.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Dict, Optional

from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.tts.vocoder.gan_vocoder import check_feats_match, default_vocoder_config, load_gan_vocoder
from espkit.tts.vocoder.griffin_lim import GriffinLim
from espkit.utils.config_argparse import load_yaml_config
from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import check_config_kind, config_kind


def build_vocoder(
    feats_params: Dict[str, Any],
    vocoder_config: Optional[str | Path] = None,
    vocoder_file: Optional[str | Path] = None,
    device: str = "cpu",
    feats_source: str = "",
) -> AbsVocoder:
    """The vocoder for features described by ``AbsFeatsExtract.get_parameters()`` (``feats_params``).

    With ``vocoder_file``: the trained vocoder (:func:`~espkit.tts.vocoder.gan_vocoder.load_gan_vocoder`;
    ``vocoder_config`` is its training ``config.yaml``, default: the one beside ``vocoder_file``), whose
    feature settings must be ``feats_params``'s (else a ConfigError naming the vocoder's files,
    ``feats_source`` and each differing setting).

    Without it: Griffin-Lim; ``vocoder_config`` is then a YAML of ``GriffinLim`` options
    (``griffin_lim_iters: 32``, ``momentum: 0.99``...), flat or under ``vocoder_conf:``;
    ``vocoder: griffin_lim`` may be given. A vocoder's or a TTS model's training config given there
    (a ``generator`` or ``tts`` key) is a ConfigError: the weights are missing, or the file is misplaced.
    """
    if vocoder_file is not None:
        vocoder = load_gan_vocoder(vocoder_file, vocoder_config, device)
        config = vocoder_config if vocoder_config is not None else default_vocoder_config(vocoder_file)
        check_feats_match(feats_params, vocoder.feats_params, feats_source or "in use", f"{vocoder_file} ({config})")
        return vocoder
    conf: Dict[str, Any] = {"griffin_lim_iters": 32}
    if vocoder_config is not None:
        data = load_yaml_config(vocoder_config)
        kind = config_kind(data)
        if kind == "vocoder":
            raise ConfigError(
                f"vocoder_config {vocoder_config} is a trained vocoder's config.yaml (it has a `generator` key) "
                "but no vocoder_file was given: pass its weights as vocoder_file (without vocoder_file, "
                "vocoder_config is a YAML of Griffin-Lim options)"
            )
        check_config_kind(vocoder_config, "vocoder", config=data)  # a TTS model's config.yaml
        kind = data.pop("vocoder", "griffin_lim")
        if kind != "griffin_lim":
            raise ConfigError(f"{vocoder_config}: vocoder {kind!r} is not available; valid: griffin_lim")
        data = {**data.pop("vocoder_conf", {}), **data}
        valid = [p for p in inspect.signature(GriffinLim.__init__).parameters if p != "self"]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"{vocoder_config}: unknown Griffin-Lim option(s) {unknown}; valid: {', '.join(valid)}")
        conf.update(data)
    return GriffinLim.from_feats_extract_params(feats_params, **conf)
