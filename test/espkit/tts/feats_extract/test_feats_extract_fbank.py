import math

import pytest
import torch

from espkit.layers.log_mel import hz_to_mel, mel_to_hz
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.linear_spectrogram import LinearSpectrogram

torch.set_num_threads(1)
FS = 16000


def _tone(freq, n, fs=FS):
    return torch.sin(2 * math.pi * freq * torch.arange(n) / fs)


def test_fbank_shapes_lengths_and_padding_invariance():
    fbank = LogMelFbank(fs=FS, n_fft=512, hop_length=128, n_mels=40, fmin=0, fmax=8000)
    short = torch.randn(3001)
    batch = torch.full((2, 5000), 3.0)
    batch[0] = torch.randn(5000)
    batch[1, :3001] = short
    feats, lengths = fbank(batch, torch.tensor([5000, 3001]))
    assert feats.shape == (2, 5000 // 128 + 1, 40) and fbank.output_size() == 40
    assert lengths.tolist() == [5000 // 128 + 1, 3001 // 128 + 1]
    alone, _ = fbank(short[None], torch.tensor([3001]))
    n = int(lengths[1])
    torch.testing.assert_close(feats[1, :n], alone[0, :n], rtol=1e-4, atol=1e-4)
    assert feats[1, n:].abs().max() == 0


def test_fbank_of_sine_peaks_in_the_right_mel_band():
    n_mels = 40
    fbank = LogMelFbank(fs=FS, n_fft=512, hop_length=128, n_mels=n_mels, fmin=0, fmax=8000)
    edges = mel_to_hz(torch.linspace(0, float(hz_to_mel(torch.tensor(8000.0))), n_mels + 2))
    centres = edges[1:-1]
    for freq in (440.0, 1500.0, 3000.0):
        feats, _ = fbank(_tone(freq, 4000)[None], torch.tensor([4000]))
        peak = int(feats[0, 5:-5].mean(0).argmax())
        nearest = int((centres - freq).abs().argmin())
        assert abs(peak - nearest) <= 1, (freq, peak, nearest)
        assert abs(float(centres[peak]) - freq) < 0.1 * freq


def test_fbank_uses_amplitude_not_power():
    fbank = LogMelFbank(fs=FS, n_fft=256, hop_length=64, n_mels=20, fmin=0, fmax=8000)
    x = _tone(1000.0, 2000)[None] + 0.1 * torch.randn(1, 2000)
    once, _ = fbank(x, torch.tensor([2000]))
    twice, _ = fbank(2 * x, torch.tensor([2000]))
    expected = torch.full_like(once, math.log10(2.0))
    torch.testing.assert_close(twice - once, expected, atol=1e-4, rtol=0)


def test_fbank_get_parameters():
    params = LogMelFbank(fs=24000, n_fft=2048, hop_length=300, win_length=1200).get_parameters()
    assert params == dict(
        fs=24000,
        n_fft=2048,
        hop_length=300,
        win_length=1200,
        window="hann",
        center=True,
        n_mels=80,
        fmin=80.0,
        fmax=7600.0,
        log_base=10.0,
    )
    with pytest.raises(ValueError, match="onesided"):
        LogMelFbank(onesided=False)


def test_linear_spectrogram_amplitude_and_peak_bin():
    spec_extract = LinearSpectrogram(n_fft=256, hop_length=64)
    assert spec_extract.output_size() == 129
    feats, lengths = spec_extract(_tone(1000.0, 2048)[None], torch.tensor([2048]))
    assert feats.shape == (1, 33, 129) and lengths.tolist() == [33]
    assert int(feats[0, 10].argmax()) == round(1000.0 * 256 / FS)
    # hann window sum is 128: a unit sine's peak amplitude is ~ 128 / 2
    assert abs(float(feats[0, 10].max()) - 64.0) < 1.0
    assert spec_extract.get_parameters()["hop_length"] == 64
