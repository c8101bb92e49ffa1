"""The trained-vocoder glue: weights kinds, feature-settings comparison, loading errors (no TTS model needed)."""

import pytest
import torch
from tiny_vocoder import HOP, TINY_FEATS, make_tiny_vocoder

from espkit.tts.vocoder.build_vocoder import build_vocoder
from espkit.tts.vocoder.gan_vocoder import (
    GANVocoder,
    check_feats_match,
    feats_differences,
    load_gan_vocoder,
    weights_kind,
)
from espkit.tts.vocoder.griffin_lim import GriffinLim
from espkit.utils.errors import ConfigError

PARAMS = {**TINY_FEATS, "win_length": None, "window": "hann", "log_base": 10.0}


def test_weights_kind_from_top_level_modules():
    assert weights_kind({"tts.enc.weight": 0, "normalize.mean": 0}) == "tts"
    assert weights_kind({"generator.input_conv.weight": 0, "discriminator.x": 0}) == "vocoder"
    assert weights_kind({"linear.weight": 0}) is None
    assert weights_kind({"tts.a": 0, "generator.b": 0}) is None


def test_feature_settings_compare_with_defaults_spelt_out():
    same = {**PARAMS, "win_length": 256, "fmin": 0.0, "fmax": 4000.0, "fs": 8000.0}
    assert feats_differences(PARAMS, same) == {}
    assert feats_differences({**PARAMS, "fmin": None, "fmax": None}, {**PARAMS, "fmax": 4000}) == {}
    other = {**PARAMS, "hop_length": 128, "window": "hamming"}
    assert feats_differences(PARAMS, other) == {"hop_length": (64, 128), "window": ("hann", "hamming")}
    with pytest.raises(
        ConfigError,
        match=r"^the vocoder v.pth \(v.yaml\) .* TTS model t.pth \(t.yaml\): hop_length "
        r"64 vs 128, window hann vs hamming \(TTS vs vocoder\)",
    ):
        check_feats_match(PARAMS, other, "t.pth (t.yaml)", "v.pth (v.yaml)")


@pytest.mark.parametrize("generator", ["hifigan", "istft"])
def test_loaded_vocoder_makes_frames_times_hop_samples(tmp_path, generator):
    config, weights = make_tiny_vocoder(tmp_path / "voc", generator)
    vocoder = load_gan_vocoder(weights)
    assert isinstance(vocoder, GANVocoder) and vocoder.fs == 8000 and vocoder.model.discriminator is None
    wav = vocoder(torch.randn(11, 8) - 2.0)
    assert wav.shape == (11 * HOP,) and torch.isfinite(wav).all()
    assert isinstance(build_vocoder(PARAMS), GriffinLim)  # without vocoder_file: Griffin-Lim
    assert isinstance(build_vocoder(PARAMS, config, weights), GANVocoder)


def test_loading_errors_name_the_file(tmp_path):
    config, weights = make_tiny_vocoder(tmp_path / "voc")
    with pytest.raises(FileNotFoundError, match="vocoder_file: no such file"):
        load_gan_vocoder(tmp_path / "nothing.pth")
    lonely = tmp_path / "lonely" / "model.pth"
    lonely.parent.mkdir()
    lonely.write_bytes(weights.read_bytes())
    with pytest.raises(FileNotFoundError, match="no config.yaml beside vocoder_file"):
        load_gan_vocoder(lonely)
    (tmp_path / "m.zip").write_bytes(b"PK")
    with pytest.raises(ConfigError, match="is a zip: give the vocoder's weights"):
        load_gan_vocoder(tmp_path / "m.zip", config)
    torch.save({"tts.enc.weight": torch.zeros(1)}, tmp_path / "tts.pth")
    with pytest.raises(ConfigError, match="tts.pth holds a TTS \\(acoustic\\) model's weights \\(its modules are tts"):
        load_gan_vocoder(tmp_path / "tts.pth", config)
