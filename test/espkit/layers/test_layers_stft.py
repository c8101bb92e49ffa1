import pytest
import torch

from espkit.layers.stft import Stft, center_pad

torch.set_num_threads(1)


def test_forward_shapes_lengths_and_match_torch_stft():
    stft = Stft(n_fft=64, hop_length=16)
    x = torch.randn(2, 1000)
    lengths = torch.tensor([1000, 700])
    spec, frame_lengths = stft(x, lengths)
    assert spec.is_complex()
    assert spec.shape == (2, 1000 // 16 + 1, 33)
    assert frame_lengths.tolist() == [1000 // 16 + 1, 700 // 16 + 1]
    ref = torch.stft(
        x[0],
        64,
        16,
        window=torch.hann_window(64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    ).T
    torch.testing.assert_close(spec[0], ref, rtol=1e-4, atol=1e-4)


def test_padding_does_not_change_real_frames():
    stft = Stft(n_fft=64, hop_length=16, win_length=48, window="hamming")
    short = torch.randn(333)
    batch = torch.zeros(2, 600)
    batch[0] = torch.randn(600)
    batch[1, :333] = short
    batch[1, 333:] = 5.0  # garbage padding must not leak in
    spec, lengths = stft(batch, torch.tensor([600, 333]))
    alone, alone_lengths = stft(short[None])
    assert lengths[1] == alone_lengths[0] == 333 // 16 + 1
    n = int(lengths[1])
    torch.testing.assert_close(spec[1, :n], alone[0], rtol=1e-5, atol=1e-5)
    assert spec[1, n:].abs().max() == 0


def test_n_frames_int_and_tensor_and_not_centered():
    assert Stft(n_fft=1024, hop_length=256).n_frames(22050) == 22050 // 256 + 1
    assert Stft(n_fft=1024, hop_length=256).n_frames(torch.tensor([256, 0])).tolist() == [2, 1]
    stft = Stft(n_fft=64, hop_length=16, center=False)
    assert stft.n_frames(64) == 1 and stft.n_frames(100) == 3 and stft.n_frames(10) == 0
    spec, lengths = stft(torch.randn(1, 100))
    assert spec.shape[1] == 3 and lengths.tolist() == [3]


def test_inverse_reconstructs_waveform():
    stft = Stft(n_fft=128, hop_length=32)
    x = torch.randn(2, 900)
    lengths = torch.tensor([900, 500])
    spec, _ = stft(x, lengths)
    wav, wav_lengths = stft.inverse(spec, lengths)
    assert wav.shape == (2, 900) and wav_lengths.tolist() == [900, 500]
    torch.testing.assert_close(wav[0], x[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(wav[1, :500], x[1, :500], rtol=1e-4, atol=1e-4)
    assert wav[1, 500:].abs().max() == 0
    default, default_lengths = stft.inverse(spec)
    assert default.shape[1] == (spec.shape[1] - 1) * 32 == default_lengths[0]


def test_center_pad_reflects_each_row_at_its_own_end():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 9.0, 9.0]])
    out = center_pad(x, torch.tensor([5, 3]), 2)
    assert out.tolist() == [
        [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0],
        [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0, 0.0],
    ]


def test_unknown_window_names_valid_ones():
    with pytest.raises(ValueError, match="hann"):
        Stft(window="gauss")


def test_multi_channel_input_is_transformed_per_channel():
    """ESPnet2 accepts ``(B, T_wav, C)``: each channel is transformed as a mono signal."""
    from espkit.tts.feats_extract.log_mel_fbank import LogMelFbank

    torch.manual_seed(0)
    stft = Stft(n_fft=8, hop_length=2, win_length=8)
    x = torch.randn(2, 40, 3)
    lengths = torch.tensor([40, 21])
    spec, frame_lengths = stft(x, lengths)
    assert spec.shape == (2, 21, 3, 5)
    for c in range(3):
        mono, mono_lengths = stft(x[:, :, c], lengths)
        torch.testing.assert_close(spec[:, :, c], mono)
        torch.testing.assert_close(frame_lengths, mono_lengths)
    fbank = LogMelFbank(fs=16000, n_fft=8, hop_length=2, n_mels=2)
    feats, feats_lengths = fbank(x, lengths)
    assert feats.shape == (2, 21, 3, 2) and feats_lengths.tolist() == frame_lengths.tolist()
    assert (feats[1, int(feats_lengths[1]) :] == 0).all()
    with pytest.raises(ValueError, match=r"\(B, T_wav\) or \(B, T_wav, C\)"):
        stft(torch.randn(1, 2, 3, 4))
