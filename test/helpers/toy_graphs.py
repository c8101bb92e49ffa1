"""A small graph architecture shared by the graph tests (test/espkit/nets/graph)."""

from __future__ import annotations


def linear(i: int, o: int) -> dict:
    """The YAML entry of ``Linear(i, o)``."""
    return {"Linear": {"in_features": i, "out_features": o}}


def two_submodel_graph(a_2_in: int = 4, b_0_in: int = 4) -> dict:
    """Component ``net`` (example input ``x`` (2, 3)): submodel a (x -> a_0 Linear(3, 4) -> a_1 Tanh ->
    a_2 Linear(a_2_in, 4)), submodel b (a's output -> b_0 Linear(b_0_in, 2)). A fresh dict on each call."""
    return {
        "model_components": {
            "net": {
                "example_inputs": {"x": [2, 3]},
                "submodels": [
                    {"name": "a", "submodel_inputs": ["x"], "layers": [linear(3, 4), "Tanh", linear(a_2_in, 4)]},
                    {"name": "b", "submodel_inputs": [{"a": "output"}], "layers": [linear(b_0_in, 2)]},
                ],
            }
        }
    }
