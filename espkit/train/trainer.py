"""The training loop (ESPnet2's ``Trainer``): epochs, validation, checkpoints, best models.

``Trainer.run`` trains a :class:`~espkit.train.abs_espnet_model.AbsESPnetModel` whose
``forward(**batch)`` returns ``(loss, stats, weight)``. Per epoch it

1. trains on ``train_iter_factory.build_iter(epoch)`` with gradient accumulation, clipping,
   optional AMP, skipping steps with a non-finite loss or gradient norm;
2. validates (eval mode, no grad; stats averaged over ranks);
3. plots the attention maps of the fixed ``plot_attention_iter_factory`` utterances;
4. steps the per-epoch schedulers (``ReduceLROnPlateau`` on ``val_scheduler_criterion``);
5. writes (rank 0 only) ``<N>epoch.pth``, ``latest.pth``, ``<phase>.<stat>.best.pth``,
   prunes to the n best epochs, plots ``images/<stat>.png``, saves ``checkpoint.pth``, then
   appends the epoch's line to ``history.jsonl`` (:mod:`espkit.train.history`).

The train phase also counts its ``batches`` and ``utts`` (utterances of this process), so that
the history has the step time and the throughput.

After the last epoch (or early stopping) the n best epochs of each criterion are averaged into
``<phase>.<stat>.ave_<n>best.pth`` (and ``<phase>.<stat>.ave.pth``, the largest n).

Resuming is exact (:mod:`espkit.train.run_state`): the data order of an epoch depends only on
(seed, epoch), the global RNGs are re-seeded with ``seed + epoch`` at the start of every epoch,
and a mid-epoch checkpoint (``save_every_n_iters`` or SIGINT/SIGTERM) stores the batch position
and every rank's RNG states, which are restored after the iterator of that epoch is rebuilt at
that position.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from espkit.schedulers.step_unit import scheduler_step_unit
from espkit.torch_utils.device import to_device
from espkit.torch_utils.seeding import get_rng_states, set_all_random_seed, set_rng_states
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.attention_plot import save_attention_map
from espkit.train.checkpoint import copy_atomic, remove_stale_temp_files, save_atomic
from espkit.train.distributed import (
    DistributedOption,
    all_gather_objects,
    all_reduce_flag,
    all_reduce_stats,
    barrier,
)
from espkit.train.history import HISTORY_NAME, append_history, history_record, now_iso, sync_history
from espkit.train.nbest import average_nbest_models, epoch_files
from espkit.train.reporter import Reporter
from espkit.train.run_state import CHECKPOINT_NAME, Position, restore_run_state, run_state
from espkit.train.stop_request import StopRequest
from espkit.train.trainer_options import TrainerOptions
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)


class NonFiniteTrainingError(RuntimeError):
    """Every optimizer step of an epoch was skipped: the loss or the gradients were never finite."""


# --- model contract ----------------------------------------------------------------------------
def forward_model(
    model: torch.nn.Module, batch: Dict[str, torch.Tensor]
) -> Tuple[torch.Tensor, Dict[str, Any], Union[torch.Tensor, float]]:
    """``model(**batch)`` checked against the ``(loss (), stats dict, weight)`` contract."""
    output = model(**batch)
    if not (isinstance(output, tuple) and len(output) == 3):
        raise TypeError(
            f"{type(model).__name__}.forward must return (loss, stats, weight), got {type(output).__name__}"
        )
    loss, stats, weight = output
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"{type(model).__name__}.forward must return a scalar loss tensor, got {shape}")
    if not isinstance(stats, dict):
        raise TypeError(f"{type(model).__name__}.forward must return stats as a dict, got {type(stats).__name__}")
    return loss.reshape(()), stats, weight


def forward_attention(model: AbsESPnetModel, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``model.forward_attention(**batch)``: ``{name: (B, T_out, T_in)}`` (or ``(B, H, T_out, T_in)``)."""
    if not isinstance(model, AbsESPnetModel):
        raise TypeError(
            f"{type(model).__name__} must subclass espkit.train.abs_espnet_model.AbsESPnetModel "
            "to plot attention weights"
        )
    attentions = model.forward_attention(**batch)
    if not isinstance(attentions, dict):
        raise TypeError(f"{type(model).__name__}.forward_attention must return a dict, got {type(attentions).__name__}")
    return attentions


def _split_batch(item: Any, epoch: int) -> Tuple[Sequence[str], Dict[str, torch.Tensor]]:
    if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], dict)):
        raise TypeError(f"the iterator of epoch {epoch} must yield (uids, batch_dict) pairs, got {type(item).__name__}")
    return item[0], item[1]


# --- the trainer -------------------------------------------------------------------------------
class Trainer:
    """ESPnet2-style trainer: one instance trains one model, once.

    >>> trainer = Trainer(model, optimizers, schedulers, Trainer.build_options(args))  # doctest: +SKIP
    >>> reporter = trainer.run(train_iter_factory, valid_iter_factory)

    A task chooses its trainer class (``AbsTask.trainer``); a subclass overrides the step methods
    (``train_one_epoch``, ``_optimizer_step``, ``validate_one_epoch``...) it needs to change.
    """

    @classmethod
    def build_options(cls, args: argparse.Namespace) -> TrainerOptions:
        """``TrainerOptions`` from the parsed arguments (options absent from ``args`` keep defaults)."""
        return TrainerOptions.from_args(args)

    def __init__(
        self,
        model: AbsESPnetModel,
        optimizers: Sequence[torch.optim.Optimizer],
        schedulers: Sequence[Any],
        options: TrainerOptions,
        distributed_option: Optional[DistributedOption] = None,
    ) -> None:
        """Move ``model`` to the training device and dtype and set up what a run works on.

        Args:
            model: the model (an :class:`AbsESPnetModel`).
            optimizers: optimizers over the model's parameters, all stepped on the same loss.
            schedulers: a scheduler (or None) per optimizer; stepping unit from
                :func:`espkit.schedulers.step_unit.scheduler_step_unit`.
            options: from :meth:`build_options`.
            distributed_option: rank/world size (None: single process, ``ngpu`` from options).
        """
        if not isinstance(model, AbsESPnetModel):
            raise TypeError(f"{type(model).__name__} must subclass espkit.train.abs_espnet_model.AbsESPnetModel")
        if len(schedulers) != len(optimizers):
            raise ValueError(
                f"one scheduler (or None) per optimizer: {len(optimizers)} optimizers, {len(schedulers)} schedulers"
            )
        self.options = options
        self.distributed_option = distributed_option or DistributedOption(ngpu=options.ngpu)
        self.device: torch.device = self.distributed_option.device
        self.float_dtype: torch.dtype = getattr(torch, options.train_dtype)
        model.to(device=self.device, dtype=self.float_dtype)
        self.model = model
        self.train_model: torch.nn.Module = model  # or its DistributedDataParallel wrapper (set by run)
        self.optimizers = list(optimizers)
        self.schedulers = list(schedulers)
        self.scaler = torch.amp.GradScaler("cuda") if options.use_amp and self.device.type == "cuda" else None
        self.reporter = Reporter()
        self.output_dir = Path(options.output_dir)
        self.stop = StopRequest()
        self.params: List[torch.nn.Parameter] = [p for p in model.parameters() if p.requires_grad]

    def autocast(self) -> contextlib.AbstractContextManager:
        """fp16 autocast on CUDA, bf16 on CPU when ``use_amp``; otherwise nothing."""
        if not self.options.use_amp:
            return contextlib.nullcontext()
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def run(
        self, train_iter_factory: Any, valid_iter_factory: Any, plot_attention_iter_factory: Any = None
    ) -> Reporter:
        """Train for ``max_epoch`` epochs (from the resumed position); returns the reporter.

        Args:
            train_iter_factory / valid_iter_factory: ``build_iter(epoch, shuffle=None,
                start_batch=0)`` yielding ``(uids, batch)``, and ``num_batches(epoch)``.
            plot_attention_iter_factory: fixed utterances whose attention maps are plotted.

        Raises:
            SystemExit(130 or 143): after saving ``checkpoint.pth`` on SIGINT/SIGTERM.
        """
        options, output_dir = self.options, self.output_dir
        if self.distributed_option.is_main:
            output_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(output_dir)
        position = Position()
        checkpoint_path = output_dir / CHECKPOINT_NAME
        if options.resume:
            if checkpoint_path.is_file():
                position = self.resume(checkpoint_path)
            else:
                logger.info("--resume true but %s does not exist yet: starting from epoch 1", checkpoint_path)
        if self.distributed_option.is_main:
            sync_history(output_dir / HISTORY_NAME, self.reporter.history, position.epoch - 1, self._world_size())
        if self.distributed_option.distributed:
            self.train_model = self._wrap_distributed()
        writer = _summary_writer(output_dir) if options.use_tensorboard and self.distributed_option.is_main else None
        self.stop.install()
        try:
            self._run_epochs(position, train_iter_factory, valid_iter_factory, plot_attention_iter_factory, writer)
        finally:
            self.stop.restore()
            if writer is not None:
                writer.close()
        return self.reporter

    def _run_epochs(
        self,
        position: Position,
        train_iter_factory: Any,
        valid_iter_factory: Any,
        plot_attention_iter_factory: Any,
        writer: Any,
    ) -> None:
        options, reporter = self.options, self.reporter
        is_main = self.distributed_option.is_main
        first_epoch = position.epoch
        for epoch in range(first_epoch, options.max_epoch + 1):
            if position.early_stopped:
                break
            start_batch = position.batch_index if epoch == first_epoch else 0
            logger.info(
                "%d/%d epoch started%s",
                epoch,
                options.max_epoch,
                f" (resuming after batch {start_batch})" if start_batch else "",
            )
            if start_batch == 0:
                set_all_random_seed(options.seed + epoch)
            rng_states = position.rng_states if start_batch > 0 else None
            self.train_one_epoch(train_iter_factory, epoch, start_batch, rng_states)
            self.validate_one_epoch(valid_iter_factory, epoch)
            if plot_attention_iter_factory is not None and options.num_att_plot > 0 and is_main:
                self.plot_attention(plot_attention_iter_factory, epoch)
            self._step_epoch_schedulers()
            early_stopped = reporter.check_early_stopping(options.patience, *options.early_stopping_criterion)
            if is_main:
                logger.info(reporter.epoch_summary(epoch))
                reporter.plot(self.output_dir)
                if writer is not None:
                    reporter.tensorboard_add_scalars(writer, epoch)
                self._save_epoch_files(epoch)
                interval = options.nbest_averaging_interval
                if interval > 0 and epoch % interval == 0:
                    average_nbest_models(
                        self.output_dir,
                        reporter,
                        options.best_model_criterion,
                        options.keep_nbest_models,
                        suffix=f".till{epoch}epoch",
                    )
            num_done = train_iter_factory.num_batches(epoch)
            self.save_checkpoint(
                epoch, num_done if num_done is not None else 0, epoch_completed=True, early_stopped=early_stopped
            )
            if is_main:
                record = history_record(reporter.history, epoch, self._world_size(), finished_at=now_iso())
                append_history(self.output_dir / HISTORY_NAME, record)
            barrier()
            if self._stop_requested():
                logger.warning("Stopping after epoch %d on request; resume with --resume true", epoch)
                raise SystemExit(self.stop.exit_code)
            if early_stopped:
                break
        if is_main:
            average_nbest_models(self.output_dir, reporter, options.best_model_criterion, options.keep_nbest_models)
        barrier()

    def _world_size(self) -> int:
        option = self.distributed_option
        return option.world_size if option.distributed else 1

    def _wrap_distributed(self) -> torch.nn.Module:
        """The DistributedDataParallel wrapper ``train_one_epoch`` calls the model through."""
        return torch.nn.parallel.DistributedDataParallel(
            self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
        )

    def _stop_requested(self) -> bool:
        """A signal arrived here (or, when distributed, on any rank)."""
        if not self.distributed_option.distributed:
            return self.stop.requested
        stop = all_reduce_flag(self.stop.requested)
        if stop and self.stop.signum is None:
            self.stop.signum = signal.SIGTERM  # another rank was signalled
        return stop

    # --- one epoch -------------------------------------------------------------------------
    def train_one_epoch(
        self,
        iter_factory: Any,
        epoch: int,
        start_batch: int = 0,
        rng_states: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Train on the batches of ``epoch`` from ``start_batch`` on.

        ``rng_states`` (a mid-epoch checkpoint's) are restored after the iterator is built, i.e.
        at the same point of the random stream where they were saved.
        """
        options, reporter = self.options, self.reporter
        distributed = self.distributed_option.distributed
        is_main = self.distributed_option.is_main
        iterator = iter_factory.build_iter(epoch, start_batch=start_batch)
        if rng_states is not None:
            set_rng_states(rng_states)
        num_batches = iter_factory.num_batches(epoch)
        log_interval = options.log_interval or max((num_batches or 1000) // 10, 10)
        use_no_sync = distributed and num_batches is not None and options.accum_grad > 1
        self.train_model.train()
        reporter.start_phase("train", epoch)
        batch_index = start_batch
        window = 0  # batches whose gradients are accumulated but not yet applied
        batches_since_save = 0
        num_steps = num_skipped = 0
        nonfinite_loss = torch.zeros((), dtype=torch.bool, device=self.device)
        for item in iterator:
            uids, batch = _split_batch(item, epoch)
            batch_index += 1
            batches_since_save += 1
            reporter.increment("batches")
            reporter.increment("utts", len(uids))
            if not options.no_forward_run:
                window += 1
                last_in_window = window == options.accum_grad or batch_index == num_batches
                batch = to_device(batch, self.device, dtype=self.float_dtype)
                sync = self.train_model.no_sync() if use_no_sync and not last_in_window else contextlib.nullcontext()
                with sync:
                    with self.autocast():
                        loss, stats, weight = forward_model(self.train_model, batch)
                    if distributed:
                        stats, weight = all_reduce_stats(stats, weight)
                    reporter.register(stats, weight)
                    loss = loss / options.accum_grad
                    nonfinite_loss |= ~torch.isfinite(loss.detach())
                    (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
                if last_in_window:
                    num_steps += 1
                    num_skipped += self._optimizer_step(nonfinite_loss, epoch, batch_index)
                    nonfinite_loss = torch.zeros((), dtype=torch.bool, device=self.device)
                    window = 0
            if is_main and batch_index % log_interval == 0:
                logger.info(reporter.progress_message(batch_index, num_batches))
            if window == 0:  # a step boundary: nothing accumulated, safe to checkpoint
                batches_since_save = self._checkpoint_at_step_boundary(epoch, batch_index, batches_since_save)
        if window > 0:  # the epoch ended inside an accumulation window: apply what was gathered
            num_steps += 1
            num_skipped += self._optimizer_step(nonfinite_loss, epoch, batch_index)
        reporter.finish_phase()
        self._check_epoch_trained(epoch, num_steps, num_skipped)

    def _checkpoint_at_step_boundary(self, epoch: int, batch_index: int, batches_since_save: int) -> int:
        """Between optimizer steps: save and exit on a stop request, or save every ``save_every_n_iters``
        batches. Returns the batches since the last save (0 after a save)."""
        if self._stop_requested():
            self.save_checkpoint(epoch, batch_index, epoch_completed=False)
            barrier()
            logger.warning(
                "Stopped in epoch %d after batch %d; checkpoint saved, resume with --resume true",
                epoch,
                batch_index,
            )
            raise SystemExit(self.stop.exit_code)
        every = self.options.save_every_n_iters
        if every is not None and batches_since_save >= every:
            self.save_checkpoint(epoch, batch_index, epoch_completed=False)
            return 0
        return batches_since_save

    @staticmethod
    def _check_epoch_trained(epoch: int, num_steps: int, num_skipped: int, what: str = "optimizer steps") -> None:
        """Raise :class:`NonFiniteTrainingError` when every one of ``num_steps`` (> 0) steps was skipped."""
        if num_steps > 0 and num_skipped == num_steps:
            raise NonFiniteTrainingError(
                f"epoch {epoch}: all {num_steps} {what} were skipped because the loss or the gradient "
                "norm was NaN/inf, so the model did not train; check the data (NaN samples, empty "
                "utterances), the normalisation statistics and the learning rate"
            )

    def _optimizer_step(self, nonfinite_loss: torch.Tensor, epoch: int, batch_index: int) -> bool:
        """Step every optimizer on the accumulated gradients of all parameters (see :meth:`_apply_gradients`)."""
        return self._apply_gradients(
            range(len(self.optimizers)), self.params, self.scaler, nonfinite_loss, epoch, batch_index
        )

    def _apply_gradients(
        self,
        optimizer_indices: Sequence[int],
        params: Sequence[torch.nn.Parameter],
        scaler: Optional[Any],
        nonfinite_loss: torch.Tensor,
        epoch: int,
        batch_index: int,
        turn: str = "",
    ) -> bool:
        """Unscale, clip, check finiteness (one host sync), step the optimizers ``optimizer_indices``
        and their batch schedulers; then zero every gradient of the model.

        ``params`` are those the gradient norm is taken (and clipped) over; ``turn`` (e.g.
        ``"generator"``) prefixes the reported ``grad_norm`` and names the turn in the log.
        Returns True if the step was skipped for a non-finite loss (on any rank), or for a
        non-finite gradient norm without AMP. With AMP, inf gradients and a finite loss are the
        loss scaler overflowing (routine while its scale settles): skipped, but not reported.
        """
        options = self.options
        optimizer_indices = list(optimizer_indices)
        if scaler is not None:
            for index in optimizer_indices:
                scaler.unscale_(self.optimizers[index])
        grads = [p.grad for p in params if p.grad is not None]
        if options.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(
                params, max_norm=options.grad_clip, norm_type=options.grad_clip_type
            )
        elif grads:
            grad_norm = torch.nn.utils.get_total_norm(grads, norm_type=options.grad_clip_type)
        else:
            grad_norm = torch.zeros((), device=self.device)
        bad = nonfinite_loss | ~torch.isfinite(grad_norm.to(nonfinite_loss.device))
        skip = all_reduce_flag(bad) if self.distributed_option.distributed else bool(bad)
        reported = skip
        if skip:
            logger.warning(
                "epoch %d, iteration %d%s: non-finite loss or gradient norm (%s); skipping this "
                "optimizer step, the weights are unchanged",
                epoch,
                batch_index,
                f" ({turn} turn)" if turn else "",
                float(grad_norm),
            )
            self.reporter.increment("skipped_steps")
            if scaler is not None:
                scaler.update()
                loss_was_bad = nonfinite_loss
                if self.distributed_option.distributed:
                    loss_was_bad = all_reduce_flag(loss_was_bad)  # every rank takes this branch
                reported = bool(loss_was_bad)
        else:
            step_stats: Dict[str, float] = {f"{turn}_grad_norm" if turn else "grad_norm": float(grad_norm)}
            for i in optimizer_indices:
                for j, group in enumerate(self.optimizers[i].param_groups):
                    step_stats[f"optim{i}_lr{j}"] = float(group["lr"])
            for i in optimizer_indices:
                if scaler is not None:
                    scaler.step(self.optimizers[i])
                else:
                    self.optimizers[i].step()
            if scaler is not None:
                scaler.update()
            for i in optimizer_indices:
                scheduler = self.schedulers[i]
                if scheduler is not None and scheduler_step_unit(scheduler) == "batch":
                    scheduler.step()
            self.reporter.register(step_stats, 1, new_batch=False)
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.model.zero_grad(set_to_none=True)
        return reported

    @torch.no_grad()
    def validate_one_epoch(self, iter_factory: Any, epoch: int) -> None:
        """Average the stats over the validation batches of ``epoch`` (eval mode, all ranks)."""
        self.model.eval()
        self.reporter.start_phase("valid", epoch)
        for item in iter_factory.build_iter(epoch):
            _, batch = _split_batch(item, epoch)
            if self.options.no_forward_run:
                continue
            batch = to_device(batch, self.device, dtype=self.float_dtype)
            with self.autocast():
                _, stats, weight = forward_model(self.model, batch)
            if self.distributed_option.distributed:
                stats, weight = all_reduce_stats(stats, weight)
            self.reporter.register(stats, weight)
        self.reporter.finish_phase()

    @torch.no_grad()
    def plot_attention(self, iter_factory: Any, epoch: int) -> List[Path]:
        """``images/att_ws/<uid>/<key>.ep<epoch>.png`` for the first ``num_att_plot`` utterances."""
        self.model.eval()
        written: List[Path] = []
        plotted = 0
        for item in iter_factory.build_iter(epoch, shuffle=False):
            uids, batch = _split_batch(item, epoch)
            batch = to_device(batch, self.device, dtype=self.float_dtype)
            attentions = forward_attention(self.model, batch)
            count = min(len(uids), self.options.num_att_plot - plotted)
            for key, weights in attentions.items():
                if weights.dim() not in (3, 4) or weights.shape[0] != len(uids):
                    raise ValueError(
                        f"forward_attention()[{key!r}] must be (B, T_out, T_in) or (B, H, T_out, T_in) "
                        f"with B={len(uids)}, got {tuple(weights.shape)}"
                    )
                for uid, matrix in zip(list(uids)[:count], weights[:count].detach()):
                    path = self.output_dir / "images" / "att_ws" / str(uid) / f"{key}.ep{epoch}.png"
                    if save_attention_map(matrix, path, title=f"{uid} {key} epoch {epoch}") is None:
                        return written
                    written.append(path)
            plotted += count
            if plotted >= self.options.num_att_plot:
                break
        return written

    def _step_epoch_schedulers(self) -> None:
        for scheduler in self.schedulers:
            if scheduler is None:
                continue
            unit = scheduler_step_unit(scheduler)
            if unit == "epoch":
                scheduler.step()
            elif unit == "valid_epoch":
                phase, key = self.options.val_scheduler_criterion
                if not self.reporter.has(phase, key):
                    raise ConfigError(
                        f"--val_scheduler_criterion {phase} {key}: the model reports no {phase} stat {key!r} "
                        f"({type(scheduler).__name__} needs it); reported: "
                        f"{sorted(self.reporter.history[self.reporter.last_epoch].get(phase, {}))}"
                    )
                scheduler.step(self.reporter.get_value(phase, key))

    # --- files -----------------------------------------------------------------------------
    def _save_epoch_files(self, epoch: int) -> None:
        """``<N>epoch.pth``, ``latest.pth``, the best-model copies, then prune to the n best."""
        output_dir, reporter, options = self.output_dir, self.reporter, self.options
        epoch_path = output_dir / f"{epoch}epoch.pth"
        save_atomic(self.model.state_dict(), epoch_path)
        copy_atomic(epoch_path, output_dir / "latest.pth")
        keep = max(options.keep_nbest_models)
        nbest_epochs = set()
        any_criterion = False
        for phase, key, mode in options.best_model_criterion:
            if not reporter.has(phase, key, epoch):
                if epoch == min(reporter.history):
                    logger.warning(
                        "--best_model_criterion %s %s %s: the model reports no %s stat %r; skipping it",
                        phase,
                        key,
                        mode,
                        phase,
                        key,
                    )
                continue
            any_criterion = True
            if reporter.best_epoch(phase, key, mode) == epoch:
                copy_atomic(epoch_path, output_dir / f"{phase}.{key}.best.pth")
                logger.info("The best model for %s.%s (%s) is now epoch %d", phase, key, mode, epoch)
            nbest_epochs.update(e for e, _ in reporter.sort_epochs_and_values(phase, key, mode)[:keep])
        if not any_criterion:
            return  # nothing to rank the epochs by: keep every epoch file
        for other_epoch, path in epoch_files(output_dir).items():
            if other_epoch not in nbest_epochs:
                path.unlink()
        logger.debug("Kept epoch files %s", sorted(nbest_epochs))

    def save_checkpoint(self, epoch: int, batch_index: int, epoch_completed: bool, early_stopped: bool = False) -> None:
        """Write ``checkpoint.pth`` atomically (:mod:`espkit.train.run_state`).

        Every rank must call it (the RNG states are gathered); rank 0 writes the file.
        """
        rng_per_rank = all_gather_objects(get_rng_states())
        if not self.distributed_option.is_main:
            return
        state = run_state(
            self.model,
            self.optimizers,
            self.schedulers,
            self.scaler,
            self.reporter,
            epoch,
            batch_index,
            epoch_completed,
            early_stopped,
            rng_per_rank,
            trainer_state=self.trainer_state(),
        )
        save_atomic(state, self.output_dir / CHECKPOINT_NAME)

    def trainer_state(self) -> Dict[str, Any]:
        """Plain data a trainer subclass saves in ``checkpoint.pth`` beyond the run state (none here)."""
        return {}

    def load_trainer_state(self, state: Dict[str, Any], path: Path) -> None:
        """Inverse of :meth:`trainer_state` (``state`` read from ``path``); nothing to load here."""

    def resume(self, path: Path) -> Position:
        """Load everything from ``path`` into this trainer's objects; returns where training continues."""
        option = self.distributed_option
        position = restore_run_state(
            path,
            self.model,
            self.optimizers,
            self.schedulers,
            self.scaler,
            self.reporter,
            rank=option.rank if option.distributed else 0,
            world_size=option.world_size if option.distributed else 1,
        )
        self.load_trainer_state(position.trainer_state, path)
        return position


def _summary_writer(output_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "--use_tensorboard true needs the tensorboard package (pip install tensorboard); "
            "or set --use_tensorboard false"
        ) from error
    return SummaryWriter(str(output_dir / "tensorboard"))
