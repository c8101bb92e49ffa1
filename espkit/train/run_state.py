"""``checkpoint.pth``: the whole state of a training run, and putting it back for ``--resume``.

The trainer writes it (atomically, rank 0) at the end of every epoch, every
``--save_every_n_iters`` batches and on SIGINT/SIGTERM. It holds

- ``model``, ``optimizers``, ``schedulers``, ``scaler`` (AMP) and ``reporter`` states;
- ``epoch``, ``batch_index`` (batches of ``epoch`` done), ``epoch_completed``, ``early_stopped``;
- ``rng``: rank 0's RNG states (python, numpy, torch, CUDA), and ``rng_per_rank``: every rank's,
  gathered when distributed. A mid-epoch resume gives each rank its own states back, so a
  multi-process run continues exactly as it would have (checkpoint version 2; version 1 files,
  which hold only ``rng``, still load);
- ``trainer``: what a trainer subclass keeps beyond these (``Trainer.trainer_state``), e.g. the
  GAN trainer's generator-step count and per-optimizer AMP scalers; ``{}`` for the plain trainer
  and in files written before it existed.

Everything is tensors and plain containers, loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import torch

from espkit.train.checkpoint import CheckpointError, apply_model_state, load_checkpoint
from espkit.train.reporter import Reporter

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pth"
CHECKPOINT_VERSION = 2
_REQUIRED_KEYS = frozenset({"model", "optimizers", "schedulers", "reporter", "epoch", "batch_index", "rng"})


@dataclass
class Position:
    """Where training continues: ``batch_index`` batches of ``epoch`` are done."""

    epoch: int = 1
    batch_index: int = 0
    rng_states: Optional[Dict[str, Any]] = None  # this rank's, for a mid-epoch resume
    early_stopped: bool = False
    trainer_state: Dict[str, Any] = field(default_factory=dict)  # the checkpoint's "trainer" entry


def run_state(
    model: torch.nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    schedulers: Sequence[Any],
    scaler: Optional[Any],
    reporter: Reporter,
    epoch: int,
    batch_index: int,
    epoch_completed: bool,
    early_stopped: bool,
    rng_per_rank: List[Dict[str, Any]],
    trainer_state: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The dict saved as ``checkpoint.pth`` (``rng_per_rank[r]``: rank r's RNG states;
    ``trainer_state``: plain data of the trainer class, see ``Trainer.trainer_state``)."""
    return {
        "version": CHECKPOINT_VERSION,
        "model": model.state_dict(),
        "optimizers": [optimizer.state_dict() for optimizer in optimizers],
        "schedulers": [None if s is None else s.state_dict() for s in schedulers],
        "scaler": None if scaler is None else scaler.state_dict(),
        "reporter": reporter.state_dict(),
        "epoch": epoch,
        "batch_index": batch_index,
        "epoch_completed": epoch_completed,
        "early_stopped": early_stopped,
        "rng": rng_per_rank[0],
        "rng_per_rank": rng_per_rank,
        "trainer": {} if trainer_state is None else trainer_state,
    }


def _load_into(path: Path, kind: str, objects: Sequence[Any], states: Sequence[Any]) -> None:
    if len(states) != len(objects):
        raise CheckpointError(f"{path} holds {len(states)} {kind} but this run has {len(objects)}")
    for index, (obj, state) in enumerate(zip(objects, states)):
        if (obj is None) != (state is None):
            raise CheckpointError(f"{path}: {kind}[{index}] is {'missing' if state is None else 'unexpected'}")
        if obj is None:
            continue
        try:
            obj.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as error:
            raise CheckpointError(
                f"{path}: cannot load {kind}[{index}] into {type(obj).__name__} "
                f"(was the {kind[:-1]} config changed?): {error}"
            ) from error


def _rng_states_of_rank(path: Path, checkpoint: Dict[str, Any], rank: int, world_size: int) -> Dict[str, Any]:
    per_rank = checkpoint.get("rng_per_rank")
    if per_rank is not None and len(per_rank) == world_size:
        return per_rank[rank]
    if world_size > 1 or (per_rank is not None and len(per_rank) != 1):
        written_by = len(per_rank) if per_rank is not None else "an unknown number of"
        logger.warning(
            "%s was written by %s process(es) and is resumed by %d: every rank starts from rank 0's "
            "RNG states, so the rest of epoch %s is not bit-identical to an uninterrupted run",
            path,
            written_by,
            world_size,
            checkpoint["epoch"],
        )
    return checkpoint["rng"]


def restore_run_state(
    path: Path,
    model: torch.nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    schedulers: Sequence[Any],
    scaler: Optional[Any],
    reporter: Reporter,
    rank: int = 0,
    world_size: int = 1,
) -> Position:
    """Load ``path`` (a :func:`run_state` dict) into the given objects; returns where to continue.

    Raises:
        CheckpointError: not a training checkpoint, corrupt, or not matching this run's model,
            optimizers or schedulers (each mismatch named).
    """
    checkpoint = load_checkpoint(path, map_location="cpu")
    if not isinstance(checkpoint, dict) or not _REQUIRED_KEYS.issubset(checkpoint):
        found = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise CheckpointError(
            f"{path} is not a training checkpoint (needs {sorted(_REQUIRED_KEYS)}, found {found}); "
            "to initialise from model weights use --init_param instead of --resume"
        )
    apply_model_state(model, checkpoint["model"], str(path))
    _load_into(path, "optimizers", optimizers, checkpoint["optimizers"])
    _load_into(path, "schedulers", schedulers, checkpoint["schedulers"])
    if scaler is not None and checkpoint.get("scaler") is not None:
        scaler.load_state_dict(checkpoint["scaler"])
    reporter.load_state_dict(checkpoint["reporter"])
    epoch, batch_index = int(checkpoint["epoch"]), int(checkpoint["batch_index"])
    if checkpoint.get("epoch_completed", False):
        position = Position(epoch=epoch + 1, batch_index=0, early_stopped=bool(checkpoint.get("early_stopped", False)))
        logger.info(
            "Resumed from %s: epoch %d was completed, continuing with epoch %d%s",
            path,
            epoch,
            epoch + 1,
            " (early stopping had fired: only averaging)" if position.early_stopped else "",
        )
    else:
        position = Position(
            epoch=epoch, batch_index=batch_index, rng_states=_rng_states_of_rank(path, checkpoint, rank, world_size)
        )
        logger.info("Resumed from %s: epoch %d, continuing after batch %d", path, epoch, batch_index)
    position.trainer_state = dict(checkpoint.get("trainer") or {})
    return position
