"""TorchScript export of FastSpeech2 / FastSpeech (tiny untrained models): scripted == eager, with
and without prosody controls and emotions; what the export refuses."""

import json
import warnings

import pytest
import torch
from tiny_fastspeech import make_tiny_fastspeech

from espkit.bin.tts_export import export_tts, main
from espkit.tts.fastspeech2.export import FastSpeechInference
from espkit.tts.text2speech import Text2Speech
from espkit.utils.errors import ConfigError


@pytest.fixture(scope="module")
def exps(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_fs")
    return {
        "fastspeech2": make_tiny_fastspeech(root / "fs2", "fastspeech2"),
        "fastspeech": make_tiny_fastspeech(root / "fs", "fastspeech"),
        "plain": make_tiny_fastspeech(root / "plain", "fastspeech2", emotions=False),
    }


def _load(path):
    extra = {"espkit.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), _extra_files=extra)
    return module, json.loads(extra["espkit.json"])


@pytest.mark.parametrize("name", ["fastspeech2", "fastspeech"])
def test_scripted_duration_model_equals_eager(exps, tmp_path, name):
    tts = Text2Speech(exps[name]["config"], exps[name]["model"])
    report = export_tts(tts, tmp_path / "tts.pt", texts=["ab ba", "cab"], emo_labs="sad", num_runs=1)
    assert report["max_abs_diff"] <= 1e-5 and len(report["frames"]) == 2 and min(report["frames"]) > 0
    module, meta = _load(tmp_path / "tts.pt")
    assert meta["emotion_input"] == "weights" and meta["decode_conf"]["alpha"] == 1.0
    ids, weights = tts.token_ids("acab ba"), torch.tensor([0.0, 0.5, 0.5, 0.0])  # a text and mix not checked above
    with torch.inference_mode():
        feat_gen, duration, pitch, energy = module(ids, weights)
        eager = tts.model.tts.inference(ids, emo_labs=weights)
    assert torch.equal(duration, eager["duration"]) and duration.shape == (ids.numel() + 1,)
    assert feat_gen.shape == eager["feat_gen"].shape == (int(duration.sum()), 8)
    assert torch.allclose(feat_gen, eager["feat_gen"], atol=1e-5)
    if name == "fastspeech2":
        assert torch.allclose(pitch, eager["pitch"], atol=1e-6) and torch.allclose(energy, eager["energy"], atol=1e-6)
    else:
        assert pitch.numel() == 0 and energy.numel() == 0


def test_controls_are_fixed_at_export_as_text2speech_applies_them(exps, tmp_path):
    controls = dict(alpha=1.5, pitch_scale=0.5, pitch_shift_cents=300.0, energy_scale=1.5)
    tts = Text2Speech(exps["fastspeech2"]["config"], exps["fastspeech2"]["model"], **controls)
    export_tts(tts, tmp_path / "tts.pt", texts=["ab ba"], emo_labs="happy", num_runs=1)
    module, _ = _load(tmp_path / "tts.pt")
    ids = tts.token_ids("cab ab")
    with torch.inference_mode():
        feat_gen, duration, _, _ = module(ids, torch.tensor([0.0, 1.0, 0.0, 0.0]))
    out = tts("cab ab", emo_labs="happy")  # eager, with the same user-level controls
    neutral = Text2Speech(exps["fastspeech2"]["config"], exps["fastspeech2"]["model"])("cab ab", emo_labs="happy")
    assert torch.equal(duration, out["duration"]) and not torch.equal(duration, neutral["duration"])
    assert torch.allclose(feat_gen, out["feat_gen"], atol=1e-5)


def test_model_without_emotion_exports_with_no_emotion_input(exps, tmp_path, capsys):
    main(
        [
            "--train_config",
            str(exps["plain"]["config"]),
            "--model_file",
            str(exps["plain"]["model"]),
            "--outpath",
            str(tmp_path / "plain.pt"),
            "--text",
            "ab",
            "--num_runs",
            "1",
            "--speed_control_alpha",
            "2",
            "--log_level",
            "ERROR",
        ]
    )
    assert "scripted == eager on 1 text(s)" in capsys.readouterr().out
    module, meta = _load(tmp_path / "plain.pt")
    assert meta["emotion_input"] == "none" and meta["decode_conf"]["alpha"] == 2.0
    feat_gen, duration, _, _ = module(torch.tensor([3, 4]), torch.zeros(0))
    assert feat_gen.shape[0] == int(duration.sum()) and bool((duration % 2 == 0).all())  # alpha 2: even durations


def test_export_refuses_what_it_does_not_cover(exps):
    fastspeech = Text2Speech(exps["fastspeech"]["config"], exps["fastspeech"]["model"]).model.tts
    with pytest.raises(ConfigError, match="pitch/energy controls need a FastSpeech2"):
        FastSpeechInference(fastspeech, "weights", pitch_scale=0.5)
    with pytest.raises(ConfigError, match="emotion_input='none' but the FastSpeech is conditioned on an emotion"):
        FastSpeechInference(fastspeech, "none")
    with pytest.raises(ConfigError, match="emotion_input=feats but the model has no emo_feat_dim"):
        FastSpeechInference(fastspeech, "feats")
    with pytest.raises(ConfigError, match="exports FastSpeech2 / FastSpeech, not Linear"):
        FastSpeechInference(torch.nn.Linear(2, 2))
