"""espkit/nets/graph/adapter.py: the steps shared by the parts built from a graph YAML."""

import pytest
import torch

from espkit.nets.graph import GraphSpecError
from espkit.nets.graph.adapter import dry_run_one_output, load_component, output_shapes, require_architecture
from espkit.utils.errors import ConfigError

LINEAR = {
    "model_components": {
        "net": {
            "submodels": [
                {"name": "fc", "submodel_inputs": ["x"], "layers": [{"Linear": {"in_features": 3, "out_features": 2}}]}
            ]
        }
    }
}


def test_require_architecture():
    assert require_architecture(LINEAR, "postnet") is LINEAR
    with pytest.raises(ConfigError, match=r"^--emo_extract_conf architecture is required with --emo_extract graph \("):
        require_architecture(None, "emo_extract")


def test_load_component_checks_the_inputs():
    graph = load_component(LINEAR, "inline", None, "encoder", ["x"], None)
    assert graph(({"x": torch.zeros(4, 3)}))[0].shape == (4, 2)
    with pytest.raises(GraphSpecError, match="inline: model_components.net: the encoder reads feats, but"):
        load_component(LINEAR, "inline", None, "encoder", ["feats"], None)
    with pytest.raises(GraphSpecError, match="no component 'other' for the encoder"):
        load_component(LINEAR, "inline", "other", "encoder", ["x"], None)


def test_dry_run_one_output_returns_it_or_names_the_shapes():
    graph = load_component(LINEAR, "inline", None, "encoder", ["x"], None)
    x = {"x": torch.randn(5, 3)}
    out = dry_run_one_output(graph, x, "x", "an input", "the encoder must return (B, 2)", lambda s: s == (5, 2))
    assert out.shape == (5, 2) and not out.requires_grad
    with pytest.raises(
        GraphSpecError,
        match=r"^inline: model_components.net: the encoder must return \(B, 4\): \(5, 3\) gave \(5, 2\)!$",
    ):
        dry_run_one_output(graph, x, "x", "an input", "the encoder must return (B, 4)", lambda s: s == (5, 4), "!")
    assert output_shapes([torch.zeros(2, 3), torch.zeros(1)]) == "(2, 3), (1,)"
