import math
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.nn.utils import parametrize

from espkit.gan_tts.hifigan import (
    HiFiGANGenerator,
    HiFiGANMultiPeriodDiscriminator,
    HiFiGANMultiScaleDiscriminator,
    HiFiGANMultiScaleMultiPeriodDiscriminator,
    HiFiGANPeriodDiscriminator,
    HiFiGANScaleDiscriminator,
)
from espkit.gan_tts.hifigan.hifigan import upsample_padding
from espkit.utils.errors import ConfigError

torch.set_num_threads(1)

SIZES = Path(__file__).parents[3] / "egs/espeak_emo/tts1/conf/tuning/vocoder_sizes"


def tiny_generator(**kwargs):
    conf = dict(
        in_channels=6,
        channels=16,
        upsample_scales=(4, 2),
        upsample_kernel_sizes=(8, 4),
        resblock_kernel_sizes=(3, 5),
        resblock_dilations=((1, 3), (1, 2)),
    )
    conf.update(kwargs)
    return HiFiGANGenerator(**conf)


def conv_len(length, kernel, stride, padding):
    return (length + 2 * padding - kernel) // stride + 1


class InferenceWrapper(nn.Module):
    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, c):
        return self.generator.inference(c)


def trace(module, example):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's deprecation notice
        return torch.jit.trace(module, example)


def script(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(module)


@pytest.mark.parametrize("frames", [1, 5, 13])
def test_generator_output_length_is_frames_times_hop(frames):
    gen = tiny_generator()
    assert gen.upsample_factor == 8 and gen.requires_f0 is False
    c = torch.randn(2, 6, frames)
    assert gen(c).shape == (2, 1, frames * 8)
    assert gen.inference(c[0].T).shape == (frames * 8, 1)


def test_generator_odd_scales_and_kernels_keep_exact_length():
    gen = tiny_generator(upsample_scales=(3, 5), upsample_kernel_sizes=(7, 10), out_channels=2)
    assert gen.upsample_factor == 15
    assert gen(torch.randn(1, 6, 4)).shape == (1, 2, 60)
    # ESPnet2's padding for kernel = 2 * scale
    for scale in range(2, 9):
        assert upsample_padding(2 * scale, scale) == (scale // 2 + scale % 2, scale % 2)
    with pytest.raises(ConfigError, match="upsample_kernel_sizes"):
        tiny_generator(upsample_kernel_sizes=(3, 4))


def test_generator_ignores_f0_and_accepts_global_conditioning():
    gen = tiny_generator().eval()
    c = torch.randn(2, 6, 4)
    torch.testing.assert_close(gen(c, f0=torch.full((2, 1, 4), 120.0)), gen(c))
    gen_g = tiny_generator(global_channels=3)
    assert gen_g(c, g=torch.randn(2, 3, 1)).shape == (2, 1, 32)
    assert gen_g.inference(c[0].T, g=torch.randn(3, 1)).shape == (32, 1)
    with pytest.raises(ValueError, match="global_channels"):
        gen(c, g=torch.randn(2, 3, 1))


def test_generator_trace_equals_eager_and_weight_norm_removal_keeps_output():
    gen = tiny_generator().eval()
    assert parametrize.is_parametrized(gen.input_conv, "weight")
    traced = trace(InferenceWrapper(gen), torch.randn(6, 6))
    c = torch.randn(11, 6)  # another length than the traced one
    with torch.no_grad():
        eager = gen.inference(c)
        torch.testing.assert_close(traced(c), eager)
        gen.remove_weight_norm()
        assert not any("parametrizations" in key for key in gen.state_dict())
        torch.testing.assert_close(gen.inference(c), eager, rtol=1e-5, atol=1e-6)
        scripted = script(gen)  # scripts once weight norm is folded
        torch.testing.assert_close(scripted.inference(c), eager, rtol=1e-5, atol=1e-6)


def test_generator_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="same length"):
        tiny_generator(upsample_kernel_sizes=(8,))
    with pytest.raises(ConfigError, match="resblock_kernel_sizes"):
        tiny_generator(resblock_dilations=((1,),))
    with pytest.raises(ConfigError, match="too small"):
        tiny_generator(channels=2)
    with pytest.raises(ConfigError, match="nonlinear_activation"):
        tiny_generator(nonlinear_activation="NoSuchAct")


@pytest.mark.parametrize("version, params_m", [("v1", 13.93), ("v2", 0.93), ("v3", 1.46)])
def test_published_sizes_build_with_hop_256(version, params_m):
    conf = yaml.safe_load((SIZES / f"hifigan_{version}.yaml").read_text())
    assert conf["generator"] == "hifigan"
    gen = HiFiGANGenerator(**conf["generator_conf"])
    gen.remove_weight_norm()
    assert gen.upsample_factor == 256
    assert sum(p.numel() for p in gen.parameters()) / 1e6 == pytest.approx(params_m, abs=0.01)
    if version != "v1":
        with torch.no_grad():
            assert gen(torch.randn(1, 80, 2)).shape == (1, 1, 512)


@pytest.mark.parametrize("length", [96, 100, 101])
def test_period_discriminator_shapes_and_reflect_padding(length):
    period = 3
    disc = HiFiGANPeriodDiscriminator(
        period=period, channels=4, downsample_scales=(3, 3, 1), max_downsample_channels=32
    )
    x = torch.randn(2, 1, length)
    outs = disc(x)
    assert len(outs) == 4  # three downsampling layers + the flattened final output
    rows = math.ceil(length / period)
    expected_channels = [4, 16, 32]
    for out, scale, chans in zip(outs[:-1], (3, 3, 1), expected_channels):
        rows = conv_len(rows, 5, scale, 2)
        assert out.shape == (2, chans, rows, period)
    assert outs[-1].shape == (2, rows * period)  # output conv keeps the length
    n_pad = (-length) % period
    padded = F.pad(x, (0, n_pad), "reflect") if n_pad else x
    torch.testing.assert_close(disc(padded)[-1], outs[-1])


def test_multi_period_discriminator_one_list_per_period():
    periods = (2, 3, 5)
    mpd = HiFiGANMultiPeriodDiscriminator(
        periods=periods, discriminator_params=dict(channels=4, downsample_scales=(3, 1), max_downsample_channels=8)
    )
    outs = mpd(torch.randn(1, 1, 67))
    assert len(outs) == 3
    for out, period in zip(outs, periods):
        assert len(out) == 3 and out[0].shape[-1] == period
        assert out[-1].dim() == 2
    with pytest.raises(ConfigError, match="period discriminator_params"):
        HiFiGANMultiPeriodDiscriminator(periods=(2,), discriminator_params=dict(no_such_option=1))


SCALE_PARAMS = dict(channels=8, max_downsample_channels=32, max_groups=4, downsample_scales=(2, 4, 1))


def test_scale_discriminator_layer_shapes():
    disc = HiFiGANScaleDiscriminator(**SCALE_PARAMS)
    outs = disc(torch.randn(2, 1, 200))
    assert len(outs) == 1 + 3 + 2
    length = 200
    assert outs[0].shape == (2, 8, length)
    for out, scale, chans in zip(outs[1:4], (2, 4, 1), (8, 16, 32)):
        length = conv_len(length, 41, scale, 20)
        assert out.shape == (2, chans, length)
    assert outs[4].shape == (2, 32, length) and outs[5].shape == (2, 1, length)
    with pytest.raises(ConfigError, match="groups"):
        HiFiGANScaleDiscriminator(channels=8, max_groups=16)
    with pytest.raises(ConfigError, match="exclusive"):
        HiFiGANScaleDiscriminator(**SCALE_PARAMS, use_spectral_norm=True)
    with pytest.raises(ConfigError, match="four odd"):
        HiFiGANScaleDiscriminator(kernel_sizes=(15, 41, 5))


def test_multi_scale_discriminator_pools_between_scales_and_official_norm():
    msd = HiFiGANMultiScaleDiscriminator(scales=3, discriminator_params=SCALE_PARAMS, follow_official_norm=True)
    x = torch.randn(1, 1, 160)
    outs = msd(x)
    assert len(outs) == 3 and all(len(out) == 6 for out in outs)
    assert [out[0].shape[-1] for out in outs] == [160, 81, 41]  # AvgPool1d(4, 2, padding=2)
    pooled = msd.pooling(msd.pooling(x))
    torch.testing.assert_close(msd.discriminators[2](pooled)[-1], outs[2][-1])
    first, second = msd.discriminators[0].layers[0][0], msd.discriminators[1].layers[0][0]
    assert hasattr(first.parametrizations.weight[0], "_u")  # spectral norm
    assert hasattr(second.parametrizations, "weight") and not hasattr(second.parametrizations.weight[0], "_u")


def test_multi_scale_multi_period_discriminator_order_and_counts():
    disc = HiFiGANMultiScaleMultiPeriodDiscriminator(
        scales=2,
        scale_discriminator_params=SCALE_PARAMS,
        periods=(2, 3),
        period_discriminator_params=dict(channels=4, downsample_scales=(3, 1), max_downsample_channels=8),
    )
    outs = disc(torch.randn(2, 1, 121))  # not a multiple of either period
    assert len(outs) == 4
    assert [len(out) for out in outs] == [6, 6, 3, 3]
    assert outs[0][-1].shape[:2] == (2, 1) and outs[2][-1].dim() == 2
    assert outs[2][0].shape[-1] == 2 and outs[3][0].shape[-1] == 3


def test_discriminator_state_dict_round_trip():
    def build():
        return HiFiGANMultiScaleMultiPeriodDiscriminator(
            scales=2,
            scale_discriminator_params=SCALE_PARAMS,
            periods=(2,),
            period_discriminator_params=dict(channels=4, downsample_scales=(3, 1), max_downsample_channels=8),
        ).eval()

    disc = build()
    state = disc.state_dict()
    assert "msd.discriminators.0.layers.0.0.parametrizations.weight.original" in state  # spectral norm
    assert "msd.discriminators.1.layers.0.0.parametrizations.weight.original0" in state  # weight norm g
    other = build()
    other.load_state_dict(state)
    x = torch.randn(1, 1, 90)
    for a, b in zip(disc(x), other(x)):
        torch.testing.assert_close(a[-1], b[-1])
