"""The toy GAN run of ``toy_gan.train_toy_gan`` under torchrun, for test_train_gan_trainer.py.

usage: PYTHONPATH=<repo>:<repo>/test/helpers python -m torch.distributed.run --standalone --nproc_per_node 2 \
    train_gan_trainer_ddp_job.py OUTPUT_DIR
Each rank trains on its rows of every batch (gloo); rank 0 saves OUTPUT_DIR/final.pth (weights, turns, losses).
"""

import argparse
import faulthandler
import logging
import os
import sys
from pathlib import Path

import torch
from toy_gan import train_toy_gan

from espkit.train.distributed import DistributedOption, shutdown
from espkit.train.reporter import Reporter

torch.set_num_threads(1)


def main():
    output_dir = Path(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    Reporter.plot = lambda self, output_dir: []
    option = DistributedOption.from_args(argparse.Namespace(ngpu=0, dist_backend="gloo"))
    option.init()
    model, reporter = train_toy_gan(output_dir, option)
    if option.is_main:
        losses = [reporter.get_value("train", key, 2) for key in ("generator_loss", "discriminator_loss")]
        torch.save(
            {"model": model.state_dict(), "turns": [turn[:2] for turn in model.turns], "losses": losses},
            output_dir / "final.pth",
        )
    shutdown()


if __name__ == "__main__":
    faulthandler.enable()  # as train_trainer_ddp_job.py: a stack if gloo's teardown aborts, then a clean exit
    main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
