"""A tiny training job run as a subprocess by test_train_trainer_resume.py.

usage: python train_trainer_toy_job.py OUTPUT_DIR RESUME(0|1) SLEEP_PER_BATCH_S
Trains a dropout MLP for 3 epochs with Adam, a per-batch scheduler and a checkpoint after every
batch, then saves the final weights to OUTPUT_DIR/final.pth. ``main(build_model)`` trains another
model the same way (train_graph_toy_job.py).
"""

import time
from typing import Callable

import numpy as np
import torch
from killed_job import job_arguments

from espkit.schedulers.warmup_lr import WarmupLR
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.trainer import Trainer, TrainerOptions

torch.set_num_threads(1)


class DropoutMLP(AbsESPnetModel):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1)
        )

    def forward(self, x, y):
        loss = ((self.net(x).squeeze(-1) - y) ** 2).mean()
        return loss, {"loss": loss.detach()}, x.shape[0]

    def collect_feats(self, x, y):
        return {"x": x}


class ToyIterFactory:
    def __init__(self, num_batches, seed, sleep_s=0.0):
        generator = torch.Generator().manual_seed(seed)
        self.batches = [
            {"x": torch.randn(3, 4, generator=generator), "y": torch.randn(3, generator=generator)}
            for _ in range(num_batches)
        ]
        self.seed = seed
        self.sleep_s = sleep_s

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        order = np.random.RandomState(self.seed + epoch).permutation(len(self.batches))
        for index in order[start_batch:]:
            time.sleep(self.sleep_s)
            yield [f"u{index}_{j}" for j in range(3)], self.batches[index]


def main(build_model: Callable[[], AbsESPnetModel] = DropoutMLP) -> None:
    output_dir, resume, sleep_s = job_arguments()
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = WarmupLR(optimizer, warmup_steps=5)
    options = TrainerOptions(
        output_dir=str(output_dir),
        max_epoch=3,
        seed=7,
        resume=resume,
        save_every_n_iters=1,
        keep_nbest_models=[2],
        best_model_criterion=[["valid", "loss", "min"]],
    )
    Trainer(model, [optimizer], [scheduler], options).run(
        ToyIterFactory(8, seed=1, sleep_s=sleep_s), ToyIterFactory(2, seed=2)
    )
    torch.save(model.state_dict(), output_dir / "final.pth")


if __name__ == "__main__":
    main()
