"""A graph-built model killed mid-epoch and resumed ends with the weights of an uninterrupted run."""

import importlib.util
from pathlib import Path

import torch
from killed_job import kill_and_resume

JOB = Path(__file__).with_name("train_graph_toy_job.py")


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    kill_and_resume(JOB, tmp_path, epoch=2, min_batch=2)
    expected = torch.load(tmp_path / "reference" / "final.pth", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "final.pth", weights_only=True)
    assert "graph.components.regressor.layers.hidden_1.running_mean" in expected
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key
    # and training moved the weights: the comparison is not between two untouched models
    spec = importlib.util.spec_from_file_location("train_graph_toy_job", JOB)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    torch.manual_seed(0)
    initial = job.GraphRegressor().state_dict()
    assert not torch.equal(
        initial["graph.components.regressor.layers.out_1.weight"],
        expected["graph.components.regressor.layers.out_1.weight"],
    )
