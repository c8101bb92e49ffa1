"""ESPnetGANVocoderModel: segments, the two turns, F0, inference (toy generator and discriminator)."""

import math
from typing import Dict, Optional

import numpy as np
import pytest
import torch
from torch import nn

from espkit.evaluate.f0_metrics import YIN_THRESHOLD, YIN_TROUGH_MARGIN
from espkit.gan_tts.espnet_model import FEATS_PARAM_KEYS, ESPnetGANVocoderModel
from espkit.layers.global_mvn import GlobalMVN
from espkit.tts.feats_extract.fbank import LogMelFbank

FS, HOP, N_MELS = 8000, 64, 8
SEGMENT = 16 * HOP


class ToyGenerator(nn.Module):
    """Frames -> samples by a 1x1 conv and repetition; remembers what it was given."""

    requires_f0 = False

    def __init__(self, in_channels: int = N_MELS, upsample_factor: int = HOP):
        super().__init__()
        self.upsample_factor = upsample_factor
        self.proj = nn.Conv1d(in_channels, 1, 1)
        self.seen: Dict[str, Optional[torch.Tensor]] = {}

    def forward(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        self.seen = {"c": c.detach().clone(), "f0": None if f0 is None else f0.detach().clone()}
        return torch.tanh(self.proj(c)).repeat_interleave(self.upsample_factor, dim=2)

    def inference(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.forward(c.transpose(0, 1).unsqueeze(0), None if f0 is None else f0.reshape(1, 1, -1))[0].T


class ToyF0Generator(ToyGenerator):
    requires_f0 = True

    def auxiliary_losses(
        self, c: torch.Tensor, f0: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        self.aux_seen = (c.detach().clone(), f0.detach().clone(), lengths)
        return {"f0_loss": self.proj.weight.abs().sum() * 0 + 0.5, "f0_vuv_loss": c.new_tensor(0.25)}


class ToyDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 2, 5, stride=4, padding=2)
        self.conv2 = nn.Conv1d(2, 1, 3, padding=1)

    def forward(self, x: torch.Tensor):
        hidden = torch.nn.functional.leaky_relu(self.conv1(x), 0.1)
        return [[hidden, self.conv2(hidden)]]


def fbank() -> LogMelFbank:
    return LogMelFbank(fs=FS, n_fft=256, hop_length=HOP, n_mels=N_MELS, fmin=0, fmax=4000)


def make_model(generator=None, **kwargs) -> ESPnetGANVocoderModel:
    kwargs.setdefault("segment_size", SEGMENT)
    return ESPnetGANVocoderModel(
        feats_extract=fbank(),
        normalize=kwargs.pop("normalize", None),
        generator=generator or ToyGenerator(),
        discriminator=ToyDiscriminator(),
        **kwargs,
    )


def ramp_batch(lengths):
    """Speech whose sample ``i`` of utterance ``b`` is ``b + i / 10^5`` (its position is readable)."""
    speech = torch.zeros(len(lengths), max(lengths))
    for b, length in enumerate(lengths):
        speech[b, :length] = b + 1 + torch.arange(length) / 1e5
    return speech, torch.tensor(lengths)


def start_samples(wav: torch.Tensor) -> torch.Tensor:
    """The start sample of each segment of a :func:`ramp_batch`."""
    first = wav[:, 0, 0].double()
    return torch.round((first - torch.floor(first)) * 1e5).long()


def test_segments_are_hop_aligned_and_cut_features_and_waveform_alike():
    model = make_model()
    speech, lengths = ramp_batch([5000, 3 * SEGMENT, SEGMENT])
    torch.manual_seed(0)
    wav, c, f0, num_padded = model.make_segments(speech, lengths)
    assert wav.shape == (3, 1, SEGMENT) and c.shape == (3, N_MELS, SEGMENT // HOP) and f0 is None
    assert num_padded == 0
    feats, _ = model.feats_extract(speech, lengths)  # the whole utterances' features
    for b, start in enumerate(start_samples(wav).tolist()):
        assert start % HOP == 0 and 0 <= start <= lengths[b] - SEGMENT
        assert torch.equal(wav[b, 0], speech[b, start : start + SEGMENT])
        frame = start // HOP
        torch.testing.assert_close(c[b], feats[b, frame : frame + SEGMENT // HOP].T)
    assert start_samples(wav)[2] == 0  # exactly one segment long: the only window


def test_segments_are_drawn_from_torch_rng_and_fixed_in_eval_mode():
    model = make_model()
    speech, lengths = ramp_batch([6000, 7000, 8000, 9000])
    starts = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        starts.append(start_samples(model.make_segments(speech, lengths)[0]).tolist())
    assert starts[0] == starts[1] != starts[2]
    model.eval()
    centres = [start_samples(model.make_segments(speech, lengths)[0]).tolist() for _ in range(2)]
    assert centres[0] == centres[1] == [((n - SEGMENT) // HOP // 2) * HOP for n in lengths.tolist()]


def test_a_short_utterance_is_zero_padded_and_counted():
    model = make_model()
    speech, lengths = ramp_batch([3 * SEGMENT, SEGMENT // 2 + 5])
    wav, c, _, num_padded = model.make_segments(speech, lengths)
    assert num_padded == 1
    short = lengths[1].item()
    assert torch.equal(wav[1, 0, :short], speech[1, :short]) and torch.all(wav[1, 0, short:] == 0)
    # what lies past an utterance's length in the batch is not taken for its padding
    noisy = speech.clone()
    noisy[1, short:] = 1.0
    wav_noisy, c_noisy, _, _ = model.make_segments(noisy, lengths)
    assert torch.equal(wav_noisy[1], wav[1]) and torch.equal(c_noisy[1], c[1])
    # its features are those of the zero-padded waveform (silence where the target is silent)
    padded = torch.nn.functional.pad(speech[1:, :short], (0, SEGMENT - short))
    feats, _ = model.feats_extract(padded, torch.tensor([SEGMENT]))
    torch.testing.assert_close(c[1], feats[0, : SEGMENT // HOP].T)
    # the whole batch shorter than a segment
    out = model(forward_generator=True, speech=speech[1:, :short], speech_lengths=lengths[1:])
    assert out["stats"]["padded_segments"] == 1.0


def test_generator_turn_keys_weights_and_gradients():
    torch.manual_seed(0)
    model = make_model(lambda_mel=2.0, lambda_adv=3.0, lambda_feat_match=5.0)
    speech, lengths = 0.1 * torch.randn(2, 4000), torch.tensor([4000, 3000])
    out = model(forward_generator=True, speech=speech, speech_lengths=lengths)
    assert out["optim_idx"] == 0 and int(out["weight"]) == 2
    stats = out["stats"]
    assert set(stats) == {
        "generator_loss",
        "generator_mel_loss",
        "generator_adv_loss",
        "generator_feat_match_loss",
        "padded_segments",
    }
    expected = 2.0 * stats["generator_mel_loss"] + 3.0 * stats["generator_adv_loss"]
    expected = expected + 5.0 * stats["generator_feat_match_loss"]
    torch.testing.assert_close(out["loss"].detach(), expected)
    torch.testing.assert_close(stats["generator_loss"], expected)
    out["loss"].backward()
    assert model.generator.proj.weight.grad is not None


def test_adversarial_false_drops_the_adversarial_terms():
    torch.manual_seed(0)
    model = make_model(lambda_mel=2.0)
    speech, lengths = 0.1 * torch.randn(2, 4000), torch.tensor([4000, 4000])
    out = model(forward_generator=True, adversarial=False, speech=speech, speech_lengths=lengths)
    assert "generator_adv_loss" not in out["stats"] and "generator_feat_match_loss" not in out["stats"]
    torch.testing.assert_close(out["loss"].detach(), 2.0 * out["stats"]["generator_mel_loss"])
    out["loss"].backward()
    assert all(p.grad is None for p in model.discriminator.parameters())


def test_discriminator_turn_keys_and_no_generator_gradient():
    torch.manual_seed(0)
    model = make_model()
    speech, lengths = 0.1 * torch.randn(2, 4000), torch.tensor([4000, 4000])
    out = model(forward_generator=False, speech=speech, speech_lengths=lengths)
    assert out["optim_idx"] == 1 and int(out["weight"]) == 2
    stats = out["stats"]
    assert set(stats) == {"discriminator_loss", "discriminator_real_loss", "discriminator_fake_loss", "padded_segments"}
    torch.testing.assert_close(
        stats["discriminator_loss"], stats["discriminator_real_loss"] + stats["discriminator_fake_loss"]
    )
    out["loss"].backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())


def test_stft_loss_is_added_when_weighted():
    torch.manual_seed(0)
    model = make_model(
        lambda_stft=0.5,
        stft_loss_params={"fft_sizes": [128, 256], "hop_sizes": [32, 64], "win_lengths": [128, 256]},
    )
    speech, lengths = 0.1 * torch.randn(1, 4000), torch.tensor([4000])
    out = model(forward_generator=True, adversarial=False, speech=speech, speech_lengths=lengths)
    stats = out["stats"]
    expected = 45.0 * stats["generator_mel_loss"] + 0.5 * (stats["generator_sc_loss"] + stats["generator_mag_loss"])
    torch.testing.assert_close(out["loss"].detach(), expected)


def sine_batch(f0_hz: float = 200.0, num_samples: int = 4000):
    t = torch.arange(num_samples) / FS
    speech = 0.5 * torch.sin(2 * math.pi * f0_hz * t)
    return torch.stack([speech, speech]), torch.tensor([num_samples, num_samples])


def test_f0_generator_gets_raw_hz_from_the_evaluation_tracker_and_its_auxiliary_losses_count():
    model = make_model(ToyF0Generator(), lambda_mel=1.0, lambda_aux=2.0)
    pitch = model.pitch_extract
    assert pitch.yin_threshold == YIN_THRESHOLD and pitch.yin_trough_margin == YIN_TROUGH_MARGIN
    assert not pitch.use_log_f0 and not pitch.use_continuous_f0 and pitch.hop_length == HOP
    speech, lengths = sine_batch()
    model.eval()  # centre segments: all frames voiced
    out = model(forward_generator=True, adversarial=False, speech=speech, speech_lengths=lengths)
    f0 = model.generator.seen["f0"]
    assert f0.shape == (2, 1, SEGMENT // HOP)
    assert torch.all((f0 - 200.0).abs() < 5.0)
    stats = out["stats"]
    assert stats["generator_f0_loss"] == 0.5 and stats["generator_f0_vuv_loss"] == 0.25
    torch.testing.assert_close(out["loss"].detach(), stats["generator_mel_loss"] + 2.0 * 0.75)


def test_given_pitch_is_used_instead_of_tracking(monkeypatch):
    model = make_model(ToyF0Generator())
    speech, lengths = sine_batch()
    n_frames = 4000 // HOP + 1
    pitch = torch.arange(n_frames, dtype=torch.float32).reshape(1, n_frames, 1).repeat(2, 1, 1)

    def no_tracking(*args, **kwargs):
        raise AssertionError("the pitch extractor ran although the batch has pitch")

    monkeypatch.setattr(model.pitch_extract, "forward", no_tracking)
    torch.manual_seed(0)
    wav, _, f0, _ = model.make_segments(speech, lengths, pitch=pitch)
    torch.manual_seed(0)
    model(forward_generator=False, speech=speech, speech_lengths=lengths, pitch=pitch)
    seen = model.generator.seen["f0"]
    torch.testing.assert_close(seen, f0)
    first_frame = f0[:, 0, 0].long()
    assert torch.equal(f0[:, 0], first_frame[:, None] + torch.arange(SEGMENT // HOP))


def test_generators_without_f0_get_none_and_no_tracker():
    model = make_model()
    assert model.pitch_extract is None
    speech, lengths = sine_batch()
    model(forward_generator=True, speech=speech, speech_lengths=lengths)
    assert model.generator.seen["f0"] is None


def test_non_finite_loss_is_returned_as_is():
    model = make_model()
    with torch.no_grad():
        model.generator.proj.bias.fill_(float("nan"))
    speech, lengths = 0.1 * torch.randn(1, 4000), torch.tensor([4000])
    out = model(forward_generator=True, speech=speech, speech_lengths=lengths)
    assert not torch.isfinite(out["loss"])


def write_stats(path, mean, std, count=100):
    np.savez(path, count=np.asarray(count), sum=mean * count, sum_square=(std**2 + mean**2) * count)
    return path


def test_inference_length_and_normalisation(tmp_path):
    mean, std = np.linspace(-3, -1, N_MELS), np.linspace(0.5, 2, N_MELS)
    normalize = GlobalMVN(write_stats(tmp_path / "feats_stats.npz", mean, std))
    model = make_model(normalize=normalize)
    feats = torch.randn(23, N_MELS)
    wav = model.inference(feats)["wav"]
    assert wav.shape == (23 * HOP,)
    expected = (feats - torch.tensor(mean, dtype=torch.float32)) / torch.tensor(std, dtype=torch.float32)
    torch.testing.assert_close(model.generator.seen["c"][0].T, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="T_feats, n_mels"):
        model.inference(feats[None])


def test_inference_passes_f0_only_to_generators_that_take_it():
    model = make_model(ToyF0Generator())
    model.inference(torch.randn(5, N_MELS), f0=torch.full((5,), 120.0))
    assert model.generator.seen["f0"].shape == (1, 1, 5)
    model = make_model()
    model.inference(torch.randn(5, N_MELS), f0=torch.full((5,), 120.0))
    assert model.generator.seen["f0"] is None


def test_feats_params_and_collect_feats():
    model = make_model()
    params = model.feats_params()
    assert tuple(params) == FEATS_PARAM_KEYS
    assert params["fs"] == FS and params["hop_length"] == HOP and params["n_mels"] == N_MELS
    assert params["fmin"] == 0 and params["fmax"] == 4000 and params["n_fft"] == 256
    speech, lengths = sine_batch()
    out = model.collect_feats(speech=speech, speech_lengths=lengths)
    assert out["feats"].shape == (2, 4000 // HOP + 1, N_MELS) and out["feats_lengths"].tolist() == [63, 63]


def test_mel_loss_takes_the_feature_settings_unless_overridden():
    model = make_model()
    assert model.mel_loss.wav_to_mel.get_parameters()["fmax"] == 4000
    model = make_model(mel_loss_params={"fmax": None})
    assert model.mel_loss.wav_to_mel.get_parameters()["fmax"] == FS / 2


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="multiple of the features' hop_length 64"):
        make_model(segment_size=1000)
    with pytest.raises(ValueError, match="makes 128 samples per frame but the features' hop_length is 64"):
        make_model(ToyGenerator(upsample_factor=128))


def test_given_feats_replace_the_speech_features(tmp_path):
    mean, std = np.linspace(-3, -1, N_MELS), np.linspace(0.5, 2, N_MELS)
    model = make_model(normalize=GlobalMVN(write_stats(tmp_path / "feats_stats.npz", mean, std)))
    model.eval()
    speech, lengths = 0.1 * torch.randn(2, 4000), torch.tensor([4000, 700])  # the second is short
    frames = (lengths // HOP + 1).tolist()  # 63 and 11
    feats = torch.zeros(2, 63, N_MELS)
    feats[0] = torch.arange(63, dtype=torch.float32)[:, None] + torch.arange(N_MELS)[None]
    feats[1, :11] = -100.0
    wav, c, _, num_padded = model.make_segments(speech, lengths, feats=feats, feats_lengths=torch.tensor(frames))
    assert num_padded == 1
    denorm = c.transpose(1, 2) * torch.tensor(std, dtype=torch.float32) + torch.tensor(mean, dtype=torch.float32)
    start = (4000 - SEGMENT) // HOP // 2
    torch.testing.assert_close(denorm[0], feats[0, start : start + SEGMENT // HOP], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(denorm[1, :11], feats[1, :11], rtol=1e-4, atol=1e-3)
    silence, _ = model.feats_extract(torch.zeros(1, SEGMENT), torch.tensor([SEGMENT]))
    torch.testing.assert_close(denorm[1, 13:], silence[0, 13 : SEGMENT // HOP], rtol=1e-4, atol=1e-3)
    with pytest.raises(
        ValueError, match=r"with \[62, 11\] frames do not fit speech's \[63, 17\] frames of 8 \(rows \[0\]\)"
    ):
        model.make_segments(speech, lengths, feats=feats, feats_lengths=torch.tensor([62, 11]))
    with pytest.raises(ValueError, match="feats but no feats_lengths"):
        model(forward_generator=True, speech=speech, speech_lengths=lengths, feats=feats)


@pytest.mark.parametrize("training", [True, False])
def test_segment_features_and_f0_equal_the_whole_utterance_path(training):
    """The fast path (segment + context; F0 of the segment's frames only) against the reference path
    (features of the whole utterance; F0 tracked over the whole utterance), incl. segments at both
    ends of an utterance and a short, zero-padded one."""
    torch.manual_seed(0)
    lengths = torch.tensor([SEGMENT, SEGMENT + 3 * HOP + 5, 5 * SEGMENT + 17, SEGMENT // 2])
    t = torch.arange(int(lengths.max())) / FS
    speech = torch.zeros(len(lengths), int(lengths.max()))
    for b, length in enumerate(lengths.tolist()):
        tone = 0.5 * torch.sin(2 * math.pi * (120 + 40 * b) * t[:length]) + 0.05 * torch.randn(length)
        speech[b, :length] = tone * torch.linspace(0.2, 1.0, length)
    model = make_model(ToyF0Generator())
    model.train(training)
    assert model.context_samples == 2 * HOP  # n_fft 256 / 2, in hops
    segments = {}
    for whole in (False, True):
        model.whole_utterance_features = whole
        torch.manual_seed(3)
        segments[whole] = model.make_segments(speech, lengths)
    (wav, c, f0, num_padded), (wav_ref, c_ref, _, num_padded_ref) = segments[False], segments[True]
    assert num_padded == num_padded_ref == 1
    torch.testing.assert_close(wav, wav_ref, rtol=0, atol=0)
    torch.testing.assert_close(c, c_ref, rtol=1e-5, atol=1e-5)
    # F0 of the whole (zero-padded to the segment size) utterances at each segment's frames
    padded_lengths = lengths.clamp(min=SEGMENT)
    whole_f0, _ = model.pitch_extract.estimate_f0(torch.nn.functional.pad(speech, (0, SEGMENT)), padded_lengths)
    for b in range(len(lengths)):
        starts = [
            s
            for s in range(0, int(padded_lengths[b]) - SEGMENT + 1, HOP)
            if torch.equal(torch.nn.functional.pad(speech[b], (0, SEGMENT))[s : s + SEGMENT], wav[b, 0])
        ]
        assert len(starts) == 1, b
        first = starts[0] // HOP
        torch.testing.assert_close(f0[b, 0], whole_f0[b, first : first + SEGMENT // HOP].float(), rtol=0, atol=0)
    assert (f0 > 0).float().mean() > 0.5  # the tones are tracked: the comparison is not one of zeros


def test_auxiliary_losses_learn_from_whole_utterances():
    """NSF's F0 predictor learns on every frame of each utterance (with its context), not on the segment."""
    torch.manual_seed(0)
    lengths = torch.tensor([3 * SEGMENT + 100, SEGMENT + 7])
    t = torch.arange(int(lengths.max())) / FS
    speech = torch.stack([0.5 * torch.sin(2 * math.pi * f * t) for f in (150.0, 210.0)])
    speech[1, int(lengths[1]) :] = 0
    model = make_model(ToyF0Generator())
    model(forward_generator=True, speech=speech, speech_lengths=lengths)
    c, f0, frame_lengths = model.generator.aux_seen
    whole = fbank()(speech, lengths)[0]
    assert frame_lengths.tolist() == (lengths // HOP + 1).tolist() and c.shape == (2, N_MELS, whole.size(1))
    torch.testing.assert_close(c, whole.transpose(1, 2) * (torch.arange(c.size(2)) < frame_lengths[:, None])[:, None])
    tracked, _ = model.pitch_extract.estimate_f0(speech, lengths)
    torch.testing.assert_close(f0[:, 0], tracked.float()[:, : c.size(2)])
    assert f0[0, 0, 5:-5].median().item() == pytest.approx(150.0, rel=0.02)
