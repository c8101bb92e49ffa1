"""Two CPU processes under torchrun (gloo) train like one process on the same global batches."""

import os
import subprocess
import sys
from pathlib import Path

import torch

JOB = Path(__file__).with_name("train_trainer_ddp_job.py")
REPO = Path(__file__).resolve().parents[3]


def test_two_process_torchrun_matches_single_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    ddp = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(JOB),
         str(tmp_path / "ddp")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    single = subprocess.run([sys.executable, str(JOB), str(tmp_path / "single")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
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
