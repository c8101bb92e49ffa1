import math

import pytest
import torch

from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.linear_spectrogram import LinearSpectrogram
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.tts.vocoder.griffin_lim import GriffinLim

torch.set_num_threads(1)
FS = 16000


def _tone(n=8000):
    t = torch.arange(n) / FS
    return sum(a * torch.sin(2 * math.pi * f * t) for f, a in ((300, 0.5), (600, 0.3), (1200, 0.2)))


def _spectral_convergence(reference, wav):
    rebuilt, _ = LinearSpectrogram(n_fft=512, hop_length=128)(wav[None])
    n = min(reference.shape[0], rebuilt.shape[1])
    return float((reference[:n] - rebuilt[0, :n]).norm() / reference[:n].norm())


def test_griffin_lim_reconstructs_tone_from_log_mel():
    fbank = LogMelFbank(fs=FS, n_fft=512, hop_length=128, n_mels=80, fmin=0, fmax=8000)
    x = _tone()
    reference, _ = LinearSpectrogram(n_fft=512, hop_length=128)(x[None])
    feats, _ = fbank(x[None])
    feats = feats[0].requires_grad_(True)
    vocoder = GriffinLim.from_feats_extract_params(fbank.get_parameters(), griffin_lim_iters=32)
    assert isinstance(vocoder, AbsVocoder) and vocoder.fs == FS
    wav = vocoder(feats)
    assert not wav.requires_grad
    assert wav.shape == ((feats.shape[0] - 1) * 128,)
    assert _spectral_convergence(reference[0], wav) < 0.2
    spectrum = torch.fft.rfft(wav * torch.hann_window(wav.numel())).abs()
    assert abs(int(spectrum.argmax()) * FS / wav.numel() - 300.0) < 5.0
    torch.testing.assert_close(vocoder(feats), wav)  # seeded initial phase: deterministic


def test_momentum_converges_faster_and_linear_input():
    x = _tone()
    linear, _ = LinearSpectrogram(n_fft=512, hop_length=128)(x[None])
    fast = GriffinLim(FS, 512, 128, n_mels=None, griffin_lim_iters=16, momentum=0.99)
    plain = GriffinLim(FS, 512, 128, n_mels=None, griffin_lim_iters=16, momentum=0.0)
    fast_sc = _spectral_convergence(linear[0], fast(linear[0]))
    plain_sc = _spectral_convergence(linear[0], plain(linear[0]))
    assert fast_sc < plain_sc < 0.3


def test_griffin_lim_errors():
    with pytest.raises(ValueError, match="fs"):
        GriffinLim.from_feats_extract_params(LinearSpectrogram().get_parameters())
    vocoder = GriffinLim(FS, 512, 128, n_mels=80, fmax=8000)
    with pytest.raises(ValueError, match="80"):
        vocoder(torch.zeros(10, 40))


def test_griffin_lim_handles_very_short_inputs():
    vocoder = GriffinLim(fs=8000, n_fft=256, n_shift=64, n_mels=8, fmin=0, fmax=4000, griffin_lim_iters=2)
    for num_frames, expected in [(1, 0), (2, 64), (5, 256)]:
        wav = vocoder(torch.full((num_frames, 8), -2.0))
        assert wav.shape == (expected,)
        assert torch.isfinite(wav).all()


@pytest.mark.parametrize("n_fft, hop, win_length", [(512, 128, 512), (512, 120, 400), (256, 64, 200)])
def test_framed_stft_and_istft_equal_torch(n_fft, hop, win_length):
    """Griffin-Lim's own STFT pair computes what torch.stft / torch.istft (center=True) do."""
    from espkit.tts.vocoder.griffin_lim import _StftFrames

    num_frames = 37
    frames = _StftFrames(n_fft, hop, win_length, "hann", num_frames, torch.device("cpu"), torch.float64)
    window = torch.hann_window(win_length, dtype=torch.float64)
    args = dict(n_fft=n_fft, hop_length=hop, win_length=win_length, window=window, center=True)
    wav = torch.randn((num_frames - 1) * hop, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    reference = torch.stft(wav, pad_mode="reflect", return_complex=True, **args)  # (n_freq, T)
    spec = frames.stft(wav)
    assert spec.shape == (num_frames, n_fft // 2 + 1)
    torch.testing.assert_close(spec, reference.T)
    spec = torch.randn(num_frames, n_fft // 2 + 1, 2, dtype=torch.float64)
    spec[:, 0, 1] = 0.0  # a real signal's DC and Nyquist bins are real
    spec[:, -1, 1] = 0.0
    expected = torch.istft(torch.view_as_complex(spec).T, length=(num_frames - 1) * hop, **args)
    torch.testing.assert_close(frames.istft(spec), expected)
