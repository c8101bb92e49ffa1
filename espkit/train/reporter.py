"""Per-epoch statistics of a training run: weighted averages, history, best epochs, plots.

The trainer opens a phase (``"train"`` or ``"valid"``) of an epoch, registers the stats of
every batch, and closes the phase, which stores the epoch averages in the history::

    >>> reporter = Reporter()
    >>> reporter.start_phase("train", epoch=1)
    >>> reporter.register({"loss": torch.tensor(2.0)}, weight=3)
    >>> reporter.register({"loss": torch.tensor(4.0)}, weight=1)
    >>> reporter.finish_phase()["loss"]
    2.5

Sums are kept as (float64) tensors so that registering a batch does not synchronise with the
GPU; they become Python floats only for logging, closing a phase and ``state_dict()``.
``state_dict()`` holds the partial sums of the open phase, so a run resumed mid-epoch reports
the same epoch averages as an uninterrupted one.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch

logger = logging.getLogger(__name__)
_logger = logger  # check_early_stopping's default (its parameter `logger` shadows the name)

Number = Union[torch.Tensor, float, int]
MODES = ("min", "max")

_matplotlib_missing_logged = False


def _as_float(value: Number) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


class ReportedValue:
    """ESPnet2's base of one registered value (``Average``, ``WeightedAverage``)."""


class Average(ReportedValue):
    """A value averaged plainly over the batches (ESPnet2)."""

    def __init__(self, value: float) -> None:
        self.value = value


class WeightedAverage(ReportedValue):
    """A value averaged with a weight over the batches (ESPnet2)."""

    def __init__(self, value: Tuple[float, float], weight: float) -> None:
        self.value = value
        self.weight = weight


def aggregate(values: List[ReportedValue]) -> float:
    """Mean of ESPnet2 ``Average`` values, or weighted mean of ``WeightedAverage`` values (NaNs left
    out); ``np.nan`` for none (ESPnet2's ``aggregate``)."""
    if len(values) == 0:
        return np.nan
    if all(type(v) is Average for v in values):
        finite = [float(v.value) for v in values if not math.isnan(float(v.value))]
        return float(np.mean(finite)) if finite else np.nan
    if all(type(v) is WeightedAverage for v in values):
        pairs = [(float(v.value), float(v.weight)) for v in values if not math.isnan(float(v.value))]
        total = sum(w for _, w in pairs)
        return sum(x * w for x, w in pairs) / total if total != 0 else np.nan
    raise NotImplementedError(f"aggregate of {sorted({type(v).__name__ for v in values})}")


class Reporter:
    """History of ``{epoch: {phase: {stat: value}}}`` plus the sums of the phase in progress."""

    def __init__(self, epoch: int = 0) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be 0 or more, got {epoch}")
        self._current_epoch = epoch  # ESPnet2's get_epoch()/set_epoch()
        self.history: Dict[int, Dict[str, Dict[str, float]]] = {}
        self._epoch: Optional[int] = None
        self._phase: Optional[str] = None
        self._sums: Dict[str, List[Number]] = {}  # key -> [sum(value * weight), sum(weight)]
        self._counts: Dict[str, float] = {}  # key -> plain sum (e.g. skipped_steps)
        self._elapsed_before = 0.0  # seconds of this phase spent in earlier (resumed) runs
        self._start_time = time.perf_counter()
        self._batches_here = 0  # batches registered in this process (for it/s and the ETA)

    # --- accumulation ------------------------------------------------------------------------
    @property
    def epoch(self) -> Optional[int]:
        """The epoch of the open phase (None before the first ``start_phase``)."""
        return self._epoch

    @property
    def phase(self) -> Optional[str]:
        """The open phase, or None."""
        return self._phase

    def start_phase(self, phase: str, epoch: int) -> None:
        """Open ``phase`` of ``epoch``; continues the restored partial sums if they are of the same one."""
        resumed = self._phase == phase and self._epoch == epoch
        if not resumed:
            self._sums = {}
            self._counts = {}
            self._elapsed_before = 0.0
        self._phase = phase
        self._epoch = epoch
        self._start_time = time.perf_counter()
        self._batches_here = 0

    def register(self, stats: Mapping[str, Optional[Number]], weight: Number = 1, new_batch: bool = True) -> None:
        """Add one batch: every non-None stat enters the weighted mean of its key with ``weight``.

        Args:
            stats: ``{key: scalar tensor | float}``; tensors must hold one element.
            weight: the batch weight (tensor or number), usually the batch size.
            new_batch: Whether this call is a new batch (for it/s and the ETA); False for
                per-step extras (learning rate, grad norm) of a batch already registered.
        """
        if self._phase is None:
            raise RuntimeError("Reporter.register() called before start_phase()")
        if isinstance(weight, torch.Tensor):
            weight = weight.detach().to(torch.float64)
        else:
            weight = float(weight)
        for key, value in stats.items():
            if value is None:
                continue
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"stat {key!r} must be a scalar, got a tensor of shape {tuple(value.shape)}")
                value = value.detach().reshape(()).to(torch.float64)
            else:
                value = float(value)
            sums = self._sums.get(key)
            if sums is None:
                self._sums[key] = [value * weight, weight]
            else:
                sums[0] = sums[0] + value * weight
                sums[1] = sums[1] + weight
        if new_batch:
            self._batches_here += 1

    def increment(self, key: str, amount: float = 1) -> None:
        """Add ``amount`` to a plain per-epoch sum (e.g. ``skipped_steps``)."""
        self._counts[key] = self._counts.get(key, 0) + amount

    def elapsed(self) -> float:
        """Seconds spent in the open phase, including earlier runs of a resumed epoch."""
        return self._elapsed_before + time.perf_counter() - self._start_time

    def current_averages(self) -> Dict[str, float]:
        """Weighted means (and sums) of the open phase so far (synchronises with the device)."""
        averages = {}
        for key, (weighted_sum, weight_sum) in self._sums.items():
            weight_sum = _as_float(weight_sum)
            averages[key] = _as_float(weighted_sum) / weight_sum if weight_sum != 0 else math.nan
        averages.update(self._counts)
        return averages

    def finish_phase(self) -> Dict[str, float]:
        """Close the open phase: store its averages (plus ``time`` in seconds) in the history."""
        if self._phase is None or self._epoch is None:
            raise RuntimeError("Reporter.finish_phase() called without an open phase")
        values = self.current_averages()
        values["time"] = self.elapsed()
        self.history.setdefault(self._epoch, {})[self._phase] = values
        self._phase = None
        self._sums = {}
        self._counts = {}
        self._elapsed_before = 0.0
        return values

    # --- messages ------------------------------------------------------------------------------
    def progress_message(self, batch_index: int, num_batches: Optional[int]) -> str:
        """``"2epoch:train:30/100batch: loss=0.512, ... (12.3 it/s, ETA 0:00:05)"``."""
        elapsed = time.perf_counter() - self._start_time
        rate = self._batches_here / elapsed if elapsed > 0 else math.nan
        total = "?" if num_batches is None else str(num_batches)
        stats = ", ".join(f"{key}={value:.4g}" for key, value in sorted(self.current_averages().items()))
        message = f"{self._epoch}epoch:{self._phase}:{batch_index}/{total}batch: {stats} ({rate:.2f} it/s"
        if num_batches is not None and rate > 0 and math.isfinite(rate):
            remaining = max(num_batches - batch_index, 0) / rate
            message += f", ETA {datetime.timedelta(seconds=round(remaining))}"
        return message + ")"

    def epoch_summary(self, epoch: int) -> str:
        """One line with every stat of every phase of ``epoch``."""
        parts = []
        for phase, values in self.history.get(epoch, {}).items():
            stats = ", ".join(f"{key}={value:.4g}" for key, value in sorted(values.items()))
            parts.append(f"[{phase}] {stats}")
        return f"{epoch}epoch results: " + "; ".join(parts)

    # --- history queries ---------------------------------------------------------------------
    @property
    def last_epoch(self) -> int:
        """The latest epoch with a closed phase (0 when none)."""
        return max(self.history, default=0)

    def has(self, phase: str, key: str, epoch: Optional[int] = None) -> bool:
        """True if ``phase``/``key`` has a value at ``epoch`` (default: the last epoch)."""
        epoch = self.last_epoch if epoch is None else epoch
        return key in self.history.get(epoch, {}).get(phase, {})

    def get_value(self, phase: str, key: str, epoch: Optional[int] = None) -> float:
        """The average of ``key`` in ``phase`` at ``epoch`` (default: the last epoch)."""
        epoch = self.last_epoch if epoch is None else epoch
        values = self.history.get(epoch, {}).get(phase)
        if values is None:
            raise KeyError(f"no {phase!r} results for epoch {epoch}; epochs with results: {sorted(self.history)}")
        if key not in values:
            raise KeyError(f"no stat {key!r} in the {phase} results of epoch {epoch}; valid: {sorted(values)}")
        return values[key]

    def sort_epochs_and_values(self, phase: str, key: str, mode: str) -> List[Tuple[int, float]]:
        """``[(epoch, value), ...]`` best first (ties: the earlier epoch first); NaN values left out."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        pairs = [
            (epoch, phases[phase][key])
            for epoch, phases in self.history.items()
            if key in phases.get(phase, {}) and not math.isnan(phases[phase][key])
        ]
        sign = 1.0 if mode == "min" else -1.0
        return sorted(pairs, key=lambda pair: (sign * pair[1], pair[0]))

    def best_epoch(self, phase: str, key: str, mode: str) -> Optional[int]:
        """The epoch with the best value (None if the stat was never reported)."""
        pairs = self.sort_epochs_and_values(phase, key, mode)
        return pairs[0][0] if pairs else None

    def check_early_stopping(
        self,
        patience: Optional[int],
        phase: str,
        key: str,
        mode: str,
        epoch: Optional[int] = None,
        logger: Optional[logging.Logger] = None,
    ) -> bool:
        """True when the best ``phase``/``key`` is more than ``patience`` epochs behind ``epoch``.

        ESPnet2's rule: with ``patience=2`` and the best at epoch 3, training stops after epoch 6.
        """
        if patience is None:
            return False
        epoch = self.last_epoch if epoch is None else epoch
        best = self.best_epoch(phase, key, mode)
        if best is None:
            return False
        if epoch - best > patience:
            (logger or _logger).info(
                "Early stopping: %s %s has not improved for %d epochs (best: epoch %d, patience %d)",
                phase,
                key,
                epoch - best,
                best,
                patience,
            )
            return True
        return False

    # --- ESPnet2's API (espnet2.train.reporter.Reporter): the same history, ESPnet2's names ---------
    def get_epoch(self) -> int:
        """The epoch :meth:`observe` uses when none is given (ESPnet2)."""
        return self._current_epoch

    def set_epoch(self, epoch: int) -> None:
        if getattr(self, "_observing", None) is not None:
            raise RuntimeError(
                f"set_epoch({epoch}) while {self._observing.key} of epoch {self._observing.epoch} is observed"
            )
        if epoch < 0:
            raise ValueError(f"epoch must be 0 or more, got {epoch}")
        self._current_epoch = epoch

    def start_epoch(self, key: str, epoch: Optional[int] = None) -> "SubReporter":
        """Open phase ``key`` (e.g. "train") of ``epoch`` (default :meth:`get_epoch`); ESPnet2's name."""
        if epoch is not None:
            self.set_epoch(epoch)
        self.start_phase(key, self._current_epoch)
        return SubReporter(self, key, self._current_epoch)

    def finish_epoch(self, sub_reporter: "SubReporter") -> None:
        """Close the phase ``sub_reporter`` reports to (ESPnet2's name for :meth:`finish_phase`)."""
        if sub_reporter.epoch != self._epoch or sub_reporter.key != self._phase:
            raise RuntimeError(
                f"finish_epoch: {sub_reporter.key} of epoch {sub_reporter.epoch} is not the open phase "
                f"({self._phase} of epoch {self._epoch})"
            )
        self.finish_phase()

    @contextmanager
    def observe(self, key: str, epoch: Optional[int] = None) -> Iterator["SubReporter"]:
        """``with reporter.observe("train", 1) as sub: sub.register({"loss": x}, weight=n)``."""
        sub_reporter = self.start_epoch(key, epoch)
        self._observing = sub_reporter
        try:
            yield sub_reporter
        finally:
            self._observing = None
        self.finish_epoch(sub_reporter)
        sub_reporter.finished = True

    def sort_epochs(self, key: str, key2: str, mode: str) -> List[int]:
        return [epoch for epoch, _ in self.sort_epochs_and_values(key, key2, mode)]

    def sort_values(self, key: str, key2: str, mode: str) -> List[float]:
        return [value for _, value in self.sort_epochs_and_values(key, key2, mode)]

    def get_best_epoch(self, key: str, key2: str, mode: str, nbest: int = 0) -> int:
        """The ``nbest``-th best epoch (0: the best); ``IndexError`` beyond the epochs reported."""
        return self.sort_epochs(key, key2, mode)[nbest]

    def get_keys(self, epoch: Optional[int] = None) -> Tuple[str, ...]:
        """The phases reported at ``epoch`` (default: the last epoch), e.g. ``("train", "valid")``."""
        epoch = self.last_epoch if epoch is None else epoch
        return tuple(self.history.get(epoch, {}))

    def get_keys2(self, key: str, epoch: Optional[int] = None) -> Tuple[str, ...]:
        """The stats of phase ``key`` at ``epoch`` (default: the last epoch), ``time`` and
        ``total_count`` left out."""
        epoch = self.last_epoch if epoch is None else epoch
        return tuple(k for k in self.history.get(epoch, {}).get(key, {}) if k not in ("time", "total_count"))

    def get_all_keys(self, epoch: Optional[int] = None) -> Tuple[Tuple[str, str], ...]:
        return tuple((key, key2) for key in self.get_keys(epoch) for key2 in self.get_keys2(key, epoch))

    def log_message(self, epoch: Optional[int] = None) -> str:
        """ESPnet2's name for :meth:`epoch_summary` (default: the last epoch)."""
        return self.epoch_summary(self.last_epoch if epoch is None else epoch)

    # --- persistence -------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Plain data: the history and the partial sums of the open phase."""
        current = None
        if self._phase is not None:
            current = {
                "epoch": self._epoch,
                "phase": self._phase,
                "sums": {key: [_as_float(a), _as_float(b)] for key, (a, b) in self._sums.items()},
                "counts": dict(self._counts),
                "elapsed": self.elapsed(),
            }
        return {
            "history": {
                epoch: {phase: dict(values) for phase, values in phases.items()}
                for epoch, phases in self.history.items()
            },
            "current": current,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of :meth:`state_dict`; ``start_phase`` of the same phase/epoch then continues it."""
        self.history = {
            int(epoch): {phase: dict(values) for phase, values in phases.items()}
            for epoch, phases in state["history"].items()
        }
        current = state.get("current")
        if current is None:
            self._epoch, self._phase, self._sums, self._counts, self._elapsed_before = None, None, {}, {}, 0.0
            return
        self._epoch = int(current["epoch"])
        self._phase = str(current["phase"])
        self._sums = {key: [float(a), float(b)] for key, (a, b) in current["sums"].items()}
        self._counts = dict(current["counts"])
        self._elapsed_before = float(current["elapsed"])
        self._start_time = time.perf_counter()

    # --- outputs -----------------------------------------------------------------------------
    def matplotlib_plot(self, output_dir: Union[str, Path]) -> List[Path]:
        """ESPnet2's name: ``<output_dir>/<stat>.png`` (:meth:`plot` writes them under ``images/``)."""
        return self.plot(output_dir, subdir="")

    def tensorboard_add_scalar(self, writer: Any, epoch: Optional[int] = None) -> None:
        """ESPnet2's name for :meth:`tensorboard_add_scalars` (default: the last epoch)."""
        self.tensorboard_add_scalars(writer, self.last_epoch if epoch is None else epoch)

    def plot(self, output_dir: Union[str, Path], subdir: str = "images") -> List[Path]:
        """Write ``<output_dir>/<subdir>/<stat>.png`` (one curve per phase over the epochs).

        Uses matplotlib's Agg canvas (no display needed); without matplotlib nothing is written
        and a single info message is logged per process.
        """
        global _matplotlib_missing_logged
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            if not _matplotlib_missing_logged:
                logger.info("matplotlib is not installed: skipping the training-curve plots")
                _matplotlib_missing_logged = True
            return []
        image_dir = Path(output_dir) / subdir
        image_dir.mkdir(parents=True, exist_ok=True)
        keys = sorted({key for phases in self.history.values() for values in phases.values() for key in values})
        epochs = sorted(self.history)
        written = []
        for key in keys:
            figure = Figure(figsize=(6, 4))
            FigureCanvasAgg(figure)
            axes = figure.add_subplot(1, 1, 1)
            for phase in sorted({phase for phases in self.history.values() for phase in phases}):
                points = [(e, self.history[e][phase][key]) for e in epochs if key in self.history[e].get(phase, {})]
                if points:
                    axes.plot([e for e, _ in points], [v for _, v in points], marker="o", label=phase)
            axes.set_xlabel("epoch")
            axes.set_ylabel(key)
            axes.set_title(f"{key} vs epoch")
            axes.legend()
            axes.grid(True)
            path = image_dir / f"{key}.png"
            figure.savefig(path)
            written.append(path)
        return written

    def tensorboard_add_scalars(self, writer: Any, epoch: int) -> None:
        """``writer.add_scalar("<phase>/<stat>", value, epoch)`` for every stat of ``epoch``."""
        for phase, values in self.history.get(epoch, {}).items():
            for key, value in values.items():
                writer.add_scalar(f"{phase}/{key}", value, epoch)


class SubReporter:
    """ESPnet2's per-phase handle (``Reporter.observe``): :meth:`register` adds one batch's stats.

    ``weight=None`` averages plainly (weight 1), as ESPnet2's ``Average``; a weight makes a
    weighted mean (``WeightedAverage``). ``next()`` exists for ESPnet2's loop and does nothing:
    every ``register`` call counts as one batch.
    """

    RESERVED = ("time", "total_count")

    def __init__(self, reporter: Reporter, key: str, epoch: int) -> None:
        self.reporter = reporter
        self.key = key
        self.epoch = epoch
        self.finished = False
        self._weighted: Dict[str, bool] = {}  # key -> registered with a weight (ESPnet2: one kind per key)
        self._count = 0

    def get_epoch(self) -> int:
        return self.epoch

    def get_total_count(self) -> int:
        """Batches registered to this phase in this epoch and the earlier ones (ESPnet2)."""
        before = sum(
            int(phases[self.key].get("total_count", 0))
            for epoch, phases in self.reporter.history.items()
            if epoch < self.epoch and self.key in phases
        )
        return before + self._count

    def register(self, stats: Mapping[str, Optional[Number]], weight: Optional[Number] = None) -> None:
        """Add one batch; ESPnet2's rules: not after the phase closed, no reserved keys (``time``,
        ``total_count``), scalars only, and a key keeps being registered with or without a weight."""
        if self.finished:
            raise RuntimeError(f"register() after {self.key} of epoch {self.epoch} was closed")
        if weight is not None and np.asarray(weight).size != 1:
            raise ValueError(f"weight must be a scalar, got shape {np.shape(weight)}")
        for key, value in stats.items():
            if key in self.RESERVED:
                raise RuntimeError(f"{key!r} is a reserved key; valid stats are any others")
            if isinstance(value, np.ndarray) and value.size != 1:
                raise ValueError(f"stat {key!r} must be a scalar, got an array of shape {value.shape}")
            if self._weighted.setdefault(key, weight is not None) != (weight is not None):
                raise ValueError(
                    f"stat {key!r} was registered {'with' if self._weighted[key] else 'without'} a weight before"
                )
        stats = {k: (float(np.asarray(v)) if isinstance(v, np.ndarray) else v) for k, v in stats.items()}
        if weight is not None and not isinstance(weight, torch.Tensor):
            weight = float(np.asarray(weight))
        self.reporter.register(stats, 1 if weight is None else weight)
        self._count += 1
        self.reporter.increment("total_count")

    def next(self) -> None:
        """ESPnet2 closes a step here; espkit's averages need nothing."""

    def log_message(self, start: Optional[int] = None, end: Optional[int] = None) -> str:
        """The running averages of the open phase (``start``/``end`` accepted for ESPnet2, which
        averages a range of its steps; espkit's are over the whole phase)."""
        if self.finished:
            raise RuntimeError(f"log_message() after {self.key} of epoch {self.epoch} was closed")
        return self.reporter.progress_message(self._count, None)

    def tensorboard_add_scalar(self, writer: Any, start: Optional[int] = None) -> None:
        """``writer.add_scalar("<phase>_<stat>", value, total_count)`` for the running averages."""
        for key, value in self.reporter.current_averages().items():
            writer.add_scalar(f"{self.key}_{key}", value, self.get_total_count())

    @contextmanager
    def measure_time(self, name: str) -> Iterator[None]:
        """Register the seconds the ``with`` body takes as stat ``name``."""
        start = time.perf_counter()
        yield
        self.reporter.register({name: time.perf_counter() - start}, 1, new_batch=False)

    def measure_iter_time(self, iterable: Any, name: str) -> Iterator[Any]:
        """Yield from ``iterable``, registering the seconds each item took to produce as ``name``."""
        iterator = iter(iterable)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            self.reporter.register({name: time.perf_counter() - start}, 1, new_batch=False)
            yield item
