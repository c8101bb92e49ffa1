"""Two CPU processes under torchrun (gloo): they train like one process on the same global
batches, and a run stopped mid-epoch resumes to the same weights as an uninterrupted one."""

import os
import subprocess
import sys
from pathlib import Path

import torch

JOB = Path(__file__).with_name("train_trainer_ddp_job.py")
REPO = Path(__file__).resolve().parents[3]


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def _torchrun(output_dir, *options):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(JOB),
            str(output_dir),
            *options,
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_two_process_torchrun_matches_single_process(tmp_path):
    env = _env()
    ddp = _torchrun(tmp_path / "ddp")
    single = subprocess.run(
        [sys.executable, str(JOB), str(tmp_path / "single")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    ddp_output, _ = ddp.communicate(timeout=120)
    assert single.returncode == 0, single.stdout.decode()[-3000:]
    assert ddp.returncode == 0, ddp_output.decode()[-3000:]
    one = torch.load(tmp_path / "single" / "final.pth", weights_only=True)
    two = torch.load(tmp_path / "ddp" / "final.pth", weights_only=True)
    assert (one["world_size"], two["world_size"]) == (1, 2)
    for a, b in zip(one["losses"], two["losses"]):
        assert abs(a - b) < 1e-5, (one["losses"], two["losses"])
    for key, value in one["model"].items():
        assert torch.allclose(value, two["model"][key], atol=1e-5), key
    assert not torch.equal(one["model"]["net.0.weight"], torch.zeros_like(one["model"]["net.0.weight"]))


def test_two_process_run_stopped_mid_epoch_resumes_to_identical_weights(tmp_path):
    # 5 rows per global batch: rank 0 draws dropout masks for 3 rows, rank 1 for 2, so the ranks'
    # RNG states differ mid-epoch and each must get its own back on resume
    options = ("--rows", "5", "--dropout", "0.5")
    reference = _torchrun(tmp_path / "reference", *options)
    stopped = _torchrun(tmp_path / "resumed", *options, "--stop_at", "2:2")
    reference_output, _ = reference.communicate(timeout=120)
    stopped_output, _ = stopped.communicate(timeout=120)
    assert reference.returncode == 0, reference_output.decode()[-3000:]
    assert stopped.returncode != 0, stopped_output.decode()[-3000:]
    assert not (tmp_path / "resumed" / "final.pth").exists()
    checkpoint = torch.load(tmp_path / "resumed" / "checkpoint.pth", weights_only=True)
    assert (checkpoint["epoch"], checkpoint["batch_index"], checkpoint["epoch_completed"]) == (2, 2, False)
    assert len(checkpoint["rng_per_rank"]) == 2
    assert not torch.equal(checkpoint["rng_per_rank"][0]["torch"], checkpoint["rng_per_rank"][1]["torch"])
    resumed = _torchrun(tmp_path / "resumed", *options, "--resume")
    resumed_output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, resumed_output.decode()[-3000:]
    assert b"continuing after batch 2" in resumed_output
    one = torch.load(tmp_path / "reference" / "final.pth", weights_only=True)
    two = torch.load(tmp_path / "resumed" / "final.pth", weights_only=True)
    assert one["losses"] == two["losses"]
    for key, value in one["model"].items():
        assert torch.equal(value, two["model"][key]), key
