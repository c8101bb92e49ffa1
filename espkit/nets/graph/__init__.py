"""Networks described in YAML: layers, submodels and skip connections (docs/graphs.md).

>>> import torch
>>> from espkit.nets.graph import LayerGraph
>>> graph = LayerGraph({"model_components": {"net": {"submodels": [
...     {"name": "mlp", "submodel_inputs": ["x"], "layers": [{"Linear": {"in_features": 3, "out_features": 2}}]}]}}})
>>> graph({"x": torch.zeros(4, 3)})["net"][0].shape
torch.Size([4, 2])
"""

from espkit.nets.graph.component import GraphComponent, LayerGraph, build_component
from espkit.nets.graph.spec import GraphSpec, GraphSpecError, load_architecture

__all__ = ["GraphComponent", "GraphSpec", "GraphSpecError", "LayerGraph", "build_component", "load_architecture"]
