"""A tiny GAN for the GAN trainer's tests: linear generator and discriminator, turns recorded.

The batch is ``x (B, 3)`` (the generator's input), ``y (B, 2)`` (real samples) and optionally
``g_scale (B,)``, which multiplies the generator loss (NaN or inf there makes it non-finite).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed

from espkit.gan_tts.abs_gan_espnet_model import AbsGANESPnetModel
from espkit.train.gan_trainer import GANTrainer
from espkit.train.trainer_options import GANTrainerOptions


class ToyGAN(AbsGANESPnetModel):
    """``generator``: x -> fake (B, 2); ``discriminator``: (B, 2) -> score (B, 1), least squares.

    ``turns`` records ``(turn, adversarial, first value of x)`` for every training-mode call
    (``"G"``/``"D"``), ``valid_turns`` those of eval mode.
    """

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.generator = torch.nn.Sequential(
            torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Dropout(dropout), torch.nn.Linear(8, 2)
        )
        self.discriminator = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        self.turns: List[Tuple[str, bool, float]] = []
        self.valid_turns: List[Tuple[str, bool, float]] = []

    def forward(
        self,
        forward_generator: bool = True,
        adversarial: bool = True,
        x: Optional[torch.Tensor] = None,
        y: Optional[torch.Tensor] = None,
        g_scale: Optional[torch.Tensor] = None,
    ) -> Dict[str, Any]:
        record = self.turns if self.training else self.valid_turns
        record.append(("G" if forward_generator else "D", adversarial, float(x[0, 0])))
        fake = self.generator(x)
        if forward_generator:
            rec_loss = ((fake - y) ** 2).mean()
            loss = rec_loss
            stats = {"generator_rec_loss": rec_loss.detach()}
            if adversarial:
                adv_loss = ((self.discriminator(fake) - 1.0) ** 2).mean()
                loss = loss + adv_loss
                stats["generator_adv_loss"] = adv_loss.detach()
            if g_scale is not None:
                loss = loss * g_scale[0]
            stats["generator_loss"] = loss.detach()
            return {"loss": loss, "stats": stats, "weight": x.shape[0], "optim_idx": 0}
        real_loss = ((self.discriminator(y) - 1.0) ** 2).mean()
        fake_loss = (self.discriminator(fake.detach()) ** 2).mean()
        loss = real_loss + fake_loss
        stats = {"discriminator_real_loss": real_loss.detach(), "discriminator_fake_loss": fake_loss.detach()}
        stats["discriminator_loss"] = loss.detach()
        return {"loss": loss, "stats": stats, "weight": x.shape[0], "optim_idx": 1}

    def collect_feats(self, x=None, y=None, g_scale=None) -> Dict[str, torch.Tensor]:
        return {"x": x}


def make_gan_batches(num: int, size: int = 2, seed: int = 0) -> List[Dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        {"x": torch.randn(size, 3, generator=generator), "y": torch.randn(size, 2, generator=generator)}
        for _ in range(num)
    ]


class GANIterFactory:
    """Fixed batches; the order of an epoch from (seed, epoch) only when shuffled; optional hook.

    Under torch.distributed each rank gets the rows ``rank::world_size`` of every batch.
    """

    def __init__(self, batches, seed: int = 0, shuffle: bool = False, before_batch=None, sleep_s: float = 0.0):
        self.batches = batches
        self.seed = seed
        self.shuffle = shuffle
        self.before_batch = before_batch
        self.sleep_s = sleep_s

    def num_batches(self, epoch: int) -> int:
        return len(self.batches)

    def build_iter(self, epoch: int, shuffle=None, start_batch: int = 0):
        order = list(range(len(self.batches)))
        if self.shuffle if shuffle is None else shuffle:
            order = [int(i) for i in np.random.RandomState(self.seed + epoch).permutation(len(self.batches))]
        for position in range(start_batch, len(order)):
            if self.before_batch is not None:
                self.before_batch(epoch, position)
            if self.sleep_s:
                time.sleep(self.sleep_s)
            index = order[position]
            batch = self.batches[index]
            if torch.distributed.is_initialized():
                rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
                batch = {key: value[rank::world_size] for key, value in batch.items()}
            yield [f"utt{index}_{j}" for j in range(len(batch["x"]))], batch


def train_toy_gan(output_dir, distributed_option=None, **options) -> Tuple[ToyGAN, Any]:
    """``ToyGAN`` trained by ``GANTrainer`` with SGD for 2 epochs of 3 batches of 4 (warm-up of 2 steps,
    2 generator turns per batch, discriminator skipped with probability 0.5); returns (model, reporter)."""
    torch.manual_seed(0)
    model = ToyGAN()
    optimizers = [
        torch.optim.SGD(model.generator.parameters(), lr=0.1),
        torch.optim.SGD(model.discriminator.parameters(), lr=0.1),
    ]
    settings = dict(
        max_epoch=2,
        best_model_criterion=[["valid", "generator_loss", "min"]],
        discriminator_start_step=2,
        skip_discriminator_prob=0.5,
        generator_train_iters=2,
    )
    settings.update(options)
    trainer = GANTrainer(
        model, optimizers, [None, None], GANTrainerOptions(output_dir=str(output_dir), **settings), distributed_option
    )
    reporter = trainer.run(
        GANIterFactory(make_gan_batches(3, size=4, seed=1)), GANIterFactory(make_gan_batches(1, size=4, seed=2))
    )
    return model, reporter
