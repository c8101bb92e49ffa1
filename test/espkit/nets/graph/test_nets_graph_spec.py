"""Every mistake in an architecture YAML is one line naming the file and the YAML path."""

import copy

import pytest
import torch
import yaml
from toy_graphs import two_submodel_graph as base_graph

from espkit.nets.graph import GraphSpecError, LayerGraph, load_architecture


def submodel(graph, index):
    return graph["model_components"]["net"]["submodels"][index]


def build(tmp_path, graph):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(graph))
    return LayerGraph(str(path))


def expect_error(tmp_path, graph, *parts):
    with pytest.raises(GraphSpecError) as info:
        build(tmp_path, graph)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'arch.yaml'}: "), message
    for part in parts:
        assert part in message, message
    return message


def test_the_base_graph_builds_and_runs(tmp_path):
    graph = build(tmp_path, base_graph())
    assert graph({"x": torch.zeros(5, 3)})["net"][0].shape == (5, 2)


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text("model_components:\n  net: [unclosed\n")
    with pytest.raises(
        GraphSpecError,
        match=r"arch\.yaml: malformed YAML: line 3, column 1: expected .* \(while parsing a flow sequence\)$",
    ) as info:
        load_architecture(str(path))
    assert "\n" not in str(info.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(GraphSpecError, match=r"nothere\.yaml: architecture file not found"):
        load_architecture(str(tmp_path / "nothere.yaml"))


def test_unknown_layer_lists_the_valid_ones(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["layers"][2] = {"Lineer": {"in_features": 4, "out_features": 4}}
    message = expect_error(
        tmp_path,
        graph,
        "model_components.net.submodels[0].layers[2]: unknown layer 'Lineer' (did you mean Linear",
        "valid: espkit layers ChannelLayerNorm, ConvBlock1d,",
        "MaskedConv1d",
        "torch.nn layers AdaptiveAvgPool1d,",
    )
    assert "Conv1d" in message and "Tanh" in message and "MSELoss" not in message


def test_a_torch_layer_that_returns_a_tuple_points_to_the_wrapper(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["layers"][1] = {"LSTM": {"input_size": 4, "hidden_size": 4}}
    expect_error(tmp_path, graph, "submodels[0].layers[1]: torch.nn.LSTM cannot be a graph layer", "use MaskedLSTM")


def test_unknown_kwarg_lists_the_valid_ones(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["layers"][0] = {"Conv1d": {"in_channels": 3, "out_channels": 4, "kernal_size": 3}}
    expect_error(
        tmp_path,
        graph,
        "model_components.net.submodels[0].layers[0].Conv1d: unknown kwarg 'kernal_size' (did you mean kernel_size?) "
        "(valid: in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)",
    )


def test_missing_kwarg_and_a_bad_value_are_named(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["layers"][0] = {"Linear": {"in_features": 3}}
    expect_error(
        tmp_path,
        graph,
        "submodels[0].layers[0].Linear: missing kwarg 'out_features' (required: in_features, out_features)",
    )
    graph = base_graph()
    submodel(graph, 0)["layers"][1] = {"Dropout": {"p": 2.0}}
    expect_error(tmp_path, graph, "submodels[0].layers[1].Dropout: dropout probability has to be between 0 and 1")


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["skip_conections"] = {}
    expect_error(
        tmp_path,
        graph,
        "submodels[0].skip_conections: unknown key (did you mean skip_connections",
        "valid: name, submodel_inputs,",
    )


def test_skip_to_a_layer_that_does_not_exist(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["skip_connections"] = {"a_0": {"future_layers": ["a_9"], "connection_types": ["add"]}}
    expect_error(
        tmp_path,
        graph,
        "model_components.net.submodels[0].skip_connections.a_0.future_layers[0]: no layer 'a_9' in this component",
        "(layers: a_0, a_1, a_2, b_0)",
    )


@pytest.mark.parametrize(
    ("source", "target", "words"), [("a_2", "a_1", "comes earlier than 'a_2'"), ("a_1", "a_1", "is the layer itself")]
)
def test_skip_to_an_earlier_layer_or_itself(tmp_path, source, target, words):
    graph = base_graph()
    submodel(graph, 0)["skip_connections"] = {source: {"future_layers": [target], "connection_types": ["add"]}}
    expect_error(
        tmp_path,
        graph,
        f"submodels[0].skip_connections.{source}.future_layers[0]: skip connection to '{target}'",
        words,
    )


def test_skip_from_a_layer_of_another_submodel_is_refused(tmp_path):
    graph = base_graph()
    submodel(graph, 1)["skip_connections"] = {"a_0": {"future_layers": ["b_0"]}}
    expect_error(
        tmp_path, graph, "submodels[1].skip_connections.a_0: 'a_0' is not a layer of submodel 'b' (its layers: b_0)"
    )


def test_unknown_connection_type(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["skip_connections"] = {"a_0": {"future_layers": ["a_2"], "connection_types": ["sum"]}}
    expect_error(
        tmp_path, graph, "skip_connections.a_0.connection_types[0]: unknown connection 'sum' (valid: add, concat, mul)"
    )


def test_cycle_through_submodel_inputs(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["submodel_inputs"] = [{"b": "output"}]
    expect_error(tmp_path, graph, "cycle between submodels: a -> b -> a")


def test_cycle_through_a_skip_connection_across_submodels(tmp_path):
    graph = base_graph()  # b reads a's output; a skip from b's layer into a's layer closes a loop
    submodel(graph, 1)["layers"].append({"Linear": {"in_features": 2, "out_features": 4}})
    submodel(graph, 1)["skip_connections"] = {"b_1": {"future_layers": ["a_2"], "connection_types": ["add"]}}
    graph["model_components"]["net"]["outputs"] = ["b"]
    expect_error(tmp_path, graph, "cycle between submodels: ", "a -> b -> a")


def test_a_submodel_reading_its_own_output_is_a_cycle(tmp_path):
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = [{"a": "output"}, {"b": "output"}]
    expect_error(tmp_path, graph, "submodels[1].submodel_inputs[1]: cycle: submodel 'b' reads its own output")


def test_unused_submodel(tmp_path):
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = ["x"]
    submodel(graph, 1)["layers"] = [{"Linear": {"in_features": 3, "out_features": 2}}]
    expect_error(tmp_path, graph, "model_components.net.submodels[0]: submodel 'a' is unused", "(outputs: b_0)")


def test_submodel_inputs_name_what_exists(tmp_path):
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = [{"c": "output"}]
    expect_error(
        tmp_path, graph, "submodels[1].submodel_inputs[0]: no submodel 'c' in this component (submodels: a, b)"
    )
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = ["a"]
    expect_error(tmp_path, graph, "submodels[1].submodel_inputs[0]: 'a' is a submodel: write {a: output}")
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = [{"a": "a_7"}]
    expect_error(tmp_path, graph, "submodel 'a' has no output 'a_7' (valid: output, a_0, a_1, a_2)")


def test_shape_mismatch_in_a_layer_is_found_by_the_dry_run(tmp_path):
    graph = base_graph()
    submodel(graph, 1)["layers"][0] = {"Linear": {"in_features": 5, "out_features": 2}}
    expect_error(
        tmp_path,
        graph,
        "model_components.net.submodels[1].layers[0].Linear: shape mismatch in the dry run on example_inputs: "
        "input (2, 4): mat1 and mat2 shapes cannot be multiplied",
    )


def test_a_wider_input_from_a_concat_is_found_at_the_layer(tmp_path):
    graph = base_graph()
    submodel(graph, 0)["skip_connections"] = {"a_0": {"future_layers": ["b_0"], "connection_types": ["concat"]}}
    expect_error(
        tmp_path,
        graph,
        "submodels[1].layers[0].Linear: shape mismatch in the dry run on example_inputs: input (2, 8): mat1 and mat2",
    )


def test_shape_mismatch_in_a_connection_is_named_at_the_connection(tmp_path):
    graph = base_graph()  # a_0 (2, 4) stacked under a_2 (2, 5) along axis 0: the feature sizes differ
    submodel(graph, 0)["layers"][2] = {"Linear": {"in_features": 4, "out_features": 5}}
    submodel(graph, 1)["layers"][0] = {"Linear": {"in_features": 5, "out_features": 2}}
    submodel(graph, 0)["skip_connections"] = {
        "a_0": {"future_layers": ["b_0"], "connection_types": ["concat"], "concat_dim": 0}
    }
    expect_error(
        tmp_path,
        graph,
        "model_components.net.submodels[0].skip_connections.a_0.future_layers[0]: shape mismatch in the dry run on "
        "example_inputs: cannot concat (2, 4) into (2, 5) (the input of b_0): Sizes of tensors must match",
    )
    graph = base_graph()
    submodel(graph, 1)["submodel_inputs"] = [{"a": "output"}, "x"]
    submodel(graph, 1)["input_connection"] = "add"
    expect_error(
        tmp_path,
        graph,
        "submodels[1].submodel_inputs[1]: shape mismatch in the dry run on example_inputs: cannot add (2, 3) into (2, 4)",
    )


def test_an_add_that_would_grow_the_input_is_refused(tmp_path):
    graph = base_graph()  # (2, 1) + (2, 4) broadcasts to (2, 4): fine; (2, 4) into (2, 1) is not
    submodel(graph, 0)["layers"][2] = {"Linear": {"in_features": 4, "out_features": 1}}
    submodel(graph, 1)["layers"][0] = {"Linear": {"in_features": 1, "out_features": 2}}
    submodel(graph, 0)["skip_connections"] = {"a_0": {"future_layers": ["b_0"], "connection_types": ["add"]}}
    expect_error(
        tmp_path, graph, "future_layers[0]: shape mismatch", "add of (2, 4) into (2, 1) (the input of b_0) gives (2, 4)"
    )


def test_example_inputs_must_cover_the_inputs(tmp_path):
    graph = base_graph()
    graph["model_components"]["net"]["example_inputs"] = {"y": [2, 3]}
    expect_error(
        tmp_path, graph, "model_components.net.example_inputs.y: 'y' is not an input of this component (inputs: x)"
    )


def test_an_inline_graph_is_named_by_its_source():
    graph = copy.deepcopy(base_graph())
    submodel(graph, 0)["layers"][0] = {"Linear": {"in_features": 3, "out_feature": 4}}
    with pytest.raises(
        GraphSpecError, match=r"^--tts_conf postnet_architecture: model_components\.net\.submodels\[0\]"
    ):
        LayerGraph(graph, source="--tts_conf postnet_architecture")
