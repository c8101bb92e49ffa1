"""A toy job for test_train_distributed_torchrun.py: the same global batches, 1 or N processes.

usage: python train_trainer_ddp_job.py OUTPUT_DIR [options]            (single process)
       python -m torch.distributed.run --standalone --nproc_per_node 2 train_trainer_ddp_job.py OUTPUT_DIR
Each rank trains on ``batch[rank::world_size]`` of every global batch; rank 0 saves final.pth.
Options: ``--rows N`` per global batch, ``--dropout P`` after the hidden layer, ``--stop_at E:B``
(rank 0 sends itself SIGTERM while batch B of epoch E is drawn), ``--resume``.
"""

import argparse
import faulthandler
import logging
import os
import signal
import sys
from pathlib import Path

import torch
import torch.distributed

from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.distributed import DistributedOption, shutdown
from espkit.train.reporter import Reporter
from espkit.train.trainer import Trainer, TrainerOptions

torch.set_num_threads(1)


class MLP(AbsESPnetModel):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Dropout(dropout), torch.nn.Linear(8, 1)
        )

    def forward(self, x, y):
        loss = ((self.net(x).squeeze(-1) - y) ** 2).mean()
        return loss, {"loss": loss.detach()}, x.shape[0]

    def collect_feats(self, x, y):
        return {"x": x}


class ShardedIterFactory:
    def __init__(self, num_batches, seed, rows=4, stop_at=None):
        generator = torch.Generator().manual_seed(seed)
        self.batches = [
            {"x": torch.randn(rows, 4, generator=generator), "y": torch.randn(rows, generator=generator)}
            for _ in range(num_batches)
        ]
        self.stop_at = stop_at

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        rank, world_size = 0, 1
        if torch.distributed.is_initialized():
            rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        for index in range(start_batch, len(self.batches)):
            if rank == 0 and self.stop_at == (epoch, index + 1):
                os.kill(os.getpid(), signal.SIGTERM)
            batch = {k: v[rank::world_size] for k, v in self.batches[index].items()}
            yield [f"u{index}_{j}" for j in range(len(batch["x"]))], batch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--stop_at", type=lambda s: tuple(int(v) for v in s.split(":")), default=None)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    output_dir = args.output_dir
    Reporter.plot = lambda self, output_dir: []
    option = DistributedOption.from_args(argparse.Namespace(ngpu=0, dist_backend="gloo"))
    option.init()
    torch.manual_seed(0)
    model = MLP(args.dropout)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    options = TrainerOptions(
        output_dir=str(output_dir), max_epoch=2, resume=args.resume, best_model_criterion=[["valid", "loss", "min"]]
    )
    train = ShardedIterFactory(3, seed=1, rows=args.rows, stop_at=args.stop_at)
    trainer = Trainer(model, [optimizer], [None], options, distributed_option=option)
    reporter = trainer.run(train, ShardedIterFactory(1, seed=2, rows=args.rows))
    if option.is_main:
        torch.save(
            {
                "model": model.state_dict(),
                "world_size": option.world_size,
                "losses": [
                    reporter.get_value(phase, "loss", epoch) for epoch in (1, 2) for phase in ("train", "valid")
                ],
            },
            output_dir / "final.pth",
        )
    shutdown()


if __name__ == "__main__":
    # Rarely (2 of ~120 two-process runs here, once on CI), rank 1 aborted with "terminate called
    # without an active exception" after every file was written, i.e. while gloo and the interpreter
    # were torn down. The Python stack goes to stderr if it happens again, and the job leaves without
    # the interpreter's finalisation once its work is done and flushed.
    faulthandler.enable()
    main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
