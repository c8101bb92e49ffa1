"""What a training ``config.yaml`` describes: a TTS model or a vocoder.

A TTS config (``TTSTask``, ``tts_train``) has a ``tts`` key; a vocoder config (``GANTTSTask``,
``gan_tts_train``) has a ``generator`` key. Giving one where the other is expected fails with one
line that says which it is and where it belongs.

>>> config_kind({"tts": "tacotron2", "feats_extract": "fbank"})
'tts'
>>> config_kind({"generator": "hifigan"})
'vocoder'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from espkit.utils.config_argparse import load_yaml_config
from espkit.utils.errors import ConfigError

#: Kind -> the top-level key that identifies its configs.
KIND_KEYS = {"tts": "tts", "vocoder": "generator"}
#: Kind -> where a config of that kind belongs.
KIND_USES = {
    "tts": "a TTS model: train it with espkit.bin.tts_train, give it as --train_config / train_config",
    "vocoder": "a vocoder: train it with espkit.bin.gan_tts_train, give it as --vocoder_config / vocoder_config",
}


def config_kind(config: Mapping[str, Any]) -> Optional[str]:
    """``"tts"``, ``"vocoder"`` or None (neither key: a partial config, e.g. a tuning file)."""
    kinds = [kind for kind, key in KIND_KEYS.items() if config.get(key) is not None]
    return kinds[0] if len(kinds) == 1 else None


def check_config_kind(
    config_path: str | Path, expected: str, config: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """Read ``config_path`` (unless ``config`` is given) and check that it is not a config of another kind.

    Args:
        config_path: the YAML file (named in the error).
        expected: ``"tts"`` or ``"vocoder"``.
        config: its already loaded content.

    Returns:
        The config mapping.

    Raises:
        ConfigError: the file is a config of the other kind (or cannot be read).
    """
    if expected not in KIND_KEYS:
        raise ValueError(f"expected must be one of {sorted(KIND_KEYS)}, got {expected!r}")
    data = dict(load_yaml_config(config_path) if config is None else config)
    found = config_kind(data)
    if found is not None and found != expected:
        raise ConfigError(
            f"{config_path} is a {found} config (it has '{KIND_KEYS[found]}: {data[KIND_KEYS[found]]}'), not "
            f"a {expected} config; it belongs to {KIND_USES[found]}"
        )
    return data
