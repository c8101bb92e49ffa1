"""Text2Speech's prosody controls (alpha, pitch/energy) and per-token overrides on tiny untrained
FastSpeech2 / FastSpeech / Tacotron2 models: ranges, refusals naming option and model, effects."""

import logging

import pytest
import torch
from tiny_fastspeech import make_tiny_fastspeech

from espkit.tts.decode_options import check_decode_conf
from espkit.tts.text2speech import Text2Speech


@pytest.fixture(scope="module")
def exps(tmp_path_factory):
    root = tmp_path_factory.mktemp("prosody")
    return {
        name: make_tiny_fastspeech(root / name, name)
        for name in ("fastspeech2", "fastspeech", "tacotron2_controllable")
    }


def _tts(exps, name, **kwargs):
    return Text2Speech(exps[name]["config"], exps[name]["model"], **kwargs)


@pytest.fixture(scope="module")
def fs2(exps):
    return _tts(exps, "fastspeech2")


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(alpha=0.0), "alpha must be > 0"),
        (dict(alpha=-1.0), "alpha must be > 0"),
        (dict(alpha=float("inf")), "alpha must be a finite number"),
        (dict(pitch_scale=-0.5), "pitch_scale must be >= 0"),
        (dict(energy_scale=-1.0), "energy_scale must be >= 0"),
        (dict(pitch_shift_cents=float("nan")), "pitch_shift_cents must be a finite number"),
        (dict(energy_scale=True), "energy_scale must be a finite number"),
        (dict(speed=1.0), "unknown option 'speed'; valid: threshold, .*, alpha, pitch_scale"),
    ],
)
def test_prosody_options_out_of_range_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        check_decode_conf(options)


def test_valid_prosody_options_are_kept():
    conf = dict(alpha=1.5, pitch_scale=0.0, pitch_shift_cents=-300, energy_scale=2)
    assert check_decode_conf(conf) == dict(alpha=1.5, pitch_scale=0.0, pitch_shift_cents=-300.0, energy_scale=2.0)


def test_constructor_checks_ranges_before_loading(exps):
    with pytest.raises(
        ValueError, match=r"^decoding option alpha must be > 0 \(duration scale, > 1: slower\), got 0.0$"
    ):
        _tts(exps, "fastspeech2", alpha=0.0)
    with pytest.raises(ValueError, match="alpha=2.0 and speed_control_alpha=1.5 are one option"):
        _tts(exps, "fastspeech2", alpha=2.0, speed_control_alpha=1.5)


@pytest.mark.parametrize(
    "option, value, needs",
    [
        ("alpha", 1.2, "a duration predictor"),
        ("pitch_scale", 0.5, "pitch and energy predictors"),
        ("pitch_shift_cents", 100.0, "pitch and energy predictors"),
        ("energy_scale", 2.0, "pitch and energy predictors"),
    ],
)
def test_tacotron2_refuses_the_prosody_controls(exps, option, value, needs):
    message = f"^{option} needs a model with {needs} .*; this model is tacotron2_controllable$"
    with pytest.raises(ValueError, match=message):
        _tts(exps, "tacotron2_controllable", **{option: value})
    tacotron2 = _tts(exps, "tacotron2_controllable", maxlenratio=2.0)
    with pytest.raises(ValueError, match=message):
        tacotron2("ab", emo_labs="happy", decode_conf={option: value})


@pytest.mark.parametrize("model", ["tacotron2_controllable", "fastspeech"])
def test_use_cache_false_is_refused_without_a_cached_decoder(exps, model):
    message = f"^use_cache false needs a model with a cached decoder \\(transformer\\); this model is {model}$"
    with pytest.raises(ValueError, match=message):
        _tts(exps, model, use_cache=False)
    tts = _tts(exps, model, maxlenratio=2.0)
    assert "use_cache" not in tts.decode_conf  # the default is dropped, not passed to the model
    with pytest.raises(ValueError, match=message):
        tts("ab", emo_labs="happy", decode_conf={"use_cache": False})


@pytest.mark.parametrize("override", ["durations", "pitch", "energy"])
def test_tacotron2_refuses_per_token_overrides(exps, override):
    tacotron2 = _tts(exps, "tacotron2_controllable", maxlenratio=2.0)
    with pytest.raises(ValueError, match=f"^{override} needs a model with .*; this model is tacotron2_controllable$"):
        tacotron2("ab", emo_labs="happy", **{override: [1, 1, 1]})
    out = tacotron2("ab", emo_labs="happy", decode_conf={"alpha": 1.0})  # neutral values are fine
    assert "att_w" in out and "prob" in out


@pytest.mark.parametrize("option", ["pitch_scale", "pitch_shift_cents", "energy_scale"])
def test_fastspeech_refuses_pitch_and_energy_controls(exps, option):
    message = f"^{option} needs a model with pitch and energy predictors \\(fastspeech2\\); this model is fastspeech$"
    with pytest.raises(ValueError, match=message):
        _tts(exps, "fastspeech", **{option: 0.5})
    fastspeech = _tts(exps, "fastspeech")
    with pytest.raises(ValueError, match=message):
        fastspeech("ab", emo_labs="happy", decode_conf={option: 0.5})
    with pytest.raises(ValueError, match="^pitch needs a model with pitch and energy predictors"):
        fastspeech("ab", emo_labs="happy", pitch=[100.0, 100.0, 0.0])


def test_alpha_scales_the_predicted_durations(exps, fs2):
    base = fs2("ab ba", emo_labs="happy")
    assert "prob" not in base and "att_w" not in base and "focus_rate" not in base
    assert base["duration"].shape == (6,) and int(base["duration"].sum()) == base["feat_gen"].shape[0]
    slow = fs2("ab ba", emo_labs="happy", decode_conf={"alpha": 2.0})
    assert torch.equal(slow["duration"], base["duration"] * 2)
    assert slow["feat_gen"].shape[0] == 2 * base["feat_gen"].shape[0]
    for alias in (dict(alpha=2.0), dict(speed_control_alpha=2.0)):
        assert torch.equal(_tts(exps, "fastspeech2", **alias)("ab ba", emo_labs="happy")["duration"], slow["duration"])


def test_given_durations_replace_the_prediction_without_alpha(exps):
    fast = _tts(exps, "fastspeech", alpha=3.0)
    durations = [2, 0, 1, 4]  # "abc" + <sos/eos>
    out = fast("abc", emo_labs="sad", durations=durations)
    assert out["duration"].tolist() == durations and out["feat_gen"].shape[0] == 7
    with pytest.raises(ValueError, match=r"durations: need 4 whole frame counts \(T_text \+ 1"):
        fast("abc", emo_labs="sad", durations=[2, 0, 1])


def test_pitch_and_energy_controls_change_only_what_they_control(fs2):
    base = fs2("ab ba", emo_labs="happy")
    flat = fs2("ab ba", emo_labs="happy", decode_conf={"pitch_scale": 0.0})
    assert torch.equal(flat["duration"], base["duration"])  # durations are predicted before pitch
    assert torch.allclose(flat["pitch"], base["pitch"].mean().expand_as(base["pitch"]), atol=1e-6)
    assert torch.equal(flat["energy"], base["energy"])
    loud = fs2("ab ba", emo_labs="happy", decode_conf={"energy_scale": 2.0})
    assert torch.allclose(loud["energy_denorm"], 2.0 * base["energy_denorm"], atol=1e-5)
    up = fs2("ab ba", emo_labs="happy", decode_conf={"pitch_shift_cents": 1200.0})
    assert not torch.equal(up["feat_gen"], base["feat_gen"])
    assert torch.allclose(
        up["pitch"] - base["pitch"], torch.full_like(base["pitch"], float(torch.log(torch.tensor(2.0)))), atol=1e-5
    )


def test_pitch_and_energy_overrides_are_used(fs2):
    base = fs2("ab", emo_labs="happy")
    pitch = [220.0, 0.0, 110.0]
    out = fs2("ab", emo_labs="happy", pitch=pitch, energy=[1.0, 0.5, 0.0])
    assert out["pitch_denorm"] == pytest.approx(torch.tensor(pitch), rel=1e-4)
    assert out["energy_denorm"].tolist() == pytest.approx([1.0, 0.5, 0.0], abs=1e-6)
    assert not torch.equal(out["feat_gen"], base["feat_gen"])
    with pytest.raises(ValueError, match=r"pitch: need 3 values \(T_text \+ 1"):
        fs2("ab", emo_labs="happy", pitch=[220.0, 0.0])


def test_tacotron2_options_are_ignored_by_duration_models_with_a_warning(exps, fs2, caplog):
    with caplog.at_level(logging.WARNING, logger="espkit.tts.text2speech"):
        tts = _tts(exps, "fastspeech2", maxlenratio=1.5, threshold=0.9)
    assert "fastspeech2 is a duration model (no stop token, no attention): threshold=0.9, maxlenratio=1.5 ignored" in (
        caplog.text
    )
    assert "threshold" not in tts.decode_conf and tts.decode_conf["alpha"] == 1.0
    out = tts("ab ba", emo_labs="happy", decode_conf={"minlenratio": 5.0})
    assert torch.equal(out["feat_gen"], fs2("ab ba", emo_labs="happy")["feat_gen"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="espkit.tts.text2speech"):
        _tts(exps, "fastspeech2")
    assert "ignored" not in caplog.text  # the defaults are no request
