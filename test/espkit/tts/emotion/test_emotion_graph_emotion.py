"""--emo_extract graph (a reference encoder) and --emo_classifier graph."""

import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.bin.tts_train import main as tts_train
from espkit.nets.graph import GraphSpecError
from espkit.train.checkpoint import load_checkpoint
from espkit.tts.emotion.emo_classifier import EmotionClassifier
from espkit.tts.emotion.graph_emotion import GraphEmotionClassifier, GraphReferenceEncoder
from espkit.utils.errors import ConfigError


def reference_encoder_graph(idim=8, embed=6):
    """mel (B, T, idim) -> conv block -> masked conv (with a residual) -> GRU -> last frame | mean -> Linear."""
    return {
        "model_components": {
            "reference_encoder": {
                "lengths": "feats_lengths",
                "submodels": [
                    {
                        "name": "convs",
                        "submodel_inputs": ["feats"],
                        "layers": [
                            {"Transpose": {"dim0": 1, "dim1": 2}},
                            {"ConvBlock1d": {"in_channels": idim, "out_channels": 8, "kernel_size": 3}},
                            {"MaskedConv1d": {"in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": 1}},
                            "ReLU",
                            {"Transpose": {"dim0": 1, "dim1": 2}},
                        ],
                        "skip_connections": {"convs_1": {"future_layers": ["convs_3"], "connection_types": ["add"]}},
                    },
                    {
                        "name": "summary",
                        "submodel_inputs": [{"convs": "output"}],
                        "layers": [{"MaskedGRU": {"input_size": 8, "hidden_size": 5}}, "LastFrame"],
                    },
                    {"name": "mean", "submodel_inputs": [{"convs": "output"}], "layers": ["MaskedMean"]},
                    {
                        "name": "project",
                        "submodel_inputs": [{"summary": "output"}, {"mean": "output"}],
                        "layers": [{"Linear": {"in_features": 13, "out_features": embed}}, "Tanh"],
                    },
                ],
            }
        }
    }


def mlp_graph(idim, hidden, num_emotions, dropout):
    """The network of ``EmotionClassifier(idim, num_emotions, hidden, dropout)``."""
    layers = [
        {"Linear": {"in_features": idim, "out_features": hidden}},
        "ReLU",
        {"Dropout": {"p": dropout}},
        {"Linear": {"in_features": hidden, "out_features": num_emotions}},
    ]
    submodel = {"name": "mlp", "submodel_inputs": ["emo_embed"], "layers": layers}
    return {"model_components": {"classifier": {"submodels": [submodel]}}}


def test_reference_encoder_embeds_each_utterance_whatever_the_padding():
    torch.manual_seed(0)
    encoder = GraphReferenceEncoder(idim=8, architecture=reference_encoder_graph()).eval()
    assert encoder.output_size() == 6
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 20, 8, generator=gen)
    lengths = torch.tensor([20, 12, 5])
    padded = feats.clone()
    padded[1, 12:] = 50.0
    padded[2, 5:] = -50.0
    batch = encoder(padded, lengths)
    assert batch.shape == (3, 6)
    for i, length in enumerate(lengths.tolist()):
        alone = encoder(feats[i : i + 1, :length], lengths[i : i + 1])
        torch.testing.assert_close(batch[i : i + 1], alone, atol=1e-6, rtol=1e-5)


def test_graph_classifier_equals_the_mlp_with_copied_weights():
    torch.manual_seed(0)
    mlp = EmotionClassifier(6, 4, hidden_units=16, dropout_rate=0.3, label_smoothing=0.1)
    graph = GraphEmotionClassifier(6, 4, architecture=mlp_graph(6, 16, 4, 0.3), label_smoothing=0.1)
    graph.load_state_dict(dict(zip(graph.state_dict(), mlp.state_dict().values())))
    embeds = torch.randn(5, 6)
    labels = torch.tensor([0, 3, 2, -1, 1])
    for training in (True, False):
        mlp.train(training)
        graph.train(training)
        torch.manual_seed(2)
        logits, loss, stats = mlp(embeds, labels)
        torch.manual_seed(2)
        graph_logits, graph_loss, graph_stats = graph(embeds, labels)
        assert torch.equal(graph_logits, logits) and torch.equal(graph_loss, loss)
        assert graph_stats == stats
    assert torch.equal(graph.predict(embeds), mlp.predict(embeds))


def test_emotion_graphs_that_do_not_fit_are_refused():
    with pytest.raises(GraphSpecError) as info:
        GraphEmotionClassifier(6, 4, architecture=mlp_graph(6, 16, 3, 0.0))
    assert str(info.value) == (
        "architecture: model_components.classifier: the classifier must return logits (B, num_emotions=4): "
        "(2, 6) gave (2, 3)"
    )
    sequence_out = reference_encoder_graph()
    sequence_out["model_components"]["reference_encoder"]["outputs"] = ["convs"]
    with pytest.raises(GraphSpecError, match=r"reference_encoder\.submodels\[3\]: submodel 'project' is unused"):
        GraphReferenceEncoder(idim=8, architecture=sequence_out)
    del sequence_out["model_components"]["reference_encoder"]["submodels"][1:]
    with pytest.raises(GraphSpecError, match=r"one embedding per utterance \(B, D\): \(2, 16, 8\) gave \(2, 16, 8\)"):
        GraphReferenceEncoder(idim=8, architecture=sequence_out)
    with pytest.raises(ConfigError, match="--emo_classifier_conf architecture is required with --emo_classifier graph"):
        GraphEmotionClassifier(6, 4)


def test_tts_training_with_graph_emotion_parts(tmp_path):
    data = make_tiny_corpus(tmp_path / "data")
    encoder_file = tmp_path / "reference_encoder.yaml"
    encoder_file.write_text(yaml.safe_dump(reference_encoder_graph()))
    classifier_file = tmp_path / "classifier.yaml"
    classifier_file.write_text(yaml.safe_dump(mlp_graph(6, 8, 4, 0.1)))
    extra = [
        "--emo_extract",
        "graph",
        "--emo_extract_conf",
        f"architecture={encoder_file}",
        "--emo_classifier",
        "graph",
        "--emo_classifier_conf",
        f"architecture={classifier_file}",
        "--max_epoch",
        "1",
    ]
    tts_train(tiny_train_args(data, tmp_path / "exp", extra))
    history = load_checkpoint(tmp_path / "exp" / "checkpoint.pth")["reporter"]["history"]
    assert history[1]["train"]["emo_ce_loss"] > 0 and 0 <= history[1]["valid"]["emo_acc"] <= 1
    state = torch.load(tmp_path / "exp" / "1epoch.pth", weights_only=True)
    assert "emo_extract.graph.layers.summary_0.rnn.weight_ih_l0" in state
    assert "emo_classifier.net.graph.layers.mlp_3.weight" in state
    config = yaml.safe_load((tmp_path / "exp" / "config.yaml").read_text())
    assert config["emo_extract_conf"]["architecture"] == reference_encoder_graph()
    assert config["emo_classifier_conf"]["architecture"] == mlp_graph(6, 8, 4, 0.1)
