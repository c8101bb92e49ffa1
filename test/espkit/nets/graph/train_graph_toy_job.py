"""A tiny training job of a graph-built model, run as a subprocess by test_nets_graph_resume.py.

usage: python train_graph_toy_job.py OUTPUT_DIR RESUME(0|1) SLEEP_PER_BATCH_S
The job of test/espkit/train/train_trainer_toy_job.py (its training: data, optimizer, scheduler, a
checkpoint after every batch) with the MLP given as a graph YAML: batch norm, espkit's dropout and a skip
connection across submodels.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "train"))

from train_trainer_toy_job import main  # noqa: E402

from espkit.nets.graph import LayerGraph  # noqa: E402
from espkit.train.abs_espnet_model import AbsESPnetModel  # noqa: E402

torch.set_num_threads(1)

ARCHITECTURE = {
    "model_components": {
        "regressor": {
            "submodels": [
                {
                    "name": "hidden",
                    "submodel_inputs": ["x"],
                    "layers": [
                        {"Linear": {"in_features": 4, "out_features": 16}},
                        {"BatchNorm1d": {"num_features": 16}},
                        "Tanh",
                        {"UniformDropout": {"p": 0.3}},
                    ],
                    "skip_connections": {"hidden_0": {"future_layers": ["out_1"], "connection_types": ["add"]}},
                },
                {
                    "name": "out",
                    "submodel_inputs": [{"hidden": "output"}],
                    "layers": [
                        {"Linear": {"in_features": 16, "out_features": 16}},
                        {"Linear": {"in_features": 16, "out_features": 1}},
                    ],
                },
            ]
        }
    }
}


class GraphRegressor(AbsESPnetModel):
    def __init__(self):
        super().__init__()
        self.graph = LayerGraph(ARCHITECTURE)

    def forward(self, x, y):
        pred = self.graph({"x": x})["regressor"][0].squeeze(-1)
        loss = ((pred - y) ** 2).mean()
        return loss, {"loss": loss.detach()}, x.shape[0]

    def collect_feats(self, x, y):
        return {"x": x}


if __name__ == "__main__":
    main(GraphRegressor)
