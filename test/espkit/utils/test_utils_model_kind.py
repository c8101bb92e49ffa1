"""config_kind / check_config_kind: a TTS config where a vocoder's is expected, and the reverse."""

import re

import pytest

from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import check_config_kind, config_kind


def test_config_kind():
    assert config_kind({"tts": "tacotron2"}) == "tts"
    assert config_kind({"generator": "hifigan", "discriminator": "hifigan_multi_period"}) == "vocoder"
    assert config_kind({"optim": "adam"}) is None
    assert config_kind({"tts": None}) is None


def test_check_config_kind_accepts_its_kind_and_partial_configs(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("generator: nsf\noptim2: adam\n")
    assert check_config_kind(path, "vocoder") == {"generator": "nsf", "optim2": "adam"}
    path.write_text("max_epoch: 3\n")
    assert check_config_kind(path, "tts") == {"max_epoch": 3}


@pytest.mark.parametrize(
    "text, expected, message",
    [
        ("tts: tacotron2\n", "vocoder", "is a tts config (it has 'tts: tacotron2'), not a vocoder config"),
        ("generator: hifigan\n", "tts", "is a vocoder config (it has 'generator: hifigan'), not a tts config"),
    ],
)
def test_check_config_kind_refuses_the_other_kind_in_one_line(tmp_path, text, expected, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        check_config_kind(path, expected)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert ("gan_tts_train" if expected == "tts" else "espkit.bin.tts_train") in str(info.value)


def test_check_config_kind_takes_a_loaded_config_and_checks_its_argument(tmp_path):
    with pytest.raises(ConfigError, match="given.yaml is a tts config"):
        check_config_kind("given.yaml", "vocoder", config={"tts": "tacotron2"})
    with pytest.raises(ValueError, match="expected must be one of"):
        check_config_kind("x.yaml", "asr", config={})
