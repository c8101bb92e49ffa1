import math
import warnings

import pytest
import torch
from torch import nn

from espkit.gan_tts.istft import ISTFTGenerator
from espkit.utils.errors import ConfigError

torch.set_num_threads(1)


def tiny(**kwargs):
    conf = dict(in_channels=6, channels=16, intermediate_channels=24, num_blocks=2, n_fft=64, hop_length=16)
    conf.update(kwargs)
    return ISTFTGenerator(**conf)


class InferenceWrapper(nn.Module):
    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, c):
        return self.generator.inference(c)


@pytest.mark.parametrize("frames", [1, 4, 9])
def test_output_length_is_frames_times_hop(frames):
    gen = tiny()
    assert gen.upsample_factor == 16 and gen.requires_f0 is False
    c = torch.randn(2, 6, frames)
    assert gen(c).shape == (2, 1, frames * 16)
    assert gen(c, f0=torch.zeros(2, 1, frames)).shape == (2, 1, frames * 16)
    assert gen.inference(c[0].T).shape == (frames * 16, 1)
    two = tiny(out_channels=2, win_length=48)
    assert two(c).shape == (2, 2, frames * 16)


def test_trace_and_script_equal_eager():
    gen = tiny().eval()
    gen.remove_weight_norm()  # no-op, present for a uniform export path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's deprecation notice
        traced = torch.jit.trace(InferenceWrapper(gen), torch.randn(5, 6))
        scripted = torch.jit.script(gen)
    c = torch.randn(12, 6)  # another length than the traced one
    with torch.no_grad():
        eager = gen.inference(c)
        assert traced(c).shape == (12 * 16, 1)
        torch.testing.assert_close(traced(c), eager)
        torch.testing.assert_close(scripted.inference(c), eager)


def set_head_to_one_bin(gen, bin_index, log_mag, phase=0.0):
    """Make the head ignore its input: log-magnitude ``log_mag`` at one bin, ~0 elsewhere, phase ``phase``."""
    n_freq = gen.n_freq
    with torch.no_grad():
        gen.head.weight.zero_()
        bias = torch.full((2 * n_freq,), -40.0)
        bias[bin_index] = log_mag
        bias[n_freq:] = phase
        gen.head.bias.copy_(bias)


def one_bin_overlap_add(n_fft, hop, k, amp, frames):
    """Inverse STFT, computed by hand, of ``frames`` frames that all hold ``X[k] = amp`` (phase 0).

    Each frame's inverse DFT is ``(2 amp / n_fft) cos(2 pi k m / n_fft)`` (local sample ``m``); frame
    ``t`` starts at ``t * hop - n_fft / 2`` (centred), is windowed, overlap-added, and the sum is divided
    by the overlap-added squared window.
    """
    window = torch.hann_window(n_fft, dtype=torch.float64)
    out = torch.zeros(frames * hop, dtype=torch.float64)
    for n in range(frames * hop):
        num = den = 0.0
        for t in range(frames):
            m = n + n_fft // 2 - t * hop
            if 0 <= m < n_fft:
                num += window[m] * (2 * amp / n_fft) * math.cos(2 * math.pi * k * m / n_fft)
                den += window[m] ** 2
        out[n] = num / den
    return out


def test_one_bin_spectrum_gives_the_hand_computed_overlap_add():
    n_fft, hop, k, amp, frames = 64, 16, 4, 8.0, 6
    gen = tiny()
    set_head_to_one_bin(gen, k, math.log(amp))
    wav = gen(torch.randn(1, 6, frames))[0, 0]
    expected = one_bin_overlap_add(n_fft, hop, k, amp, frames)
    torch.testing.assert_close(wav.double(), expected, rtol=1e-4, atol=1e-5)
    # k * hop / n_fft is an integer, so all frames agree: inside, a cosine scaled by sum(w) / sum(w^2) = 4 / 3
    inside = torch.arange(n_fft // 2, frames * hop - n_fft // 2)
    cosine = (2 * amp / n_fft) * torch.cos(2 * math.pi * k * inside.double() / n_fft)
    torch.testing.assert_close(wav.double()[inside], cosine * 4 / 3, rtol=1e-4, atol=1e-5)


def test_log_magnitude_is_capped():
    gen = tiny(max_log_magnitude=1.0)
    set_head_to_one_bin(gen, 4, 10.0)
    wav = gen(torch.randn(1, 6, 5))[0, 0]
    torch.testing.assert_close(wav.double(), one_bin_overlap_add(64, 16, 4, math.e, 5), rtol=1e-4, atol=1e-5)


def test_layer_scale_default_and_bad_options():
    gen = tiny(num_blocks=4)
    torch.testing.assert_close(gen.backbone.blocks[0].gamma.detach(), torch.full((16,), 0.25))
    assert tiny(layer_scale_init=0.0).backbone.blocks[0].gamma is None
    with pytest.raises(ConfigError, match="hop_length"):
        tiny(hop_length=40)
    with pytest.raises(ConfigError, match="win_length"):
        tiny(win_length=128)
    with pytest.raises(ConfigError, match="window"):
        tiny(window="gauss")
    with pytest.raises(ConfigError, match="kernel_size"):
        tiny(kernel_size=4)


def test_gradients_reach_the_backbone():
    gen = tiny()
    gen(torch.randn(2, 6, 5)).pow(2).mean().backward()
    for name in ("backbone.input_conv.weight", "backbone.blocks.0.pwconv1.weight", "head.weight"):
        grad = dict(gen.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
