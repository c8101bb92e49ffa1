"""Run a training job in a subprocess, SIGKILL it mid-epoch, resume it: the harness of the resume tests.

A job script takes ``output_dir resume(0|1) sleep_s`` (:func:`job_arguments` reads them) and writes
``final.pth`` when it completes. :func:`kill_and_resume` runs the whole scenario next to an
uninterrupted reference run; :func:`assert_same_history_files` compares their ``history.jsonl``.
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
from espkit.train.history import HISTORY_NAME, read_history

REPO = Path(__file__).resolve().parents[2]


def job_arguments() -> Tuple[Path, bool, float]:
    """In a job script: its ``(output_dir, resume, sleep_s)``; also seeds torch with 0 and turns the
    reporter's plots off (curves are not what the jobs test)."""
    import torch

    from espkit.train.reporter import Reporter

    Reporter.plot = lambda self, output_dir: []
    torch.manual_seed(0)
    return Path(sys.argv[1]), sys.argv[2] == "1", float(sys.argv[3])


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


def kill_and_resume(job: Path, tmp_path: Path, epoch: int = 2, min_batch: int = 2) -> Tuple[Path, Path]:
    """Run ``job`` uninterrupted into ``tmp_path/reference`` and, beside it, into ``tmp_path/killed``:
    SIGKILLed once checkpointed at ``epoch`` after ``min_batch`` batches, then resumed to the end.
    Returns the two output directories (reference, killed); both hold ``final.pth``."""
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference = start_job(job, reference_dir, resume=False, sleep_s=0.0)
    killed = start_job(job, killed_dir, resume=False, sleep_s=0.05)
    position = kill_when_checkpointed(killed, killed_dir, epoch=epoch, min_batch=min_batch)
    assert position is not None, f"the job finished or stalled before epoch {epoch} was reached"
    assert killed.returncode == -signal.SIGKILL
    assert not (killed_dir / "final.pth").exists()
    finish_job(start_job(job, killed_dir, resume=True, sleep_s=0.0))
    finish_job(reference)
    return reference_dir, killed_dir


def assert_same_history_files(reference_dir: Path, killed_dir: Path, epochs: list) -> None:
    """Both ``history.jsonl`` hold ``epochs`` once each, in order, with the same records but for
    the timing fields."""
    histories = [read_history(directory / HISTORY_NAME) for directory in (reference_dir, killed_dir)]
    for records in histories:
        assert [record["epoch"] for record in records] == epochs
        for record in records:
            del record["timing"]
            for values in record["stats"].values():
                del values["time"]
    assert histories[0] == histories[1]
