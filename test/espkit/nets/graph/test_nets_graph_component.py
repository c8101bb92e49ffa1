"""Built graphs: connections within and across submodels, state dicts, TorchScript, length-aware layers."""

import io

import pytest
import torch
from toy_graphs import linear, two_submodel_graph

from espkit.nets.graph import LayerGraph
from espkit.nets.graph.component import combine
from espkit.nets.graph.layers import LastFrame, MaskedConv1d, MaskedGRU, MaskedLSTM, MaskedMean, torch_layer_names


def two_submodels(connection, across):
    """:func:`two_submodel_graph` with a skip from a_0 into a_2 (within) or into b_0 (across); ``concat``
    widens that layer's input."""
    wide = 8 if connection == "concat" else 4
    a_2, b_0 = (wide, 4) if not across else (4, wide)
    target = "b_0" if across else "a_2"
    graph = two_submodel_graph(a_2, b_0)
    graph["model_components"]["net"]["submodels"][0]["skip_connections"] = {
        "a_0": {"future_layers": [target], "connection_types": [connection]}
    }
    return graph


@pytest.mark.parametrize("across", [False, True], ids=["within", "across"])
@pytest.mark.parametrize("connection", ["add", "concat", "mul"])
def test_each_connection_type_within_and_across_submodels(connection, across):
    torch.manual_seed(0)
    graph = LayerGraph(two_submodels(connection, across))
    layers = graph.components["net"].layers
    x = torch.randn(5, 3)
    h0 = layers["a_0"](x)
    h1 = torch.tanh(h0)
    if across:
        expected = layers["b_0"](combine(layers["a_2"](h1), h0, connection, 1))
    else:
        expected = layers["b_0"](layers["a_2"](combine(h1, h0, connection, 1)))
    manual = {"add": h1 + h0, "mul": h1 * h0, "concat": torch.cat([h1, h0], 1)}[connection]
    assert torch.equal(combine(h1, h0, connection, 1), manual)
    assert torch.allclose(graph({"x": x})["net"][0], expected, atol=0, rtol=0)


def test_submodel_inputs_are_combined_and_outputs_can_be_several_layers():
    arch = {
        "model_components": {
            "net": {
                "outputs": ["a_0", "mix"],
                "submodels": [
                    {"name": "a", "submodel_inputs": ["x"], "layers": [linear(3, 4)]},
                    {"name": "b", "submodel_inputs": ["y"], "layers": [linear(2, 4)]},
                    {
                        "name": "mix",
                        "submodel_inputs": [{"a": "output"}, {"b": "b_0"}, "x"],
                        "input_connection": "concat",
                        "concat_dim": -1,
                        "layers": [linear(11, 1)],
                    },
                ],
            }
        }
    }
    graph = LayerGraph(arch)
    layers = graph.components["net"].layers
    x, y = torch.randn(2, 3), torch.randn(2, 2)
    first, mixed = graph({"x": x, "y": y})["net"]
    assert torch.equal(first, layers["a_0"](x))
    assert torch.equal(mixed, layers["mix_0"](torch.cat([layers["a_0"](x), layers["b_0"](y), x], -1)))
    assert graph.components["net"].input_names == ["x", "y"]


def test_submodels_run_in_dependency_order_whatever_the_list_order():
    arch = {
        "model_components": {
            "net": {
                "outputs": ["late"],
                "submodels": [
                    {"name": "late", "submodel_inputs": [{"early": "output"}], "layers": [linear(4, 1)]},
                    {"name": "early", "submodel_inputs": ["x"], "layers": [linear(3, 4)]},
                ],
            }
        }
    }
    graph = LayerGraph(arch)
    assert list(graph.components["net"].layers) == ["early_0", "late_0"]
    x = torch.randn(2, 3)
    layers = graph.components["net"].layers
    assert torch.equal(graph({"x": x})["net"][0], layers["late_0"](layers["early_0"](x)))


SEQUENCE_GRAPH = {
    "model_components": {
        "encoder": {
            "lengths": "feats_lengths",
            "example_inputs": {"feats": [2, 10, 6], "feats_lengths": {"values": [10, 7]}},
            "submodels": [
                {
                    "name": "convs",
                    "submodel_inputs": ["feats"],
                    "layers": [
                        {"Transpose": {"dim0": 1, "dim1": 2}},
                        {"ConvBlock1d": {"in_channels": 6, "out_channels": 8, "kernel_size": 3, "dropout": 0.2}},
                        {"MaskedConv1d": {"in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": 1}},
                        {"BatchNorm1d": {"num_features": 8}},
                        {"UniformDropout": {"p": 0.3}},
                        {"Transpose": {"dim0": 1, "dim1": 2}},
                    ],
                    "skip_connections": {"convs_1": {"future_layers": ["convs_3"], "connection_types": ["add"]}},
                },
                {
                    "name": "rnn",
                    "submodel_inputs": [{"convs": "output"}],
                    "layers": [
                        {"MaskedGRU": {"input_size": 8, "hidden_size": 5, "bidirectional": True}},
                        {"MaskedLSTM": {"input_size": 10, "hidden_size": 4}},
                        "LastFrame",
                    ],
                },
                {
                    "name": "pool",
                    "submodel_inputs": [{"convs": "output"}],
                    "layers": [{"MaskedMean": {"dim": 1}}],
                },
                {
                    "name": "head",
                    "submodel_inputs": [{"rnn": "output"}, {"pool": "output"}],
                    "layers": [linear(12, 3)],
                },
            ],
        }
    }
}


def sequence_batch():
    generator = torch.Generator().manual_seed(3)
    feats = torch.randn(3, 12, 6, generator=generator)
    return {"feats": feats, "feats_lengths": torch.tensor([12, 9, 4])}


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_torchscript_script_and_trace_equal_eager():
    torch.manual_seed(0)
    graph = LayerGraph(SEQUENCE_GRAPH)
    component = graph.components["encoder"]
    batch = sequence_batch()
    scripted = torch.jit.script(component)
    # training mode: dropout and batch statistics, same RNG draws
    torch.manual_seed(5)
    eager_out = component(batch)[0]
    torch.manual_seed(5)
    assert torch.equal(scripted(batch)[0], eager_out)
    component.eval()
    scripted.eval()
    traced = torch.jit.trace(component, (batch,), strict=False)
    other = {"feats": torch.randn(2, 7, 6), "feats_lengths": torch.tensor([7, 3])}
    for inputs in (batch, other, {"feats": other["feats"]}):
        expected = component(inputs)[0]
        assert torch.equal(scripted(inputs)[0], expected)
    for inputs in (batch, other):
        assert torch.equal(traced(inputs)[0], component(inputs)[0])
    # the whole file as one module scripts too
    assert torch.equal(torch.jit.script(graph.eval())(batch)["encoder"][0], component(batch)[0])


def test_state_dict_round_trip_through_a_file():
    torch.manual_seed(0)
    trained = LayerGraph(SEQUENCE_GRAPH)
    trained(sequence_batch())  # moves the batch norm statistics
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)
    fresh = LayerGraph(SEQUENCE_GRAPH)
    assert "components.encoder.layers.convs_3.running_mean" in fresh.state_dict()
    assert "components.encoder.layers.rnn_0.rnn.weight_ih_l0" in fresh.state_dict()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    trained.eval()
    fresh.eval()
    batch = sequence_batch()
    assert torch.equal(fresh(batch)["encoder"][0], trained(batch)["encoder"][0])


def test_building_leaves_the_global_rng_and_modes_alone():
    torch.manual_seed(0)
    LayerGraph(SEQUENCE_GRAPH)  # builds and dry-runs
    after_build = torch.rand(1)
    torch.manual_seed(0)
    for _ in LayerGraph(SEQUENCE_GRAPH, dry_run=False).parameters():
        pass
    assert torch.equal(torch.rand(1), after_build)
    graph = LayerGraph(SEQUENCE_GRAPH)
    assert graph.training and all(m.training for m in graph.modules())


@pytest.mark.parametrize(
    ("layer", "time_first"),
    [
        (MaskedConv1d(4, 4, 3, padding=1), False),
        (MaskedGRU(4, 3, bidirectional=True), True),
        (MaskedLSTM(4, 3, num_layers=2), True),
        (LastFrame(), True),
        (MaskedMean(1), True),
        (MaskedMean(2), False),
    ],
)
def test_length_aware_layers_ignore_padding(layer, time_first):
    torch.manual_seed(0)
    x = torch.randn(2, 9, 4) if time_first else torch.randn(2, 4, 9)
    lengths = torch.tensor([9, 5])
    short = x[1:, :5] if time_first else x[1:, :, :5]
    padded = x.clone()
    if time_first:
        padded[1, 5:] = 100.0
    else:
        padded[1, :, 5:] = 100.0
    item = layer(padded, lengths)[1:]
    if item.dim() == 3:  # a sequence: its real frames
        item = item[:, :5] if time_first else item[:, :, :5]
    assert torch.allclose(item, layer(short, torch.tensor([5])), atol=1e-6)


def test_torch_layers_are_the_one_tensor_modules():
    names = torch_layer_names()
    for name in ("Conv1d", "ConvTranspose1d", "Linear", "LeakyReLU", "BatchNorm1d", "AvgPool1d", "Flatten"):
        assert name in names
    for name in ("LSTM", "GRU", "MSELoss", "Sequential", "ModuleList", "MultiheadAttention", "LazyLinear", "Bilinear"):
        assert name not in names


def test_ddp_wraps_a_graph_like_any_module(tmp_path):
    """One gloo process: DDP broadcasts the graph's parameters and buffers, runs it on a dict of inputs
    and reduces its gradients; they are those of the unwrapped graph."""
    torch.manual_seed(0)
    graph = LayerGraph(SEQUENCE_GRAPH).eval()
    plain = LayerGraph(SEQUENCE_GRAPH).eval()
    plain.load_state_dict(graph.state_dict())
    store = torch.distributed.FileStore(str(tmp_path / "store"), 1)
    torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        wrapped = torch.nn.parallel.DistributedDataParallel(graph)
        batch = sequence_batch()
        wrapped(batch)["encoder"][0].square().sum().backward()
        plain(batch)["encoder"][0].square().sum().backward()
    finally:
        torch.distributed.destroy_process_group()
    for (name, param), other in zip(graph.named_parameters(), plain.parameters()):
        assert torch.equal(param.grad, other.grad), name
