"""SIGKILL in the middle of an epoch, then --resume: the final weights are bit-identical."""

import signal
from pathlib import Path

import torch
from killed_job import finish_job, kill_when_checkpointed, start_job

from espkit.train.checkpoint import load_checkpoint
from espkit.train.history import HISTORY_NAME, read_history

JOB = Path(__file__).with_name("train_trainer_toy_job.py")


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    reference = start_job(JOB, tmp_path / "reference", resume=False, sleep_s=0.0)
    killed = start_job(JOB, tmp_path / "killed", resume=False, sleep_s=0.05)
    position = kill_when_checkpointed(killed, tmp_path / "killed", epoch=2, min_batch=2)
    assert position is not None, "the job finished or stalled before epoch 2 was reached"
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "final.pth").exists()

    finish_job(start_job(JOB, tmp_path / "killed", resume=True, sleep_s=0.0))
    finish_job(reference)
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
    histories = [read_history(tmp_path / name / HISTORY_NAME) for name in ("reference", "killed")]
    for records in histories:
        assert [record["epoch"] for record in records] == [1, 2, 3]
        for record in records:
            del record["timing"]
            for values in record["stats"].values():
                del values["time"]
    assert histories[0] == histories[1]
