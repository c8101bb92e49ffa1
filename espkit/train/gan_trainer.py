"""The adversarial training loop (ESPnet2's ``GANTrainer``): generator and discriminator turns per batch.

:class:`GANTrainer` is a :class:`~espkit.train.trainer.Trainer` whose step differs; everything else
is the trainer's own code: options, reporter, epochs, validation, checkpoints and exact resume,
n-best files and averaging, early stopping, DDP, AMP, the non-finite skip. It trains an
:class:`~espkit.gan_tts.abs_gan_espnet_model.AbsGANESPnetModel` with two optimizers, index 0 for
the generator and 1 for the discriminator (``--optim`` and ``--optim2``), each with its scheduler.

Per training batch the turns run in order: ``--generator_first true``: ``--generator_train_iters``
generator turns, then ``--discriminator_train_iters`` discriminator turns, on the same batch;
``false`` (the default, as ESPnet2): the discriminator turns first. One turn is

1. ``out = model(forward_generator=<turn is the generator's>, adversarial=..., **batch)``;
2. ``out["loss"].backward()``; the stats are registered with ``out["weight"]``;
3. optimizer ``out["optim_idx"]`` steps, its gradient norm clipped over its own parameters
   (reported as ``generator_grad_norm`` / ``discriminator_grad_norm``), and its scheduler steps
   if it is stepped per batch; then every gradient of the model is zeroed. A non-finite loss or
   gradient norm skips that turn's step (logged, counted in ``skipped_steps``); an epoch where
   every generator step, or every discriminator step, was skipped raises
   :class:`~espkit.train.trainer.NonFiniteTrainingError`.

Warm-up: the first ``--discriminator_start_step`` generator steps (turns, skipped or not) run with
``adversarial=False`` and there is no discriminator turn until that many were taken; the count
is saved in ``checkpoint.pth`` so that the switch happens at the same step after a resume.
``--skip_discriminator_prob p``: per batch, one draw of ``torch.rand`` (the global RNG, which
checkpoints save) below ``p`` skips the batch's discriminator turns; nothing is drawn when p = 0.

Validation runs both turns per batch in the same order without gradients: the generator's with
the ``adversarial`` flag training has reached, the discriminator's always (so its stats exist
from the first epoch on).

AMP: on CUDA each optimizer has its own ``GradScaler``: the two losses and their gradients have
different ranges, and an overflow in one turn then neither skips the other turn's step nor
shrinks its scale (the scalers are saved in the checkpoint's ``trainer`` entry). On CPU AMP is
bf16 autocast without a scaler, as in the trainer.

DDP: the model is wrapped with ``find_unused_parameters=True`` since a turn leaves parts of the
model without gradients (the generator in a discriminator turn, the discriminator during the
warm-up); every rank takes the same turns (rank 0's skip draw is broadcast).

Gradient accumulation is not supported (``--accum_grad`` must be 1: ``GANTrainerOptions``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from espkit.gan_tts.abs_gan_espnet_model import AbsGANESPnetModel
from espkit.torch_utils.device import to_device
from espkit.torch_utils.seeding import set_rng_states
from espkit.train.checkpoint import CheckpointError
from espkit.train.distributed import DistributedOption, all_reduce_stats, broadcast_flag
from espkit.train.trainer import Trainer, _split_batch
from espkit.train.trainer_options import GANTrainerOptions
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

GENERATOR, DISCRIMINATOR = "generator", "discriminator"
_OUTPUT_KEYS = ("loss", "stats", "weight", "optim_idx")


def forward_gan_model(
    model: torch.nn.Module,
    batch: Dict[str, torch.Tensor],
    forward_generator: bool,
    adversarial: bool,
    num_optimizers: int,
) -> Tuple[torch.Tensor, Dict[str, Any], Union[torch.Tensor, float], int]:
    """``model(forward_generator=..., adversarial=..., **batch)`` checked against the
    ``{"loss" (), "stats" dict, "weight", "optim_idx"}`` contract; returns the four values."""
    output = model(forward_generator=forward_generator, adversarial=adversarial, **batch)
    name = type(getattr(model, "module", model)).__name__
    if not isinstance(output, dict) or not set(_OUTPUT_KEYS).issubset(output):
        found = sorted(output) if isinstance(output, dict) else type(output).__name__
        raise TypeError(f"{name}.forward must return a dict with keys {list(_OUTPUT_KEYS)}, got {found}")
    loss, stats, weight, optim_idx = (output[key] for key in _OUTPUT_KEYS)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"{name}.forward must return a scalar 'loss' tensor, got {shape}")
    if not isinstance(stats, dict):
        raise TypeError(f"{name}.forward must return 'stats' as a dict, got {type(stats).__name__}")
    if isinstance(optim_idx, bool) or not isinstance(optim_idx, int) or not 0 <= optim_idx < num_optimizers:
        raise TypeError(
            f"{name}.forward returned optim_idx={optim_idx!r}; it must be an int in [0, {num_optimizers}) "
            "(0: the generator's optimizer, 1: the discriminator's)"
        )
    return loss.reshape(()), stats, weight, optim_idx


class GANTrainer(Trainer):
    """ESPnet2-style GAN trainer (see the module docstring for the turns).

    >>> options = GANTrainer.build_options(args)  # doctest: +SKIP
    >>> trainer = GANTrainer(model, [optim_g, optim_d], [sched_g, sched_d], options)  # doctest: +SKIP
    >>> reporter = trainer.run(train_iter_factory, valid_iter_factory)
    """

    options: GANTrainerOptions

    @classmethod
    def build_options(cls, args: argparse.Namespace) -> GANTrainerOptions:
        """``GANTrainerOptions`` from the parsed arguments (options absent from ``args`` keep defaults)."""
        return GANTrainerOptions.from_args(args)

    def __init__(
        self,
        model: AbsGANESPnetModel,
        optimizers: Sequence[torch.optim.Optimizer],
        schedulers: Sequence[Any],
        options: GANTrainerOptions,
        distributed_option: Optional[DistributedOption] = None,
    ) -> None:
        """Like :class:`Trainer`; ``optimizers`` are ``[generator's, discriminator's]``, ``schedulers``
        one (or None) for each."""
        if not isinstance(model, AbsGANESPnetModel):
            raise TypeError(
                f"{type(model).__name__} must subclass espkit.gan_tts.abs_gan_espnet_model.AbsGANESPnetModel "
                "to be trained by GANTrainer"
            )
        if not isinstance(options, GANTrainerOptions):
            raise TypeError(
                f"GANTrainer needs GANTrainerOptions (GANTrainer.build_options), got {type(options).__name__}"
            )
        if len(optimizers) != 2:
            raise ConfigError(
                f"the GAN trainer needs two optimizers, the generator's (--optim) and the discriminator's "
                f"(--optim2); got {len(optimizers)}"
            )
        super().__init__(model, optimizers, schedulers, options, distributed_option)
        amp_scalers = self.scaler is not None
        self.scaler = None  # one scaler per optimizer instead (trainer_state saves them)
        self.scalers: List[Optional[torch.amp.GradScaler]] = [
            torch.amp.GradScaler("cuda") if amp_scalers else None for _ in self.optimizers
        ]
        self.optimizer_params: List[List[torch.nn.Parameter]] = [
            [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
            for optimizer in self.optimizers
        ]
        self.generator_steps = 0  # generator turns taken so far (the warm-up counter)
        first, second = (GENERATOR, DISCRIMINATOR) if options.generator_first else (DISCRIMINATOR, GENERATOR)
        logger.info(
            "GAN turns per batch: %d %s then %d %s; discriminator from generator step %d on%s",
            self._iters(first),
            first,
            self._iters(second),
            second,
            options.discriminator_start_step,
            f", skipped with probability {options.skip_discriminator_prob}" if options.skip_discriminator_prob else "",
        )

    # --- the turns ---------------------------------------------------------------------------
    def _iters(self, turn: str) -> int:
        if turn == GENERATOR:
            return self.options.generator_train_iters
        return self.options.discriminator_train_iters

    def _turn_order(self) -> Tuple[str, str]:
        return (GENERATOR, DISCRIMINATOR) if self.options.generator_first else (DISCRIMINATOR, GENERATOR)

    @property
    def discriminator_started(self) -> bool:
        """The warm-up is over: ``discriminator_start_step`` generator steps were taken."""
        return self.generator_steps >= self.options.discriminator_start_step

    def _draw_skip_discriminator(self) -> bool:
        """One draw per batch from torch's global RNG (none when the probability is 0); rank 0's when
        distributed, so that every rank takes the same turns."""
        probability = self.options.skip_discriminator_prob
        if probability <= 0.0:
            return False
        skip = bool(torch.rand(()) < probability)
        if self.distributed_option.distributed:
            skip = broadcast_flag(skip, src=0)
        return skip

    def _wrap_distributed(self) -> torch.nn.Module:
        return torch.nn.parallel.DistributedDataParallel(
            self.model,
            device_ids=[self.device.index] if self.device.type == "cuda" else None,
            find_unused_parameters=True,
        )

    # --- one epoch ---------------------------------------------------------------------------
    def train_one_epoch(
        self,
        iter_factory: Any,
        epoch: int,
        start_batch: int = 0,
        rng_states: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Train on the batches of ``epoch`` from ``start_batch`` on (turns as the module docstring says).

        ``rng_states`` (a mid-epoch checkpoint's) are restored after the iterator is built.
        """
        options, reporter = self.options, self.reporter
        iterator = iter_factory.build_iter(epoch, start_batch=start_batch)
        if rng_states is not None:
            set_rng_states(rng_states)
        num_batches = iter_factory.num_batches(epoch)
        log_interval = options.log_interval or max((num_batches or 1000) // 10, 10)
        self.train_model.train()
        reporter.start_phase("train", epoch)
        batch_index = start_batch
        batches_since_save = 0
        steps = {GENERATOR: 0, DISCRIMINATOR: 0}
        skipped = {GENERATOR: 0, DISCRIMINATOR: 0}
        for item in iterator:
            uids, batch = _split_batch(item, epoch)
            batch_index += 1
            batches_since_save += 1
            reporter.increment("batches")
            reporter.increment("utts", len(uids))
            if not options.no_forward_run:
                batch = to_device(batch, self.device, dtype=self.float_dtype)
                skip_discriminator = self._draw_skip_discriminator()
                new_batch = True
                for turn in self._turn_order():
                    for _ in range(self._iters(turn)):
                        if turn == DISCRIMINATOR and (skip_discriminator or not self.discriminator_started):
                            break
                        adversarial = turn == DISCRIMINATOR or self.discriminator_started
                        steps[turn] += 1
                        skipped[turn] += self._train_turn(batch, turn, adversarial, epoch, batch_index, new_batch)
                        new_batch = False
                        if turn == GENERATOR:
                            self.generator_steps += 1
            if self.distributed_option.is_main and batch_index % log_interval == 0:
                logger.info(reporter.progress_message(batch_index, num_batches))
            batches_since_save = self._checkpoint_at_step_boundary(epoch, batch_index, batches_since_save)
        reporter.finish_phase()
        for turn in (GENERATOR, DISCRIMINATOR):
            self._check_epoch_trained(epoch, steps[turn], skipped[turn], f"{turn} optimizer steps")

    def _train_turn(
        self,
        batch: Dict[str, torch.Tensor],
        turn: str,
        adversarial: bool,
        epoch: int,
        batch_index: int,
        new_batch: bool,
    ) -> bool:
        """Forward, backward and the step of one turn; True if its step was skipped (non-finite)."""
        with self.autocast():
            loss, stats, weight, optim_idx = forward_gan_model(
                self.train_model, batch, turn == GENERATOR, adversarial, len(self.optimizers)
            )
        if self.distributed_option.distributed:
            stats, weight = all_reduce_stats(stats, weight)
        self.reporter.register(stats, weight, new_batch=new_batch)
        nonfinite_loss = ~torch.isfinite(loss.detach())
        scaler = self.scalers[optim_idx]
        (scaler.scale(loss) if scaler is not None else loss).backward()
        return self._apply_gradients(
            [optim_idx], self.optimizer_params[optim_idx], scaler, nonfinite_loss, epoch, batch_index, turn=turn
        )

    @torch.no_grad()
    def validate_one_epoch(self, iter_factory: Any, epoch: int) -> None:
        """Both turns per batch without gradients (eval mode, all ranks); their stats averaged."""
        self.model.eval()
        self.reporter.start_phase("valid", epoch)
        for item in iter_factory.build_iter(epoch):
            _, batch = _split_batch(item, epoch)
            if self.options.no_forward_run:
                continue
            batch = to_device(batch, self.device, dtype=self.float_dtype)
            for index, turn in enumerate(self._turn_order()):
                adversarial = turn == DISCRIMINATOR or self.discriminator_started
                with self.autocast():
                    _, stats, weight, _ = forward_gan_model(
                        self.model, batch, turn == GENERATOR, adversarial, len(self.optimizers)
                    )
                if self.distributed_option.distributed:
                    stats, weight = all_reduce_stats(stats, weight)
                self.reporter.register(stats, weight, new_batch=index == 0)
        self.reporter.finish_phase()

    # --- checkpoint ----------------------------------------------------------------------------
    def trainer_state(self) -> Dict[str, Any]:
        """The generator-step count and the per-optimizer AMP scalers."""
        return {
            "generator_steps": self.generator_steps,
            "scalers": [None if scaler is None else scaler.state_dict() for scaler in self.scalers],
        }

    def load_trainer_state(self, state: Dict[str, Any], path: Path) -> None:
        if "generator_steps" not in state:
            raise CheckpointError(
                f"{path} was not written by the GAN trainer (it has no generator step count); "
                "resume it with the task that wrote it, or start a new --output_dir"
            )
        self.generator_steps = int(state["generator_steps"])
        saved_scalers = state.get("scalers") or [None] * len(self.scalers)
        for scaler, saved in zip(self.scalers, saved_scalers):
            if scaler is not None and saved is not None:
                scaler.load_state_dict(saved)
