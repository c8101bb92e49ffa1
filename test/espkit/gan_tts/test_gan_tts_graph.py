"""--generator graph / --discriminator graph: a vocoder whose networks are graph YAMLs trains, exports and
reports its mistakes."""

import io

import pytest
import torch
import yaml

from espkit.gan_tts.export import trace_vocoder
from espkit.gan_tts.graph import GraphDiscriminator, GraphGenerator
from espkit.nets.graph import GraphSpecError
from espkit.tasks.gan_tts import GANTTSTask
from espkit.utils.errors import ConfigError

FEATS = "{fs: 8000, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}"


def upsample(in_channels, out_channels):
    """x4 in time: (T - 1) * 4 - 2 * 2 + 8 = 4 T."""
    conv = {"in_channels": in_channels, "out_channels": out_channels, "kernel_size": 8, "stride": 4, "padding": 2}
    return {"WeightNormConvTranspose1d": conv}


def leaky():
    return {"LeakyReLU": {"negative_slope": 0.1}}


def generator_graph(scales=3):
    layers = [{"WeightNormConv1d": {"in_channels": 8, "out_channels": 16, "kernel_size": 7, "padding": 3}}, leaky()]
    layers += [upsample(16, 8), leaky(), upsample(8, 8), leaky()]
    layers += [{"WeightNormConv1d": {"in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": 1}}, leaky()]
    layers += [upsample(8, 4), leaky()][: 2 if scales == 3 else 0]
    layers += [{"Conv1d": {"in_channels": 4 if scales == 3 else 8, "out_channels": 1, "kernel_size": 7, "padding": 3}}]
    layers += ["Tanh"]
    return {
        "model_components": {
            "generator": {
                "submodels": [
                    {
                        "name": "gen",
                        "submodel_inputs": ["feats"],
                        "layers": layers,
                        # a residual around the dilation-free conv at 16x the frame rate
                        "skip_connections": {"gen_5": {"future_layers": ["gen_8"], "connection_types": ["add"]}},
                    }
                ]
            }
        }
    }


DISCRIMINATOR_GRAPH = {
    "model_components": {
        "full_rate": {
            "outputs": ["d_1", "d_3", "d_4"],  # two feature maps, then the final output
            "submodels": [
                {
                    "name": "d",
                    "submodel_inputs": ["wav"],
                    "layers": [
                        {"WeightNormConv1d": {"in_channels": 1, "out_channels": 4, "kernel_size": 15, "padding": 7}},
                        leaky(),
                        {
                            "SpectralNormConv1d": {
                                "in_channels": 4,
                                "out_channels": 8,
                                "kernel_size": 41,
                                "stride": 4,
                                "padding": 20,
                                "groups": 4,
                            }
                        },
                        leaky(),
                        {"Conv1d": {"in_channels": 8, "out_channels": 1, "kernel_size": 3, "padding": 1}},
                    ],
                }
            ],
        },
        "half_rate": {
            "submodels": [
                {
                    "name": "h",
                    "submodel_inputs": ["wav"],
                    "layers": [
                        {"AvgPool1d": {"kernel_size": 4, "stride": 2, "padding": 2}},
                        {"Conv1d": {"in_channels": 1, "out_channels": 4, "kernel_size": 15, "padding": 7}},
                        leaky(),
                        {"Conv1d": {"in_channels": 4, "out_channels": 1, "kernel_size": 3, "padding": 1}},
                    ],
                }
            ]
        },
    }
}


def parse(tmp_path, generator=None, extra=()):
    generator_file = tmp_path / "generator.yaml"
    generator_file.write_text(yaml.safe_dump(generator or generator_graph()))
    discriminator_file = tmp_path / "discriminator.yaml"
    discriminator_file.write_text(yaml.safe_dump(DISCRIMINATOR_GRAPH))
    argv = [
        "--feats_extract_conf",
        FEATS,
        "--normalize",
        "none",
        "--generator",
        "graph",
        "--generator_conf",
        f"architecture={generator_file}",
        "--discriminator",
        "graph",
        "--discriminator_conf",
        f"architecture={discriminator_file}",
        "--model_conf",
        "segment_size=1024",
        "--optim2",
        "adam",
        *extra,
    ]
    return GANTTSTask.resolve_args(GANTTSTask.get_parser().parse_args(argv))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit
def test_a_graph_vocoder_builds_trains_one_turn_each_and_exports(tmp_path):
    args = parse(tmp_path)
    out = io.StringIO()
    GANTTSTask.print_config(args, file=out)
    config = yaml.safe_load(out.getvalue())
    assert config["generator_conf"]["architecture"] == generator_graph()
    assert config["discriminator_conf"]["architecture"] == DISCRIMINATOR_GRAPH
    torch.manual_seed(0)
    model = GANTTSTask.build_model(args)
    assert isinstance(model.generator, GraphGenerator) and isinstance(model.discriminator, GraphDiscriminator)
    assert model.generator.upsample_factor == 64

    gen = torch.Generator().manual_seed(0)
    batch = {"speech": 0.3 * torch.randn(2, 2000, generator=gen), "speech_lengths": torch.tensor([2000, 1500])}
    outputs = model.discriminator(batch["speech"][:, None, :1024])
    assert [len(maps) for maps in outputs] == [3, 1]
    assert outputs[0][1].shape == (2, 8, 256) and outputs[1][0].shape == (2, 1, 513)
    generator_turn = model(forward_generator=True, **batch)
    discriminator_turn = model(forward_generator=False, **batch)
    assert set(generator_turn["stats"]) >= {"generator_mel_loss", "generator_adv_loss", "generator_feat_match_loss"}
    assert generator_turn["stats"]["generator_feat_match_loss"] > 0  # the feature maps are compared
    for turn in (generator_turn, discriminator_turn):
        assert torch.isfinite(turn["loss"])
    generator_turn["loss"].backward()
    assert all(p.grad is not None for p in model.generator.parameters())

    model.eval()
    feats = torch.randn(13, 8, generator=gen)
    eager = model.inference(feats)["wav"]
    assert eager.shape == (13 * 64,)
    model.generator.remove_weight_norm()
    assert not any("parametrizations" in key for key in model.generator.state_dict())
    torch.testing.assert_close(model.inference(feats)["wav"], eager, atol=1e-5, rtol=1e-5)
    traced = trace_vocoder(model, torch.randn(9, 8, generator=gen))
    assert torch.equal(traced(feats), model.inference(feats)["wav"])
    scripted = torch.jit.script(model.generator)
    assert torch.equal(scripted.inference(feats), model.generator.inference(feats))


def test_a_generator_that_does_not_make_the_hop_is_refused(tmp_path):
    args = parse(tmp_path, generator=generator_graph(scales=2))
    with pytest.raises(ConfigError) as info:
        GANTTSTask.build_model(args)
    assert str(info.value) == (
        "--generator_conf (GraphGenerator): architecture: model_components.generator: the generator must return "
        "one waveform (B, 1, T_feats * hop_length): (1, 8, 8) gave (1, 1, 128), expected (1, 1, 512) "
        "(the features' hop_length is 64)"
    )


def test_graph_choices_need_an_architecture_and_check_it_when_resolving(tmp_path):
    with pytest.raises(ConfigError, match="--generator_conf architecture is required with --generator graph"):
        GraphGenerator(in_channels=8, upsample_factor=64)
    bad = generator_graph()
    bad["model_components"]["generator"]["submodels"][0]["layers"][2]["WeightNormConvTranspose1d"]["strid"] = 4
    with pytest.raises(GraphSpecError) as info:
        parse(tmp_path, generator=bad)
    assert str(info.value).startswith(
        f"{tmp_path / 'generator.yaml'}: model_components.generator.submodels[0].layers[2].WeightNormConvTranspose1d: "
        "unknown kwarg 'strid' (did you mean stride?)"
    )
    with pytest.raises(GraphSpecError, match=r"the discriminator reads wav, but the submodel_inputs name feats"):
        GraphDiscriminator(generator_graph())
