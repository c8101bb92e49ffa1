import math

import torch

from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.pitch import Pitch, interpolate_unvoiced

torch.set_num_threads(1)
FS = 16000


def _harmonic(freq, n, fs=FS):
    t = torch.arange(n) / fs
    return sum(a * torch.sin(2 * math.pi * k * freq * t) for k, a in ((1, 0.5), (2, 0.3), (3, 0.2)))


def _silence_then_tone(freq, n_silence=4000, n_tone=12000):
    return torch.cat([torch.zeros(n_silence), _harmonic(freq, n_tone)])


def test_yin_f0_of_tones_and_silence_unvoiced():
    pitch = Pitch(fs=FS, n_fft=512, hop_length=128, use_continuous_f0=False, use_log_f0=False)
    for freq in (220.0, 150.0):
        x = _silence_then_tone(freq)
        f0, lengths = pitch(x[None], torch.tensor([x.numel()]))
        assert f0.shape == (1, x.numel() // 128 + 1, 1) and lengths.tolist() == [f0.shape[1]]
        f0 = f0[0, :, 0]
        assert torch.all(f0[: 4000 // 128 - 2] == 0)  # silence: unvoiced
        tone = f0[4000 // 128 + 3 :]
        assert torch.all(tone > 0)
        assert torch.all((tone - freq).abs() < 0.02 * freq), tone
    pure = torch.sin(2 * math.pi * 220.0 * torch.arange(8000) / FS)
    f0 = pitch(pure[None])[0][0, :, 0]
    assert torch.all((f0 - 220.0).abs() < 0.02 * 220.0)  # edge frames included


def test_pitch_lengths_match_fbank_frames_and_padding_invariance():
    pitch = Pitch(fs=FS, n_fft=512, hop_length=128)
    fbank = LogMelFbank(fs=FS, n_fft=512, hop_length=128, n_mels=20, fmin=0, fmax=8000)
    batch = torch.zeros(3, 6000)
    lengths = torch.tensor([6000, 4001, 2900])
    for b, n in enumerate(lengths.tolist()):
        batch[b, :n] = _harmonic(120.0 + 40 * b, n)
    batch[2, 2900:] = 0.7  # padding garbage
    f0, f0_lengths = pitch(batch, lengths)
    _, feats_lengths = fbank(batch, lengths)
    assert f0_lengths.tolist() == feats_lengths.tolist()
    assert f0.shape[1] == int(feats_lengths.max())
    alone, _ = pitch(batch[2:, :2900], lengths[2:])
    n = int(f0_lengths[2])
    torch.testing.assert_close(f0[2, :n], alone[0])
    assert f0[2, n:].abs().max() == 0


def test_continuous_and_log_f0():
    x = _silence_then_tone(200.0)
    pitch = Pitch(fs=FS, n_fft=512, hop_length=128, use_continuous_f0=True, use_log_f0=True)
    log_f0 = pitch(x[None])[0][0, :, 0]
    assert torch.all(log_f0 != 0)  # leading silence takes the first voiced value
    torch.testing.assert_close(log_f0[0], log_f0[40], atol=0.02, rtol=0)
    assert abs(float(log_f0[-1]) - math.log(200.0)) < 0.02


def test_interpolate_unvoiced_linear_inside_hold_at_edges():
    f0 = torch.tensor([[0.0, 100.0, 0.0, 0.0, 130.0, 0.0, 0.0], [0.0] * 7])
    out = interpolate_unvoiced(f0, torch.tensor([6, 7]))
    expected = torch.tensor([100.0, 100.0, 110.0, 120.0, 130.0, 130.0, 0.0])
    torch.testing.assert_close(out[0], expected)
    assert out[1].abs().max() == 0


def test_feats_lengths_and_token_averaging():
    x = torch.cat([_harmonic(150.0, 4000), torch.zeros(2000), _harmonic(250.0, 4000)])
    pitch = Pitch(
        fs=FS,
        n_fft=512,
        hop_length=128,
        use_continuous_f0=False,
        use_log_f0=False,
        use_token_averaged_f0=True,
    )
    frames = x.numel() // 128 + 1  # 79
    trimmed, lengths = pitch(x[None], feats_lengths=torch.tensor([70]))
    assert trimmed.shape == (1, 70, 1) and lengths.tolist() == [70]
    padded, _ = pitch(x[None], feats_lengths=torch.tensor([frames + 3]))
    assert padded.shape[1] == frames + 3 and torch.all(padded[0, frames:] == 0)
    durations = torch.tensor([[28, 18, 33, 0]])
    averaged, avg_lengths = pitch(x[None], durations=durations, durations_lengths=torch.tensor([3]))
    assert averaged.shape == (1, 4, 1) and avg_lengths.tolist() == [3]
    assert abs(float(averaged[0, 0, 0]) - 150.0) < 3.0
    # token 1 = 3 voiced frames of the 150 Hz tone + silence: only voiced frames count
    assert abs(float(averaged[0, 1, 0]) - 150.0) < 3.0
    assert abs(float(averaged[0, 2, 0]) - 250.0) < 5.0
    assert float(averaged[0, 3, 0]) == 0.0
    halved = Pitch(
        fs=FS,
        n_fft=512,
        hop_length=128,
        use_continuous_f0=False,
        use_log_f0=False,
        use_token_averaged_f0=True,
        reduction_factor=2,
    )
    reduced, _ = halved(x[None], durations=torch.tensor([[14, 9]]))
    assert abs(float(reduced[0, 0, 0]) - 150.0) < 3.0


def test_pitch_get_parameters():
    params = Pitch(fs=FS, n_fft=512, hop_length=128, f0min=80, f0max=400).get_parameters()
    assert params["fs"] == FS and params["hop_length"] == 128 and params["f0max"] == 400
    assert Pitch().output_size() == 1
