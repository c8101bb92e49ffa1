import torch

from espkit.tts.feats_extract.energy import Energy
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.frame_alignment import adjust_num_frames, average_by_duration

torch.set_num_threads(1)


def test_energy_is_frame_l2_norm_and_lengths_match_fbank():
    energy = Energy(fs=16000, n_fft=256, hop_length=64)
    fbank = LogMelFbank(fs=16000, n_fft=256, hop_length=64, n_mels=10, fmin=0, fmax=8000)
    x = torch.randn(2, 3000)
    lengths = torch.tensor([3000, 1999])
    values, energy_lengths = energy(x, lengths)
    _, feats_lengths = fbank(x, lengths)
    assert energy_lengths.tolist() == feats_lengths.tolist()
    assert values.shape == (2, 3000 // 64 + 1, 1)
    spec, _ = energy.stft(x[1:, :1999])
    torch.testing.assert_close(values[1, : spec.shape[1], 0], spec[0].abs().pow(2).sum(-1).sqrt())
    assert values[1, int(energy_lengths[1]) :].abs().max() == 0


def test_energy_token_average_and_reduction_factor():
    x = torch.cat([torch.ones(640) * 0.0, torch.randn(1280)])
    energy = Energy(fs=16000, n_fft=128, hop_length=64, use_token_averaged_energy=True)
    frame_values, _ = Energy(fs=16000, n_fft=128, hop_length=64)(x[None])
    averaged, lengths = energy(x[None], durations=torch.tensor([[10, 20]]))
    assert averaged.shape == (1, 2, 1) and lengths.tolist() == [2]
    torch.testing.assert_close(averaged[0, 1, 0], frame_values[0, 10:30, 0].mean())
    reduced, _ = Energy(fs=16000, n_fft=128, hop_length=64, use_token_averaged_energy=True, reduction_factor=2)(
        x[None], durations=torch.tensor([[5, 10]])
    )
    torch.testing.assert_close(reduced, averaged)


def test_average_by_duration_weights_and_token_lengths():
    values = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    weights = torch.tensor([[1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    durations = torch.tensor([[2, 2, 2], [3, 3, 0]])
    out = average_by_duration(values, durations, torch.tensor([3, 2]), weights)
    torch.testing.assert_close(out, torch.tensor([[1.5, 4.0, 0.0], [1.0, 1.0, 0.0]]))


def test_adjust_num_frames_trims_and_pads():
    values = torch.arange(1.0, 7.0).reshape(1, 6).repeat(2, 1)
    out, lengths = adjust_num_frames(values, torch.tensor([6, 4]), torch.tensor([8, 5]))
    assert lengths.tolist() == [8, 5]
    assert out.tolist() == [[1, 2, 3, 4, 5, 6, 0, 0], [1, 2, 3, 4, 0, 0, 0, 0]]
