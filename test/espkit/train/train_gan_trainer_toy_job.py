"""A tiny GAN training job run as a subprocess by test_train_gan_trainer.py (SIGKILL, then --resume).

usage: PYTHONPATH=<repo>:<repo>/test/helpers python train_gan_trainer_toy_job.py OUTPUT_DIR RESUME(0|1) SLEEP_PER_BATCH_S
Trains ``ToyGAN`` (test/helpers/toy_gan.py, with dropout) for 2 epochs of 6 shuffled batches with
two Adam optimizers, a per-batch scheduler on the generator's and a per-epoch one on the
discriminator's, 2 discriminator turns per batch skipped with probability 0.3, a generator-only
warm-up of 4 steps, and a checkpoint after every batch. Saves OUTPUT_DIR/final.pth: the model,
both optimizers' and schedulers' states and the generator-step count.
"""

import torch
from killed_job import job_arguments
from toy_gan import GANIterFactory, ToyGAN, make_gan_batches

from espkit.schedulers.warmup_lr import WarmupLR
from espkit.train.gan_trainer import GANTrainer
from espkit.train.trainer_options import GANTrainerOptions

torch.set_num_threads(1)


def main():
    output_dir, resume, sleep_s = job_arguments()
    model = ToyGAN(dropout=0.3)
    optimizers = [
        torch.optim.Adam(model.generator.parameters(), lr=0.01),
        torch.optim.Adam(model.discriminator.parameters(), lr=0.02),
    ]
    schedulers = [WarmupLR(optimizers[0], warmup_steps=5), torch.optim.lr_scheduler.StepLR(optimizers[1], 1, 0.5)]
    options = GANTrainerOptions(
        output_dir=str(output_dir),
        max_epoch=2,
        seed=7,
        resume=resume,
        save_every_n_iters=1,
        keep_nbest_models=[2],
        best_model_criterion=[["valid", "generator_loss", "min"]],
        discriminator_train_iters=2,
        skip_discriminator_prob=0.3,
        discriminator_start_step=4,
    )
    trainer = GANTrainer(model, optimizers, schedulers, options)
    trainer.run(
        GANIterFactory(make_gan_batches(6, size=3, seed=1), seed=1, shuffle=True, sleep_s=sleep_s),
        GANIterFactory(make_gan_batches(2, size=3, seed=2)),
    )
    torch.save(
        {
            "model": model.state_dict(),
            "optimizers": [optimizer.state_dict() for optimizer in optimizers],
            "schedulers": [scheduler.state_dict() for scheduler in schedulers],
            "generator_steps": trainer.generator_steps,
        },
        output_dir / "final.pth",
    )


if __name__ == "__main__":
    main()
