"""SIGKILL in the middle of an epoch, then --resume: the final weights are bit-identical."""

from pathlib import Path

import torch
from killed_job import assert_same_history_files, kill_and_resume

from espkit.train.checkpoint import load_checkpoint

JOB = Path(__file__).with_name("train_trainer_toy_job.py")


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    kill_and_resume(JOB, tmp_path, epoch=2, min_batch=2)
    expected = torch.load(tmp_path / "reference" / "final.pth", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "final.pth", weights_only=True)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key
    # the epoch averages, including the one of the interrupted epoch, are the same too
    history_expected = load_checkpoint(tmp_path / "reference" / "checkpoint.pth")["reporter"]["history"]
    history_resumed = load_checkpoint(tmp_path / "killed" / "checkpoint.pth")["reporter"]["history"]
    for epoch in (1, 2, 3):
        for phase in ("train", "valid"):
            assert history_resumed[epoch][phase]["loss"] == history_expected[epoch][phase]["loss"], (epoch, phase)
    # history.jsonl: epochs 1-3 once each, as the uninterrupted run's but for the timing fields
    assert_same_history_files(tmp_path / "reference", tmp_path / "killed", [1, 2, 3])
