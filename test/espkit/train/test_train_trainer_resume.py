"""SIGKILL in the middle of an epoch, then --resume: the final weights are bit-identical."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from espkit.train.checkpoint import CheckpointError, load_checkpoint

JOB = Path(__file__).with_name("train_trainer_toy_job.py")
REPO = Path(__file__).resolve().parents[3]


def start(output_dir, resume, sleep_s):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, str(JOB), str(output_dir), "1" if resume else "0", str(sleep_s)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(process, timeout=60):
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode()[-3000:]


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    reference = start(tmp_path / "reference", resume=False, sleep_s=0.0)
    killed = start(tmp_path / "killed", resume=False, sleep_s=0.05)
    checkpoint_path = tmp_path / "killed" / "checkpoint.pth"
    deadline = time.time() + 60
    position = None
    while time.time() < deadline and killed.poll() is None:
        if checkpoint_path.exists():
            try:
                checkpoint = load_checkpoint(checkpoint_path)
            except (CheckpointError, FileNotFoundError):
                checkpoint = None
            if checkpoint is not None and checkpoint["epoch"] == 2 and checkpoint["batch_index"] >= 2:
                killed.send_signal(signal.SIGKILL)
                position = (checkpoint["epoch"], checkpoint["batch_index"])
                break
        time.sleep(0.01)
    killed.wait(timeout=30)
    assert position is not None, "the job finished or stalled before epoch 2 was reached"
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "final.pth").exists()

    finish(start(tmp_path / "killed", resume=True, sleep_s=0.0))
    finish(reference)
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
