import math

import pytest
import torch

from espkit.gan_tts.hifigan import (
    DiscriminatorAdversarialLoss,
    FeatureMatchLoss,
    GeneratorAdversarialLoss,
    MelSpectrogramLoss,
)
from espkit.gan_tts.stft_loss import MultiResolutionSTFTLoss, STFTLoss
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.utils.errors import ConfigError

torch.set_num_threads(1)


def with_layers(*finals):
    """Discriminator outputs as the discriminators give them: per sub-discriminator [hidden, final]."""
    return [[torch.randn(1, 2, 3), torch.tensor(final)] for final in finals]


def test_generator_adversarial_loss_mse_and_hinge():
    finals = ([0.5, 1.0], [2.0])
    # least squares: mean((D - 1)^2) per discriminator: (0.25 + 0) / 2 = 0.125 and 1.0
    loss = GeneratorAdversarialLoss()(with_layers(*finals))
    assert loss.item() == pytest.approx((0.125 + 1.0) / 2)
    summed = GeneratorAdversarialLoss(average_by_discriminators=False)(with_layers(*finals))
    assert summed.item() == pytest.approx(1.125)
    # hinge: -mean(D): -0.75 and -2.0
    hinge = GeneratorAdversarialLoss(loss_type="hinge")(with_layers(*finals))
    assert hinge.item() == pytest.approx((-0.75 - 2.0) / 2)
    # bare final outputs and a single tensor are accepted too
    bare = GeneratorAdversarialLoss()([torch.tensor(f) for f in finals])
    assert bare.item() == pytest.approx(loss.item())
    assert GeneratorAdversarialLoss()(torch.tensor([3.0])).item() == pytest.approx(4.0)
    with pytest.raises(ConfigError, match="loss_type"):
        GeneratorAdversarialLoss(loss_type="wasserstein")


def test_discriminator_adversarial_loss_mse_and_hinge():
    real, fake = with_layers([1.0, 0.0], [2.0, 0.0]), with_layers([0.5, -1.0], [-2.0, 0.5])
    real_loss, fake_loss = DiscriminatorAdversarialLoss()(fake, real)
    # real: mean((D - 1)^2) = (0 + 1) / 2 and (1 + 1) / 2; fake: mean(D^2) = (0.25 + 1) / 2 and (4 + 0.25) / 2
    assert real_loss.item() == pytest.approx((0.5 + 1.0) / 2)
    assert fake_loss.item() == pytest.approx((0.625 + 2.125) / 2)
    real_loss, fake_loss = DiscriminatorAdversarialLoss(loss_type="hinge")(fake, real)
    # real: mean(relu(1 - D)) = (0 + 1) / 2 and (0 + 1) / 2; fake: mean(relu(1 + D)) = (1.5 + 0) / 2 and (0 + 1.5) / 2
    assert real_loss.item() == pytest.approx(0.5)
    assert fake_loss.item() == pytest.approx(0.75)
    real_loss, fake_loss = DiscriminatorAdversarialLoss(average_by_discriminators=False)(fake, real)
    assert (real_loss.item(), fake_loss.item()) == pytest.approx((1.5, 2.75))


def test_feature_match_loss_on_known_maps():
    # discriminator 1: two hidden layers + final; discriminator 2: one hidden layer + final
    real = [
        [torch.zeros(1, 2), torch.ones(1, 3), torch.zeros(1, 1)],
        [torch.full((2, 2), 2.0), torch.zeros(1, 1)],
    ]
    fake = [
        [torch.ones(1, 2), torch.ones(1, 3), torch.full((1, 1), 5.0)],
        [torch.zeros(2, 2), torch.full((1, 1), 1.0)],
    ]
    for layer in real[0] + real[1] + fake[0] + fake[1]:
        layer.requires_grad_(True)
    # L1 per layer: disc 1: 1, 0 (final 5); disc 2: 2 (final 1)
    loss = FeatureMatchLoss()(fake, real)
    assert loss.item() == pytest.approx(((1 + 0) / 2 + 2 / 1) / 2)
    loss.backward()
    assert all(layer.grad is None for layer in real[0] + real[1])  # real features are detached
    assert fake[0][0].grad is not None and fake[0][-1].grad is None  # finals left out by default
    assert FeatureMatchLoss(average_by_layers=False, average_by_discriminators=False)(fake, real).item() == (
        pytest.approx(1 + 0 + 2)
    )
    with_finals = FeatureMatchLoss(include_final_outputs=True)(fake, real)
    assert with_finals.item() == pytest.approx(((1 + 0 + 5) / 3 + (2 + 1) / 2) / 2)


def test_mel_loss_is_l1_between_logmelfbank_features():
    conf = dict(fs=8000, n_fft=128, hop_length=32, n_mels=10, fmin=0, fmax=None, log_base=10.0)
    loss_fn = MelSpectrogramLoss(**conf)
    y = torch.randn(2, 1, 400)
    y_hat = torch.randn(2, 1, 400)
    fbank = LogMelFbank(**conf)
    mel_hat, _ = fbank(y_hat[:, 0])
    mel, _ = fbank(y[:, 0])
    torch.testing.assert_close(loss_fn(y_hat, y), (mel_hat - mel).abs().mean())
    assert loss_fn(y, y).item() == 0.0
    # amplitude mel is linear in the waveform: 10x louder is exactly +1 in log10 everywhere
    assert loss_fn(10.0 * y, y).item() == pytest.approx(1.0, abs=1e-5)
    assert loss_fn(10.0 * y[:, 0], y[:, 0]).item() == pytest.approx(1.0, abs=1e-5)  # (B, T_wav) too
    with pytest.raises(ConfigError, match="mel_loss_params"):
        MelSpectrogramLoss(fs=8000, n_fft=128, win_length=256)


def torch_stft_magnitude(x, fft, hop, win):
    spec = torch.stft(x, fft, hop, win, torch.hann_window(win), center=True, pad_mode="reflect", return_complex=True)
    return (spec.real**2 + spec.imag**2).clamp(min=1e-7).sqrt()


def test_stft_loss_against_torch_stft_and_hand_values():
    fft, hop, win = 64, 16, 48
    y = torch.randn(2, 300)
    x = torch.randn(2, 300)
    sc, mag = STFTLoss(fft, hop, win)(x, y)
    x_mag, y_mag = torch_stft_magnitude(x, fft, hop, win), torch_stft_magnitude(y, fft, hop, win)
    torch.testing.assert_close(sc, torch.sqrt(((y_mag - x_mag) ** 2).sum() / (y_mag**2).sum()))
    torch.testing.assert_close(mag, (torch.log(y_mag) - torch.log(x_mag)).abs().mean())
    # doubling the signal doubles every magnitude: SC = ||2|Y| - |Y||| / |||Y||| = 1, log-mag L1 = ln 2
    sc, mag = STFTLoss(fft, hop, win)(2 * y, y)
    assert sc.item() == pytest.approx(1.0, abs=1e-4)
    assert mag.item() == pytest.approx(math.log(2.0), abs=1e-3)


def test_multi_resolution_stft_loss_averages_resolutions():
    resolutions = dict(fft_sizes=[64, 128], hop_sizes=[16, 32], win_lengths=[48, 128])
    mr = MultiResolutionSTFTLoss(**resolutions, window="hann_window")
    y = torch.randn(2, 1, 500)
    x = torch.randn(2, 1, 500)
    sc, mag = mr(x, y)
    singles = [STFTLoss(f, h, w, "hann")(x[:, 0], y[:, 0]) for f, h, w in zip(*resolutions.values())]
    torch.testing.assert_close(sc, (singles[0][0] + singles[1][0]) / 2)
    torch.testing.assert_close(mag, (singles[0][1] + singles[1][1]) / 2)
    zero_sc, zero_mag = mr(y, y)
    assert zero_sc.item() == 0.0 and zero_mag.item() == 0.0
    x.requires_grad_(True)
    sum(mr(x, y)).backward()
    assert torch.isfinite(x.grad).all()
    assert MultiResolutionSTFTLoss().stft_losses[1].stft.n_fft == 2048  # Parallel WaveGAN's defaults
    with pytest.raises(ConfigError, match="same length"):
        MultiResolutionSTFTLoss(fft_sizes=[64], hop_sizes=[16, 8], win_lengths=[64])
    with pytest.raises(ConfigError, match="window"):
        MultiResolutionSTFTLoss(window="gauss_window")
    with pytest.raises(ConfigError, match="win_length"):
        STFTLoss(64, 16, 128)
