"""A toy job for test_train_distributed_torchrun.py: the same global batches, 1 or N processes.

usage: python train_trainer_ddp_job.py OUTPUT_DIR            (single process)
       python -m torch.distributed.run --standalone --nproc_per_node 2 train_trainer_ddp_job.py OUTPUT_DIR
Each rank trains on ``batch[rank::world_size]`` of every global batch; rank 0 saves final.pth.
"""

import argparse
import sys
from pathlib import Path

import torch
import torch.distributed

from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.distributed import DistributedOption
from espkit.train.reporter import Reporter
from espkit.train.trainer import Trainer, TrainerOptions

torch.set_num_threads(1)


class MLP(AbsESPnetModel):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def forward(self, x, y):
        loss = ((self.net(x).squeeze(-1) - y) ** 2).mean()
        return loss, {"loss": loss.detach()}, x.shape[0]

    def collect_feats(self, x, y):
        return {"x": x}


class ShardedIterFactory:
    def __init__(self, num_batches, seed):
        generator = torch.Generator().manual_seed(seed)
        self.batches = [
            {"x": torch.randn(4, 4, generator=generator), "y": torch.randn(4, generator=generator)}
            for _ in range(num_batches)
        ]

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        rank, world_size = 0, 1
        if torch.distributed.is_initialized():
            rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        for index in range(start_batch, len(self.batches)):
            batch = {k: v[rank::world_size] for k, v in self.batches[index].items()}
            yield [f"u{index}_{j}" for j in range(len(batch["x"]))], batch


def main():
    output_dir = Path(sys.argv[1])
    Reporter.plot = lambda self, output_dir: []
    option = DistributedOption.from_args(argparse.Namespace(ngpu=0, dist_backend="gloo"))
    option.init()
    torch.manual_seed(0)
    model = MLP()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    options = TrainerOptions(output_dir=str(output_dir), max_epoch=2, best_model_criterion=[["valid", "loss", "min"]])
    reporter = Trainer.run(model, [optimizer], [None], ShardedIterFactory(3, seed=1), ShardedIterFactory(1, seed=2),
                           options, distributed_option=option)
    if option.is_main:
        torch.save({"model": model.state_dict(), "world_size": option.world_size,
                    "losses": [reporter.get_value(phase, "loss", epoch) for epoch in (1, 2) for phase in ("train", "valid")]},
                   output_dir / "final.pth")
    if option.distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
