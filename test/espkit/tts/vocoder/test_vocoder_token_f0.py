"""A duration model's token pitch as the F0 of a vocoder driven by F0: the frame mapping by hand,
its errors, and through Text2Speech (pitch shift in cents reaches the synthesised F0)."""

import math

import pytest
import torch
from tiny_fastspeech import make_tiny_fastspeech
from tiny_vocoder import HOP, make_tiny_vocoder

from espkit.tts.text2speech import Text2Speech
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.tts.vocoder.gan_vocoder import load_gan_vocoder
from espkit.tts.vocoder.token_f0 import frame_f0_from_token_pitch


def test_token_levels_scale_the_predicted_contour():
    predicted = torch.tensor([0.0, 100.0, 200.0, 0.0, 100.0, 400.0, 150.0, 150.0])
    token_f0 = torch.tensor([300.0, 0.0, 400.0, 120.0])
    durations = torch.tensor([2, 2, 2, 2])
    out = frame_f0_from_token_pitch(predicted, token_f0, durations)
    # token 0: its one voiced frame takes the token's F0; token 1 is unvoiced to FastSpeech2: kept;
    # token 2: 100 and 400 Hz (geometric mean 200) both doubled; token 3: 150 -> 120
    expected = torch.tensor([0.0, 300.0, 200.0, 0.0, 200.0, 800.0, 120.0, 120.0])
    assert torch.allclose(out, expected, rtol=1e-6)
    # a reduction factor: durations count steps of 2 frames
    out_r = frame_f0_from_token_pitch(predicted, token_f0, torch.tensor([1, 1, 1, 1]))
    assert torch.allclose(out_r, expected, rtol=1e-6)
    # a voiced token whose frames are all unvoiced to the predictor stays unvoiced
    silent = frame_f0_from_token_pitch(torch.zeros(4), torch.tensor([220.0, 220.0]), torch.tensor([2, 2]))
    assert torch.equal(silent, torch.zeros(4))


@pytest.mark.parametrize(
    "predicted, token_f0, durations, message",
    [
        (torch.ones(5), torch.ones(2), torch.tensor([2, 2]), "durations sum to 4, which does not tile 5 frames"),
        (torch.ones(4), torch.ones(3), torch.tensor([2, 2]), "token_f0 has 3 tokens, durations 2"),
        (torch.ones(4), torch.ones(2), torch.tensor([5, -1]), "durations must be >= 0"),
        (torch.ones(4, 1), torch.ones(2), torch.tensor([2, 2]), "must be 1-D"),
    ],
)
def test_bad_shapes_are_errors(predicted, token_f0, durations, message):
    with pytest.raises(ValueError, match=message):
        frame_f0_from_token_pitch(predicted, token_f0, durations)


class SineVocoder(AbsVocoder):
    """A vocoder driven by F0: a phase-continuous sine at the frame F0 (its own "prediction": 150 Hz)."""

    requires_f0 = True

    def __init__(self):
        super().__init__()
        self.calls = []

    @property
    def fs(self) -> int:
        return 8000

    def predict_f0(self, feats):
        return torch.full((feats.size(0),), 150.0)

    def forward(self, feats, f0=None):
        self.calls.append(f0)
        f0 = self.predict_f0(feats) if f0 is None else f0
        phase = torch.cumsum(torch.repeat_interleave(f0.double(), HOP) / self.fs, 0)
        return torch.sin(2 * math.pi * phase).float()


def _mean_f0(wav: torch.Tensor, fs: int) -> float:
    crossings = int(((wav[:-1] < 0) & (wav[1:] >= 0)).sum())
    return crossings * fs / wav.numel()


@pytest.fixture(scope="module")
def fs2_voiced(tmp_path_factory):
    """A tiny FastSpeech2 whose pitch predictor says 150 Hz for every token (weights set by hand)."""
    exp = make_tiny_fastspeech(tmp_path_factory.mktemp("token_f0") / "fs2", "fastspeech2")
    tts = Text2Speech(exp["config"], exp["model"], vocoder=SineVocoder())
    linear = tts.model.tts.pitch_predictor.linear
    with torch.no_grad():  # the model is trained on log F0 without normalisation
        linear.weight.zero_()
        linear.bias.fill_(math.log(150.0))
    return exp, tts


def test_fastspeech2_pitch_shift_reaches_the_waveform(fs2_voiced):
    _, tts = fs2_voiced
    base = tts("ab ba ab", emo_labs="happy", decode_conf={"alpha": 4.0})
    up = tts("ab ba ab", emo_labs="happy", decode_conf={"alpha": 4.0, "pitch_shift_cents": 600.0})
    assert base["pitch_denorm"] == pytest.approx(torch.full_like(base["pitch_denorm"], 150.0), rel=1e-4)
    f0_base, f0_up = tts.vocoder.calls[-2], tts.vocoder.calls[-1]
    assert f0_base is not None and torch.allclose(f0_up / f0_base, torch.full_like(f0_base, 2**0.5), rtol=1e-4)
    ratio = _mean_f0(up["wav"], 8000) / _mean_f0(base["wav"], 8000)
    assert ratio == pytest.approx(2**0.5, rel=0.1)  # the synthesised F0 moved by the asked 600 cents


def test_vocoder_f0_vocoder_leaves_the_vocoder_its_own_f0(fs2_voiced):
    exp, _ = fs2_voiced
    tts = Text2Speech(exp["config"], exp["model"], vocoder=SineVocoder(), vocoder_f0="vocoder")
    tts("ab", emo_labs="happy", decode_conf={"pitch_shift_cents": 600.0})
    assert tts.vocoder.calls == [None]
    with pytest.raises(ValueError, match="vocoder_f0 must be 'model' or 'vocoder', got 'pitch'"):
        Text2Speech(exp["config"], exp["model"], vocoder_f0="pitch")


def test_nsf_vocoder_takes_a_given_f0_and_predicts_one(tmp_path):
    _, weights = make_tiny_vocoder(
        tmp_path / "nsf",
        "nsf",
        generator_conf="{channels: 8, intermediate_channels: 8, num_blocks: 1, n_fft: 256, num_harmonics: 4,"
        " f0_predictor_channels: 8}",
    )
    vocoder = load_gan_vocoder(weights)
    feats = torch.randn(12, 8) - 2.0
    predicted = vocoder.predict_f0(feats)
    assert vocoder.requires_f0 and predicted.shape == (12,) and bool((predicted >= 0).all())
    low = vocoder(feats, f0=torch.full((12,), 100.0))
    high = vocoder(feats, f0=torch.full((12,), 200.0))
    assert low.shape == high.shape == (12 * HOP,) and not torch.equal(low, high)
    with pytest.raises(ValueError, match="f0 has 11 frames, feats 12"):
        vocoder(feats, f0=torch.full((11,), 100.0))
