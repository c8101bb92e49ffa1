"""Run a training job in a subprocess, SIGKILL it mid-epoch, resume it: the harness of the resume tests.

A job script takes ``output_dir resume(0|1) sleep_s`` and writes ``final.pth`` when it completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

from espkit.train.checkpoint import CheckpointError, load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def start_job(job: Path, output_dir: Path, resume: bool, sleep_s: float) -> subprocess.Popen:
    """Start ``job`` (one thread, this checkout and ``test/helpers`` importable)."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "test" / "helpers")]),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return subprocess.Popen(
        [sys.executable, str(job), str(output_dir), "1" if resume else "0", str(sleep_s)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish_job(process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait for ``process``; it must exit 0 (its stderr's end is the failure message)."""
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode()[-3000:]


def kill_when_checkpointed(
    process: subprocess.Popen, output_dir: Path, epoch: int, min_batch: int, timeout: float = 60
) -> Optional[Tuple[int, int]]:
    """SIGKILL ``process`` once ``output_dir/checkpoint.pth`` is at ``epoch`` after at least ``min_batch``
    batches; returns that ``(epoch, batch_index)``, or None if the job ended or stalled before it."""
    checkpoint_path = output_dir / "checkpoint.pth"
    deadline = time.time() + timeout
    position = None
    while time.time() < deadline and process.poll() is None:
        if checkpoint_path.exists():
            try:
                checkpoint = load_checkpoint(checkpoint_path)
            except (CheckpointError, FileNotFoundError):
                checkpoint = None
            if checkpoint is not None and checkpoint["epoch"] == epoch and checkpoint["batch_index"] >= min_batch:
                process.send_signal(signal.SIGKILL)
                position = (checkpoint["epoch"], checkpoint["batch_index"])
                break
        time.sleep(0.01)
    process.wait(timeout=30)
    return position
