"""Distributed (multi-process) training options and the few collectives the trainer needs.

torchrun is detected from the environment it sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``); explicit ``--dist_*`` options win over the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.distributed

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "nccl", "gloo")


def _env_int(environ: Mapping[str, str], name: str) -> Optional[int]:
    value = environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


@dataclass
class DistributedOption:
    """Where this process sits in a (possibly single-process) training job.

    >>> option = DistributedOption()  # a plain single-process run
    >>> option.distributed, option.is_main
    (False, True)
    """

    distributed: bool = False
    backend: str = "auto"
    init_method: str = "env://"
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    ngpu: int = 0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"--dist_backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.world_size < 1:
            raise ValueError(f"--dist_world_size must be >= 1, got {self.world_size}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"--dist_rank must be in [0, {self.world_size}), got {self.rank}")
        if self.local_rank < 0:
            raise ValueError(f"--local_rank must be >= 0, got {self.local_rank}")

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Optional[Mapping[str, str]] = None) -> "DistributedOption":
        """Build from the ``--dist_*``/``--local_rank``/``--ngpu`` options and torchrun's variables.

        ``environ`` defaults to ``os.environ``. The job is distributed when the world size
        (``--dist_world_size`` or ``WORLD_SIZE``) is larger than 1.
        """
        environ = os.environ if environ is None else environ
        options = vars(args)
        world_size = options.get("dist_world_size")
        if world_size is None:
            world_size = _env_int(environ, "WORLD_SIZE") or 1
        rank = options.get("dist_rank")
        if rank is None:
            rank = _env_int(environ, "RANK") or 0
        local_rank = options.get("local_rank")
        if local_rank is None:
            local_rank = _env_int(environ, "LOCAL_RANK")
        if local_rank is None:
            local_rank = rank % max(int(options.get("ngpu") or 1), 1)
        distributed = world_size > 1
        init_method = options.get("dist_init_method") or "env://"
        if distributed and init_method == "env://":
            missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in environ]
            if missing:
                raise RuntimeError(
                    f"world size {world_size} with --dist_init_method env:// needs the environment "
                    f"variables {', '.join(missing)} (launch with torchrun, or give --dist_init_method "
                    "tcp://HOST:PORT or file:///shared/path)"
                )
        return cls(
            distributed=distributed,
            backend=options.get("dist_backend") or "auto",
            init_method=init_method,
            world_size=world_size,
            rank=rank,
            local_rank=local_rank,
            ngpu=int(options.get("ngpu") or 0),
        )

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files and logs summaries."""
        return self.rank == 0

    @property
    def resolved_backend(self) -> str:
        """``nccl`` on GPU and ``gloo`` on CPU when the backend is ``auto``."""
        if self.backend != "auto":
            return self.backend
        return "nccl" if self.ngpu > 0 else "gloo"

    @property
    def device(self) -> torch.device:
        """``cuda:<local_rank>`` when training on GPU, else ``cpu``."""
        if self.ngpu > 0:
            return torch.device("cuda", self.local_rank if self.distributed else 0)
        return torch.device("cpu")

    def init(self) -> None:
        """Select this process's GPU and initialise the default process group (no-op if single)."""
        if self.ngpu > 0 and self.distributed:
            torch.cuda.set_device(self.local_rank)
        if not self.distributed:
            return
        if torch.distributed.is_initialized():
            logger.info("torch.distributed is already initialised; keeping that process group")
            return
        torch.distributed.init_process_group(
            backend=self.resolved_backend,
            init_method=self.init_method,
            world_size=self.world_size,
            rank=self.rank,
        )
        logger.info(
            "Initialised torch.distributed: backend=%s rank=%d/%d local_rank=%d",
            self.resolved_backend,
            self.rank,
            self.world_size,
            self.local_rank,
        )


def is_initialized() -> bool:
    """True when a default process group exists (stats must then be reduced across ranks)."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _collective_device() -> torch.device:
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_stats(
    stats: Mapping[str, Union[torch.Tensor, float, None]],
    weight: Union[torch.Tensor, float, int],
) -> Tuple[Dict[str, Optional[float]], float]:
    """Weighted means of ``stats`` over all ranks, and the total weight.

    Every rank must call this with the same keys. A ``None`` value counts with weight 0 on that
    rank; a key that is ``None`` on every rank stays ``None``. Without a process group the
    stats are returned unchanged (as floats).

    Returns:
        ``({key: sum_r(value_r * weight_r) / sum_r(weight_r)}, sum_r(weight_r))``.
    """
    weight_value = float(weight)
    keys = sorted(stats)
    if not is_initialized():
        return {key: (None if stats[key] is None else float(stats[key])) for key in keys}, weight_value
    # One packed vector [v1*w, w_1, v2*w, w_2, ...] per rank, summed by a single all_reduce.
    packed = torch.zeros(2 * len(keys) + 1, dtype=torch.float64)
    for index, key in enumerate(keys):
        value = stats[key]
        if value is not None:
            packed[2 * index] = float(value) * weight_value
            packed[2 * index + 1] = weight_value
    packed[-1] = weight_value
    packed = packed.to(_collective_device())
    torch.distributed.all_reduce(packed, op=torch.distributed.ReduceOp.SUM)
    packed = packed.cpu().tolist()
    reduced: Dict[str, Optional[float]] = {}
    for index, key in enumerate(keys):
        total_weight = packed[2 * index + 1]
        reduced[key] = packed[2 * index] / total_weight if total_weight != 0 else None
    return reduced, packed[-1]


def all_reduce_flag(flag: Union[bool, torch.Tensor]) -> bool:
    """True if ``flag`` is true on any rank (plain ``bool(flag)`` without a process group)."""
    if not is_initialized():
        return bool(flag)
    value = torch.tensor([1.0 if bool(flag) else 0.0], device=_collective_device())
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item() > 0)


def broadcast_flag(flag: Union[bool, torch.Tensor], src: int = 0) -> bool:
    """Rank ``src``'s ``flag`` on every rank (plain ``bool(flag)`` without a process group).

    A collective: every rank must call it at the same point.
    """
    if not is_initialized():
        return bool(flag)
    value = torch.tensor([1.0 if bool(flag) else 0.0], device=_collective_device())
    torch.distributed.broadcast(value, src=src)
    return bool(value.item() > 0)


def all_gather_objects(obj: Any) -> List[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (picklable ``obj``); ``[obj]`` without a process group.

    A collective: every rank must call it at the same point.
    """
    if not is_initialized():
        return [obj]
    gathered: List[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, obj)
    return gathered


def shutdown() -> None:
    """End a distributed run: wait for every rank, then destroy the default process group.

    Every rank leaves together, and the backend's threads (gloo's workers hold the buffers of the
    last collectives) are torn down while the interpreter is still alive instead of during its
    finalisation, where they can abort the process. No-op without a process group.
    """
    if is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if is_initialized():
        torch.distributed.barrier()
