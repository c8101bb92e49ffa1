"""ESPnetTTSModel with a duration model: teacher durations, token-averaged normalised pitch/energy,
statistics at token level and the inference-time prosody options (with a recording stand-in model)."""

import math

import numpy as np
import pytest
import torch

from espkit.layers.global_mvn import GlobalMVN
from espkit.train.collect_stats import collect_stats
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.espnet_model import ESPnetTTSModel
from espkit.tts.feats_extract.energy import Energy
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.pitch import Pitch

FS, N_FFT, HOP = 8000, 256, 64
PITCH_MEAN, PITCH_STD = 5.0, 0.5
ENERGY_MEAN, ENERGY_STD = 2.0, 4.0


class DurationStandIn(AbsTTS):
    """Records what it is given; inference echoes the given durations/pitch/energy."""

    def __init__(self, odim: int = 8, pitch_energy: bool = True, duration_control: bool = True):
        super().__init__()
        self.odim = odim
        self.pitch_energy = pitch_energy
        self.duration_control = duration_control
        self.weight = torch.nn.Parameter(torch.ones(()))
        self.calls = []

    @property
    def needs_durations(self) -> bool:
        return self.duration_control

    @property
    def needs_pitch_energy(self) -> bool:
        return self.pitch_energy

    @property
    def supports_prosody_control(self) -> bool:
        return self.duration_control

    def forward(self, text, text_lengths, feats, feats_lengths, **kwargs):
        self.calls.append(kwargs)
        loss = self.weight * feats.abs().mean()
        return loss, {"loss": loss.detach()}, torch.tensor(float(text.size(0)))

    def inference(self, text, **kwargs):
        self.calls.append(kwargs)
        durations = kwargs.get("durations", torch.full((text.numel() + 1,), 2, dtype=torch.long))
        out = {"feat_gen": torch.zeros(int(durations.sum()), self.odim), "duration": durations}
        if self.pitch_energy:
            out["pitch"] = kwargs.get("pitch", torch.zeros(text.numel() + 1, 1))
            out["energy"] = kwargs.get("energy", torch.zeros(text.numel() + 1, 1))
        return out


def stats_file(path, mean, std):
    count = 10
    np.savez(
        path, count=np.array(count), sum=np.array([mean * count]), sum_square=np.array([(std**2 + mean**2) * count])
    )
    return path


def build(tmp_path, tts=None, token_averaged=True, use_log_f0=True, normalise=True):
    tts = DurationStandIn() if tts is None else tts
    pitch = Pitch(fs=FS, n_fft=N_FFT, hop_length=HOP, use_token_averaged_f0=token_averaged, use_log_f0=use_log_f0)
    energy = Energy(fs=FS, n_fft=N_FFT, hop_length=HOP, use_token_averaged_energy=token_averaged)
    return ESPnetTTSModel(
        feats_extract=LogMelFbank(fs=FS, n_fft=N_FFT, hop_length=HOP, n_mels=8, fmin=0, fmax=4000),
        pitch_extract=pitch,
        energy_extract=energy,
        normalize=None,
        pitch_normalize=GlobalMVN(stats_file(tmp_path / "p.npz", PITCH_MEAN, PITCH_STD)) if normalise else None,
        energy_normalize=GlobalMVN(stats_file(tmp_path / "e.npz", ENERGY_MEAN, ENERGY_STD)) if normalise else None,
        emo_extract=None,
        emo_classifier=None,
        tts=tts,
        emo_source="none",
    )


def sine(num_samples, f0):
    t = torch.arange(num_samples) / FS
    return 0.3 * torch.sin(2 * math.pi * f0 * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t))


def batch():
    speech = torch.zeros(2, 1600)
    speech[0] = sine(1600, 200.0)
    speech[1, :1280] = sine(1280, 150.0)
    return {
        "text": torch.tensor([[3, 4, 5], [4, 5, 0]]),
        "text_lengths": torch.tensor([3, 2]),
        "speech": speech,
        "speech_lengths": torch.tensor([1600, 1280]),  # 26 and 21 frames
        "durations": torch.tensor([[5, 8, 7, 6], [10, 6, 5, 0]]),
        "durations_lengths": torch.tensor([4, 3]),
    }


def expected_token_prosody(data):
    """Frame pitch/energy by the extractors (no durations), averaged by hand per token, un-normalised."""
    pitch = Pitch(fs=FS, n_fft=N_FFT, hop_length=HOP)
    energy = Energy(fs=FS, n_fft=N_FFT, hop_length=HOP)
    frames = torch.tensor([26, 21])
    f0 = pitch(data["speech"], data["speech_lengths"], feats_lengths=frames)[0][..., 0]
    en = energy(data["speech"], data["speech_lengths"], feats_lengths=frames)[0][..., 0]
    pitch_out, energy_out = torch.zeros(2, 4), torch.zeros(2, 4)
    for b in range(2):
        start = 0
        for n, d in enumerate(data["durations"][b].tolist()):
            seg_f0, seg_en = f0[b, start : start + d], en[b, start : start + d]
            voiced = seg_f0[seg_f0 != 0]
            pitch_out[b, n] = voiced.mean() if voiced.numel() else 0.0
            energy_out[b, n] = seg_en.mean() if d else 0.0
            start += d
    return pitch_out, energy_out


def test_forward_passes_durations_and_token_averaged_normalised_prosody(tmp_path):
    model = build(tmp_path)
    data = batch()
    loss, _, _ = model(**data)
    loss.backward()
    got = model.tts.calls[-1]
    assert torch.equal(got["durations"], data["durations"]) and got["durations_lengths"].tolist() == [4, 3]
    assert got["pitch"].shape == got["energy"].shape == (2, 4, 1)
    assert got["pitch_lengths"].tolist() == got["energy_lengths"].tolist() == [4, 3]
    pitch, energy = expected_token_prosody(data)
    assert pitch[0, :3].exp().sub(200).abs().max() < 10 and pitch[1, :2].exp().sub(150).abs().max() < 10
    valid = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    want_pitch = torch.where(valid, (pitch - PITCH_MEAN) / PITCH_STD, torch.zeros(()))
    want_energy = torch.where(valid, (energy - ENERGY_MEAN) / ENERGY_STD, torch.zeros(()))
    assert torch.allclose(got["pitch"][..., 0], want_pitch, atol=1e-4)
    assert torch.allclose(got["energy"][..., 0], want_energy, atol=1e-4)


def test_forward_without_durations_names_the_fix(tmp_path):
    model = build(tmp_path)
    data = batch()
    del data["durations"], data["durations_lengths"]
    with pytest.raises(ValueError, match=r"durations,durations,text_int.*tts.sh --teacher_dumpdir"):
        model(**data)


def test_durations_must_cover_the_tokens_and_sos_eos(tmp_path):
    model = build(tmp_path)
    data = batch()
    data["durations_lengths"] = torch.tensor([4, 2])
    with pytest.raises(ValueError, match="row 1 has 2 durations for 2 tokens.*<sos/eos>"):
        model(**data)


def test_a_pitch_model_needs_token_averaging_extractors(tmp_path):
    with pytest.raises(ValueError, match="use_token_averaged_f0=true"):
        build(tmp_path, token_averaged=False)
    build(tmp_path, tts=DurationStandIn(pitch_energy=False), token_averaged=False)  # FastSpeech needs none


def test_statistics_are_token_level_with_durations(tmp_path):
    model = build(tmp_path)
    data = batch()
    feats = model.collect_feats(**data)
    assert feats["pitch"].shape == (2, 4, 1) and feats["pitch_lengths"].tolist() == [4, 3]
    assert feats["feats"].shape[:2] == (2, 26)
    collect_stats(model, [("train", [(["a", "b"], data)])], tmp_path / "stats")
    with np.load(tmp_path / "stats" / "train" / "pitch_stats.npz") as stats:
        assert int(stats["count"]) == 7  # tokens, not frames
        pitch, _ = expected_token_prosody(data)
        assert np.isclose(float(stats["sum"][0]), float(pitch.sum()), rtol=1e-5)
    with np.load(tmp_path / "stats" / "train" / "feats_stats.npz") as stats:
        assert int(stats["count"]) == 26 + 21
    without = model.collect_feats(**{k: v for k, v in data.items() if not k.startswith("durations")})
    assert without["pitch"].shape == (2, 26, 1)  # no durations: frame level, as before


def test_inference_maps_user_controls_to_the_normalised_domain(tmp_path):
    model = build(tmp_path).eval()
    out = model.inference(
        torch.tensor([3, 4, 5]), alpha=1.5, pitch_scale=0.5, pitch_shift_cents=1200.0, energy_scale=2.0
    )
    got = model.tts.calls[-1]
    assert got["alpha"] == 1.5 and got["pitch_scale"] == 0.5 and got["energy_scale"] == 2.0
    assert math.isclose(got["pitch_shift"], math.log(2.0) / PITCH_STD)  # an octave in log-F0, over std
    assert math.isclose(got["energy_shift"], (2.0 - 1.0) * ENERGY_MEAN / ENERGY_STD)
    assert out["pitch_denorm"].shape == out["energy_denorm"].shape == (4,)


def test_user_overrides_are_normalised_and_come_back_in_hz(tmp_path):
    model = build(tmp_path).eval()
    hz = torch.tensor([100.0, 200.0, 0.0, 150.0])
    energy = torch.tensor([1.0, 2.0, 3.0, 0.0])
    out = model.inference(torch.tensor([3, 4, 5]), durations=[2, 3, 4, 1], pitch=hz, energy=energy)
    got = model.tts.calls[-1]
    assert got["durations"].dtype == torch.long and got["durations"].tolist() == [2, 3, 4, 1]
    log_f0 = torch.tensor([math.log(100.0), math.log(200.0), 0.0, math.log(150.0)])
    assert torch.allclose(got["pitch"][:, 0], (log_f0 - PITCH_MEAN) / PITCH_STD)
    assert torch.allclose(got["energy"][:, 0], (energy - ENERGY_MEAN) / ENERGY_STD)
    assert torch.allclose(out["pitch_denorm"], hz, atol=1e-3)  # unvoiced stays 0
    assert torch.allclose(out["energy_denorm"], energy, atol=1e-5)
    assert out["feat_gen"].shape == (10, 8)
    with pytest.raises(ValueError, match="durations: need 4 whole frame counts"):
        model.inference(torch.tensor([3, 4, 5]), durations=[2, 3, 4])
    with pytest.raises(ValueError, match="pitch: need 4 values"):
        model.inference(torch.tensor([3, 4, 5]), pitch=hz[:3])


def test_teacher_forcing_takes_the_data_durations_and_reference_prosody(tmp_path):
    model = build(tmp_path).eval()
    data = batch()
    speech, durations = data["speech"][0], data["durations"][0]
    with pytest.raises(ValueError, match="needs the token durations"):
        model.inference(torch.tensor([3, 4, 5]), speech=speech, use_teacher_forcing=True)
    model.inference(torch.tensor([3, 4, 5]), speech=speech, durations=durations, use_teacher_forcing=True)
    got = model.tts.calls[-1]
    assert got["use_teacher_forcing"] and got["feats"].shape == (26, 8)
    model(**data)
    trained = model.tts.calls[-1]
    assert torch.allclose(got["pitch"], trained["pitch"][0], atol=1e-5)
    assert torch.allclose(got["energy"], trained["energy"][0], atol=1e-5)


def test_controls_a_model_cannot_honour_are_refused(tmp_path):
    plain = build(tmp_path, tts=DurationStandIn(pitch_energy=False, duration_control=False), token_averaged=False)
    with pytest.raises(ValueError, match="alpha needs a model with duration control"):
        plain.inference(torch.tensor([3, 4]), alpha=1.2)
    plain.inference(torch.tensor([3, 4]), durations=[1, 1, 1])  # ignored, as Tacotron2 always did
    assert "durations" not in plain.tts.calls[-1]
    fastspeech = build(tmp_path, tts=DurationStandIn(pitch_energy=False), token_averaged=False)
    with pytest.raises(ValueError, match="pitch_shift_cents needs a model with a pitch and energy predictor"):
        fastspeech.inference(torch.tensor([3, 4]), pitch_shift_cents=100.0)
    linear = build(tmp_path, use_log_f0=False)
    with pytest.raises(ValueError, match="use_log_f0: true"):
        linear.inference(torch.tensor([3, 4]), pitch_shift_cents=100.0)
    out = build(tmp_path, normalise=False).inference(torch.tensor([3, 4]), energy_scale=3.0)
    assert out["energy_denorm"].shape == (3,)
