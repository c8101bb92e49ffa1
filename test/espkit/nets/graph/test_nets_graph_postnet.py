"""A graph that restates the hand-written Tacotron2 postnet computes the same thing: equal outputs and
gradients for copied weights, equal losses over training steps, the same export."""

import io
from pathlib import Path

import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.bin.tts_train import main as tts_train
from espkit.nets.graph import GraphSpecError
from espkit.tasks.tts import TTSTask
from espkit.train.checkpoint import load_checkpoint
from espkit.tts.tacotron2.decoder import Postnet
from espkit.tts.tacotron2.export import script_tacotron2
from espkit.tts.tacotron2.graph_postnet import GraphPostnet
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.utils.errors import ConfigError

REPO = Path(__file__).resolve().parents[4]
RECIPE_GRAPH = REPO / "egs/espeak_emo/tts1/conf/tuning/graphs/postnet_tacotron2.yaml"
RECIPE_CONFIG = REPO / "egs/espeak_emo/tts1/conf/tuning/train_tacotron2_graph_postnet.yaml"


def postnet_graph(odim, n_layers, n_chans, n_filts, dropout_rate=0.5):
    """The graph of ``Postnet(odim, n_layers, n_chans, n_filts, use_batch_norm=True, dropout_rate)``."""
    layers = []
    for i in range(n_layers):
        in_chans = odim if i == 0 else n_chans
        out_chans = odim if i == n_layers - 1 else n_chans
        conv = {"in_channels": in_chans, "out_channels": out_chans, "kernel_size": n_filts}
        layers.append({"MaskedConv1d": {**conv, "padding": (n_filts - 1) // 2, "bias": False}})
        layers.append({"BatchNorm1d": {"num_features": out_chans}})
        if i < n_layers - 1:
            layers.append("Tanh")
        layers.append({"UniformDropout": {"p": dropout_rate}})
    submodel = {"name": "convs", "submodel_inputs": ["feats"], "layers": layers}
    return {"model_components": {"postnet": {"lengths": "feats_lengths", "submodels": [submodel]}}}


def copy_in_order(source, target):
    """Load ``source``'s state into ``target``, tensor by tensor in order (names differ, shapes agree)."""
    values = list(source.state_dict().values())
    keys = list(target.state_dict())
    assert len(values) == len(keys)
    target.load_state_dict(dict(zip(keys, values)))


def padded_frames(odim, lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    frames = torch.randn(len(lengths), max(lengths), odim, generator=generator)
    pad_mask = (torch.arange(max(lengths))[None, :] >= torch.tensor(lengths)[:, None]).unsqueeze(-1)
    return frames.masked_fill(pad_mask, 0.0), pad_mask


def test_the_recipe_graph_equals_the_postnet_of_conf_train_yaml():
    torch.manual_seed(0)
    postnet = Postnet(80, n_layers=3, n_chans=128, n_filts=5, use_batch_norm=True, dropout_rate=0.5)
    graph = GraphPostnet(80, str(RECIPE_GRAPH))
    copy_in_order(postnet, graph)
    frames, pad_mask = padded_frames(80, [20, 13, 6])
    for training in (True, False):
        postnet.train(training)
        graph.train(training)
        for mask in (pad_mask, None):
            inputs = frames.clone().requires_grad_(True)
            graph_inputs = frames.clone().requires_grad_(True)
            torch.manual_seed(1)
            expected = postnet.refine(inputs, mask)
            torch.manual_seed(1)
            refined = graph.refine(graph_inputs, mask)
            assert torch.equal(refined, expected)
            expected.square().sum().backward()
            refined.square().sum().backward()
            # padded frames are zero in the decoder's frames (masked_fill: no gradient reaches them);
            # the graph zeroes them before every convolution, Postnet relies on them being zero
            real = ~pad_mask if mask is not None else torch.ones_like(pad_mask)
            assert torch.equal(graph_inputs.grad * real, inputs.grad * real)
    # the batch norm statistics moved the same way in training
    assert torch.equal(graph.state_dict()["graph.layers.postnet_1.running_var"], postnet.blocks[0][1].running_var)
    gradients = [p.grad for p in postnet.parameters()]
    assert all(torch.equal(g, p.grad) for g, p in zip(gradients, graph.parameters()))


TINY = dict(
    embed_dim=8,
    eunits=8,
    econv_layers=1,
    econv_chans=8,
    adim=8,
    aconv_chans=4,
    aconv_filts=2,
    dlayers=1,
    dunits=12,
    prenet_units=8,
    postnet_layers=2,
    postnet_chans=8,
    postnet_filts=3,
    reduction_factor=2,
)


def test_a_tacotron2_with_the_graph_postnet_is_the_same_model():
    torch.manual_seed(0)
    conv = Tacotron2(10, 6, **TINY)
    torch.manual_seed(0)
    graph = Tacotron2(10, 6, **TINY, postnet_type="graph", postnet_architecture=postnet_graph(6, 2, 8, 3))
    # built from the same seed, the weights are the same (building the graph draws nothing more)
    assert all(torch.equal(a, b) for a, b in zip(conv.state_dict().values(), graph.state_dict().values()))
    assert "dec.postnet.graph.layers.convs_0.weight" in graph.state_dict()
    gen = torch.Generator().manual_seed(0)
    batch = dict(
        text=torch.randint(1, 9, (2, 5), generator=gen),
        text_lengths=torch.tensor([5, 3]),
        feats=torch.randn(2, 11, 6, generator=gen),
        feats_lengths=torch.tensor([11, 7]),
    )
    torch.manual_seed(3)
    loss_conv, stats_conv, _ = conv(**batch)
    torch.manual_seed(3)
    loss_graph, stats_graph, _ = graph(**batch)
    assert torch.equal(loss_graph, loss_conv) and stats_graph.keys() == stats_conv.keys()
    loss_conv.backward()
    loss_graph.backward()
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(conv.parameters(), graph.parameters()))

    conv.eval()
    graph.eval()
    ids = torch.tensor([1, 4, 5, 2, 7])
    torch.manual_seed(9)
    expected = conv.inference(ids, maxlenratio=3.0)
    torch.manual_seed(9)
    assert torch.equal(graph.inference(ids, maxlenratio=3.0)["feat_gen"], expected["feat_gen"])
    # the TorchScript export scripts the graph postnet and decodes as eager does
    scripted = script_tacotron2(graph, "none", maxlenratio=3.0)
    with torch.inference_mode():
        torch.manual_seed(9)
        feat_gen, _, _ = scripted(ids, torch.zeros(0))
    assert torch.allclose(feat_gen, expected["feat_gen"], atol=1e-5)


def test_postnet_options_and_a_graph_that_does_not_fit_are_refused():
    with pytest.raises(ValueError, match="postnet_type: graph needs postnet_architecture"):
        Tacotron2(10, 6, **TINY, postnet_type="graph")
    with pytest.raises(ValueError, match="postnet_architecture is given but postnet_type is conv"):
        Tacotron2(10, 6, **TINY, postnet_architecture=postnet_graph(6, 2, 8, 3))
    with pytest.raises(ValueError, match="postnet_type must be one of conv, graph"):
        Tacotron2(10, 6, **TINY, postnet_type="cbhg")
    wrong_size = postnet_graph(6, 2, 8, 3)
    wrong_size["model_components"]["postnet"]["submodels"][0]["layers"][-3]["MaskedConv1d"]["out_channels"] = 5
    wrong_size["model_components"]["postnet"]["submodels"][0]["layers"][-2]["BatchNorm1d"]["num_features"] = 5
    with pytest.raises(GraphSpecError) as info:
        GraphPostnet(6, wrong_size)
    assert str(info.value) == (
        "postnet_architecture: model_components.postnet: the postnet must return one residual of its input's shape "
        "(B, odim=6, T_feats): (2, 6, 7) gave (2, 5, 7)"
    )
    other_input = postnet_graph(6, 2, 8, 3)
    other_input["model_components"]["postnet"]["submodels"][0]["submodel_inputs"] = ["speech"]
    with pytest.raises(
        GraphSpecError, match=r"model_components\.postnet: the postnet reads feats, but the submodel_inputs name speech"
    ):
        GraphPostnet(6, other_input)


def _tts_args(tmp_path, architecture):
    data = make_tiny_corpus(tmp_path / "data")
    return tiny_train_args(
        data,
        tmp_path / "exp",
        ["--tts_conf", "postnet_type=graph", "--tts_conf", f"postnet_architecture={architecture}"],
    )


def test_print_config_shows_the_graph_and_a_bad_file_is_named(tmp_path):
    architecture = tmp_path / "postnet.yaml"
    architecture.write_text(yaml.safe_dump(postnet_graph(8, 1, 8, 5)))
    args = TTSTask.get_parser().parse_args(_tts_args(tmp_path, architecture))
    out = io.StringIO()
    TTSTask.print_config(args, file=out)
    config = yaml.safe_load(out.getvalue())
    assert config["tts_conf"]["postnet_type"] == "graph"
    assert config["tts_conf"]["postnet_architecture"] == postnet_graph(8, 1, 8, 5)

    bad = postnet_graph(8, 1, 8, 5)
    bad["model_components"]["postnet"]["submodels"][0]["layers"][0]["MaskedConv1d"]["kernal_size"] = 5
    architecture.write_text(yaml.safe_dump(bad))
    args = TTSTask.get_parser().parse_args(_tts_args(tmp_path, architecture))
    with pytest.raises(ConfigError) as info:
        TTSTask.resolve_args(args)
    assert str(info.value).startswith(
        f"{architecture}: model_components.postnet.submodels[0].layers[0].MaskedConv1d: unknown kwarg 'kernal_size'"
    )


def test_training_with_the_graph_postnet_gives_the_same_losses_and_resumes(tmp_path, capsys):
    """tts_train on the tiny corpus: the hand-written postnet, its graph (same seed, so the same initial
    weights), and the graph run stopped after epoch 1 and resumed."""
    data = make_tiny_corpus(tmp_path / "data")
    architecture = tmp_path / "postnet.yaml"
    # tiny_train_args: postnet_layers 1, postnet_chans 8, n_mels 8, filts 5 and dropout 0.5 (defaults)
    architecture.write_text(yaml.safe_dump(postnet_graph(8, 1, 8, 5)))
    graph_options = ["--tts_conf", "postnet_type=graph", "--tts_conf", f"postnet_architecture={architecture}"]
    tts_train(tiny_train_args(data, tmp_path / "conv"))
    tts_train(tiny_train_args(data, tmp_path / "graph", graph_options))
    tts_train(tiny_train_args(data, tmp_path / "resumed", [*graph_options, "--max_epoch", "1"]))
    # resumed from its config.yaml alone: the graph is written there
    capsys.readouterr()
    tts_train(["--config", str(tmp_path / "resumed" / "config.yaml"), "--resume", "true", "--max_epoch", "2"])

    log = capsys.readouterr().err  # tts_train logs to stderr
    assert "2/2 epoch started" in log and "1/2 epoch started" not in log

    def history(run):
        reporter = load_checkpoint(tmp_path / run / "checkpoint.pth")["reporter"]["history"]
        return {epoch: {phase: reporter[epoch][phase]["loss"] for phase in ("train", "valid")} for epoch in (1, 2)}

    assert history("graph") == history("conv")
    assert history("resumed") == history("graph")
    conv = torch.load(tmp_path / "conv" / "2epoch.pth", weights_only=True)
    graph = torch.load(tmp_path / "graph" / "2epoch.pth", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "2epoch.pth", weights_only=True)
    assert "tts.dec.postnet.graph.layers.convs_0.weight" in graph and graph.keys() == resumed.keys()
    assert all(torch.equal(a, b) for a, b in zip(conv.values(), graph.values()))
    assert all(torch.equal(graph[key], resumed[key]) for key in graph)
    config = yaml.safe_load((tmp_path / "graph" / "config.yaml").read_text())
    assert config["tts_conf"]["postnet_architecture"] == postnet_graph(8, 1, 8, 5)


def test_the_recipe_config_builds_with_its_graph_postnet(monkeypatch, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\na\nb\n<sos/eos>\n")
    monkeypatch.chdir(RECIPE_CONFIG.parents[2])  # paths in recipe configs are relative to egs/.../tts1
    args = TTSTask.get_parser().parse_args(
        [
            "--config",
            str(RECIPE_CONFIG),
            "--token_list",
            str(tokens),
            "--emo_list",
            "neutral,happy,sad,angry",
            "--normalize",
            "none",  # no statistics here
        ]
    )
    TTSTask.resolve_args(args)
    assert args.tts_conf["postnet_architecture"] == yaml.safe_load(RECIPE_GRAPH.read_text())
    model = TTSTask.build_model(args)
    assert isinstance(model.tts.dec.postnet, GraphPostnet)
    train = yaml.safe_load((RECIPE_CONFIG.parents[1] / "train.yaml").read_text())
    tuned = yaml.safe_load(RECIPE_CONFIG.read_text())
    for conf in (train, tuned):
        conf["tts_conf"] = {k: v for k, v in conf["tts_conf"].items() if not k.startswith("postnet_")}
    assert tuned == train  # the example changes the postnet and nothing else
