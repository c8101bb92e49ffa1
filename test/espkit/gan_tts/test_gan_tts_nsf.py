import math

import numpy as np
import pytest
import torch

from espkit.gan_tts.nsf import NSFGenerator
from espkit.gan_tts.nsf.nsf_generator import HarmonicNoiseSource
from espkit.utils.errors import ConfigError

FS, HOP = 8000, 16


def tiny(**kwargs) -> NSFGenerator:
    conf = dict(
        in_channels=6,
        fs=FS,
        upsample_factor=HOP,
        n_fft=64,
        channels=16,
        intermediate_channels=24,
        num_blocks=2,
        num_harmonics=8,
        f0_predictor_channels=8,
        f0_predictor_dilations=(1, 2),
    )
    conf.update(kwargs)
    torch.manual_seed(0)
    return NSFGenerator(**conf)


@pytest.mark.parametrize("frames", [1, 4, 13])
def test_output_length_is_frames_times_hop(frames):
    gen = tiny()
    c = torch.randn(2, 6, frames)
    assert gen(c, torch.full((2, 1, frames), 200.0)).shape == (2, 1, frames * HOP)
    assert gen(c).shape == (2, 1, frames * HOP)  # F0 from the predictor
    assert gen.inference(c[0].T).shape == (frames * HOP, 1)


def test_source_is_harmonic_where_voiced_and_silent_where_not():
    source = HarmonicNoiseSource(fs=FS, upsample_factor=HOP, num_harmonics=3, sine_amp=0.1, noise_std=0.0)
    f0 = torch.tensor([[[250.0] * 50 + [0.0] * 50]])
    harmonic, noise = source(f0, random_phase=False)
    assert harmonic.shape == noise.shape == (1, 100 * HOP)
    assert torch.all(noise == 0)
    assert torch.all(harmonic[0, 50 * HOP :] == 0)
    voiced = harmonic[0, : 50 * HOP].numpy()
    spectrum = np.abs(np.fft.rfft(voiced))
    freqs = np.fft.rfftfreq(len(voiced), 1 / FS)
    peaks = sorted(freqs[np.argsort(spectrum)[-3:]])
    np.testing.assert_allclose(peaks, [250.0, 500.0, 750.0])
    # three harmonics of amplitude 0.1 starting at phase 0: sum of sines evaluated by hand
    t = np.arange(20) / FS
    expected = 0.1 * sum(np.sin(2 * math.pi * k * 250.0 * (t + 1 / FS)) for k in (1, 2, 3))
    np.testing.assert_allclose(voiced[:20], expected, atol=1e-5)


def test_harmonics_above_nyquist_are_left_out():
    source = HarmonicNoiseSource(fs=FS, upsample_factor=HOP, num_harmonics=8, sine_amp=1.0, noise_std=0.0)
    harmonic, _ = source(torch.full((1, 1, 100), 1500.0), random_phase=False)
    spectrum = np.abs(np.fft.rfft(harmonic[0].numpy()))
    freqs = np.fft.rfftfreq(harmonic.size(1), 1 / FS)
    strong = freqs[spectrum > 0.1 * spectrum.max()]
    assert set(np.round(strong)) == {1500.0, 3000.0}  # 4500 Hz and above exceed fs / 2


def test_inference_with_f0_equals_forward_without_random_phase():
    gen = tiny().eval()
    c, f0 = torch.randn(9, 6), torch.full((9,), 180.0)
    torch.manual_seed(1)
    a = gen.inference(c, f0)
    torch.manual_seed(1)
    b = gen(c.T[None], f0.view(1, 1, -1), random_phase=False)[0].T
    torch.testing.assert_close(a, b)


def test_predicted_f0_and_auxiliary_losses():
    gen = tiny(f0min=100.0, f0max=400.0, f0_bins=9)  # bins a quarter-octave apart
    bins = gen.f0_predictor.num_bins
    c = torch.randn(1, 6, 10)
    out = gen.f0_predictor.out
    with torch.no_grad():
        out.weight.zero_()
        out.bias.zero_()
        out.bias[bins] = -3.0  # unvoiced
    assert torch.all(gen.predict_f0(c) == 0)
    with torch.no_grad():
        out.bias[bins] = 3.0
        out.bias[4] = 30.0  # all the mass on the middle bin: 200 Hz
    torch.testing.assert_close(gen.predict_f0(c), torch.full((1, 1, 10), 200.0))
    with torch.no_grad():  # two neighbouring bins equally likely: their geometric mean
        out.bias[5] = 30.0
    torch.testing.assert_close(gen.predict_f0(c), torch.full((1, 1, 10), 200.0 * 2**0.125))
    with torch.no_grad():  # a far bin as likely as the peak is not averaged in (no octave blend)
        out.bias[5] = 0.0
        out.bias[8] = 30.0
    assert gen.predict_f0(c)[0, 0, 0].item() in (pytest.approx(200.0, rel=1e-4), pytest.approx(400.0, rel=1e-4))

    f0 = torch.tensor([[[0.0] * 5 + [200.0] * 5]])
    with torch.no_grad():
        out.bias.zero_()
        out.bias[bins] = 3.0
    losses = gen.auxiliary_losses(c, f0)
    # logit 3 everywhere: BCE = mean over voiced (-log sigmoid 3) and unvoiced (-log(1 - sigmoid 3)) frames
    expected_bce = 0.5 * (-math.log(1 / (1 + math.exp(-3))) - math.log(1 - 1 / (1 + math.exp(-3))))
    assert losses["f0_vuv_loss"].item() == pytest.approx(expected_bce, rel=1e-5)
    # uniform bin distribution: the cross-entropy with any target distribution is log(num_bins)
    assert losses["f0_loss"].item() == pytest.approx(math.log(bins), rel=1e-5)
    with torch.no_grad():
        out.bias[:bins] = torch.tensor([-((k - 4) ** 2) / 2.0 for k in range(bins)])
    # logits equal to the target's log-density: the cross-entropy is the target's entropy
    target = torch.softmax(torch.tensor([-((k - 4) ** 2) / 2.0 for k in range(bins)]), 0)
    entropy = -(target * target.log()).sum().item()
    assert gen.auxiliary_losses(c, f0)["f0_loss"].item() == pytest.approx(entropy, rel=1e-4)


class _Inference(torch.nn.Module):
    def __init__(self, gen: NSFGenerator):
        super().__init__()
        self.gen = gen

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return self.gen.inference(c)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_script_and_trace_equal_eager():
    gen = tiny().eval()
    c = torch.randn(11, 6)
    torch.manual_seed(2)  # the noise source draws from the global generator
    eager = gen.inference(c)
    scripted = torch.jit.script(gen)
    torch.manual_seed(2)
    torch.testing.assert_close(scripted.inference(c), eager)
    traced = torch.jit.trace(_Inference(gen), (c,), check_trace=False)
    torch.manual_seed(2)
    torch.testing.assert_close(traced(c), eager)


def test_gradients_reach_filter_and_predictor():
    gen = tiny()
    c = torch.randn(2, 6, 5)
    f0 = torch.full((2, 1, 5), 200.0)
    loss = gen(c, f0).pow(2).mean() + sum(gen.auxiliary_losses(c, f0).values())
    loss.backward()
    for name in ("backbone.input_conv.weight", "gain_head.weight", "f0_predictor.out.weight"):
        assert dict(gen.named_parameters())[name].grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "kwargs, option",
    [
        (dict(out_channels=2), "out_channels"),
        (dict(upsample_factor=64), "upsample_factor"),
        (dict(kernel_size=4), "kernel_size"),
        (dict(vuv_threshold=1.0), "vuv_threshold"),
        (dict(f0min=600.0), "f0min"),
    ],
)
def test_bad_options_name_the_option(kwargs, option):
    with pytest.raises(ConfigError, match=option):
        tiny(**kwargs)
