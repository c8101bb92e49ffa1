"""What a training run directory (``exp/<run>``) holds, read for the training report.

>>> run = read_training_run("exp/tts_train")  # doctest: +SKIP
>>> run.epochs, run.status, [c.best_epoch for c in run.criteria]
([1, 2, ..., 25], 'finished: 25 of 25 epochs', [25])

Sources, in this order of preference:

- ``history.jsonl`` (:mod:`espkit.train.history`): one line per finished epoch; a partial last
  line (a run writing it, or killed while it did) is skipped and noted;
- ``checkpoint.pth`` (read with ``weights_only=True``): the reporter's history, for runs made
  before ``history.jsonl`` existed (no batch counts, so no step time or throughput);

plus ``config.yaml`` (``max_epoch``, ``patience``, the best-model criteria, ``keep_nbest_models``;
the trainer's defaults for what it lacks), the model files (``<phase>.<stat>.best.pth``,
``<phase>.<stat>.ave_<n>best.pth``, ``<N>epoch.pth``), the attention maps
``images/att_ws/<uid>/<key>.ep<N>.png`` and the evaluation results ``eval*/results.json``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from espkit.train.checkpoint import CheckpointError, load_checkpoint
from espkit.train.history import HISTORY_NAME, read_history, records_from_history
from espkit.train.nbest import epoch_files
from espkit.train.reporter import Reporter
from espkit.train.run_state import CHECKPOINT_NAME
from espkit.train.trainer_options import TrainerOptions
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
_ATTENTION_FILE = re.compile(r"^(?P<key>.+)\.ep(?P<epoch>\d+)\.png$")


@dataclass
class Criterion:
    """One ``best_model_criterion`` ranked over the finished epochs."""

    phase: str
    key: str
    mode: str
    ranking: List[Tuple[int, float]]  # (epoch, value), best first
    nbest: int  # the largest keep_nbest_models (the epochs an average is made of)
    best_file: Optional[Path] = None  # <phase>.<key>.best.pth, if present
    average_files: Dict[int, Path] = field(default_factory=dict)  # n -> <phase>.<key>.ave_<n>best.pth

    @property
    def name(self) -> str:
        return f"{self.phase}.{self.key}"

    @property
    def best_epoch(self) -> Optional[int]:
        return self.ranking[0][0] if self.ranking else None

    @property
    def nbest_epochs(self) -> List[int]:
        """The epochs the largest n-best average is (or will be) made of, best first."""
        return [epoch for epoch, _ in self.ranking[: self.nbest]]


@dataclass
class EvalResult:
    """One evaluation directory (``eval*/``) of the run: ``results.json`` and ``results.md``."""

    name: str
    results: Dict[str, Any]
    markdown: Optional[Path]


@dataclass
class TrainingRun:
    """A training run as the report shows it; ``records`` are :mod:`espkit.train.history` lines."""

    run_dir: Path
    config: Dict[str, Any]
    records: List[Dict[str, Any]]
    source: str  # "history.jsonl", "checkpoint.pth" or "" (no finished epoch found)
    notes: List[str]
    max_epoch: int
    patience: Optional[int]
    early_stopping_criterion: List[str]
    criteria: List[Criterion]
    epoch_files: List[int]
    attention: Dict[str, Dict[str, Dict[int, Path]]]  # uid -> key -> epoch -> png
    evals: List[EvalResult]

    @property
    def epochs(self) -> List[int]:
        return [record["epoch"] for record in self.records]

    def series(self, phase: str, key: str) -> List[Tuple[int, float]]:
        """``[(epoch, value)]`` of a stat (epochs without it, or with a null value, left out)."""
        points = []
        for record in self.records:
            value = record["stats"].get(phase, {}).get(key)
            if value is not None:
                points.append((record["epoch"], float(value)))
        return points

    def timing_series(self, key: str) -> List[Tuple[int, float]]:
        """``[(epoch, value)]`` of a ``timing`` field (``s_per_batch``, ``utts_per_s``...)."""
        return [
            (record["epoch"], float(record["timing"][key]))
            for record in self.records
            if record.get("timing", {}).get(key) is not None
        ]

    def stat_keys(self, phase: Optional[str] = None) -> List[str]:
        """Every stat name of ``phase`` (default: of any phase), sorted."""
        return sorted(
            {
                key
                for record in self.records
                for name, values in record["stats"].items()
                if phase is None or name == phase
                for key in values
            }
        )

    @property
    def status(self) -> str:
        """``finished: ...``, ``stopped early ...`` or ``not finished: ...`` (running, killed or stopped)."""
        if not self.records:
            return f"no finished epoch yet (max_epoch {self.max_epoch})"
        last = self.records[-1]["epoch"]
        if last >= self.max_epoch:
            return f"finished: {last} of {self.max_epoch} epochs"
        reporter = self.reporter()
        phase, key, mode = self.early_stopping_criterion
        if reporter.check_early_stopping(self.patience, phase, key, mode, epoch=last, logger=logger):
            best = reporter.best_epoch(phase, key, mode)
            return (
                f"stopped early after epoch {last} of {self.max_epoch} "
                f"({phase}.{key} best at epoch {best}, patience {self.patience})"
            )
        return (
            f"not finished: {last} of {self.max_epoch} epochs (still running, or stopped or killed: "
            "resume with --resume true)"
        )

    def reporter(self) -> Reporter:
        """A :class:`Reporter` holding the records' stats (for its best-epoch and early-stopping rules)."""
        reporter = Reporter()
        reporter.load_state_dict(
            {
                "history": {
                    record["epoch"]: {
                        phase: {key: (math.nan if value is None else value) for key, value in values.items()}
                        for phase, values in record["stats"].items()
                    }
                    for record in self.records
                },
                "current": None,
            }
        )
        return reporter


def _trainer_default(name: str) -> Any:
    option = TrainerOptions.__dataclass_fields__[name]
    if option.default_factory is not dataclasses.MISSING:
        return option.default_factory()
    return option.default


def _read_config(run_dir: Path, notes: List[str]) -> Dict[str, Any]:
    path = run_dir / "config.yaml"
    if not path.is_file():
        notes.append(f"{path} is missing: the trainer's defaults stand in for max_epoch and the best-model criteria")
        return {}
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of options, got {type(config).__name__}")
    return config


def _read_records(run_dir: Path, notes: List[str]) -> Tuple[List[Dict[str, Any]], str]:
    history_path = run_dir / HISTORY_NAME
    if history_path.is_file():
        text = history_path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            notes.append(
                f"the last line of {history_path} is incomplete (the run is writing it, or was killed while "
                "it did): that epoch is left out"
            )
        return read_history(history_path), HISTORY_NAME
    checkpoint_path = run_dir / CHECKPOINT_NAME
    if checkpoint_path.is_file():
        try:
            checkpoint = load_checkpoint(checkpoint_path)
        except CheckpointError as error:
            notes.append(f"no {HISTORY_NAME}, and {error}")
            return [], ""
        state = checkpoint.get("reporter") if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict) or "history" not in state:
            notes.append(f"no {HISTORY_NAME}, and {checkpoint_path} is not a training checkpoint (no reporter state)")
            return [], ""
        history = {int(epoch): phases for epoch, phases in state["history"].items()}
        notes.append(
            f"no {HISTORY_NAME} (a run made before it existed): the epochs are read from the reporter state "
            f"in {checkpoint_path}, which has no batch counts, so step time and throughput are not available"
        )
        return records_from_history(history), CHECKPOINT_NAME
    notes.append(
        f"no {HISTORY_NAME} and no {CHECKPOINT_NAME} in {run_dir}: no epoch has finished yet, or this is "
        "not a training run directory"
    )
    return [], ""


def _criteria(run_dir: Path, config: Dict[str, Any], reporter: Reporter, notes: List[str]) -> List[Criterion]:
    criteria_config = config.get("best_model_criterion") or _trainer_default("best_model_criterion")
    keep = config.get("keep_nbest_models") or _trainer_default("keep_nbest_models")
    keep = [keep] if isinstance(keep, int) else [int(n) for n in keep]
    criteria = []
    for entry in criteria_config:
        parts = entry.replace(",", " ").split() if isinstance(entry, str) else [str(part) for part in entry]
        if len(parts) != 3 or parts[2] not in ("min", "max"):
            notes.append(f"config.yaml: best_model_criterion {entry!r} is not '<phase> <stat> <min|max>': skipped")
            continue
        phase, key, mode = parts
        criterion = Criterion(phase, key, mode, reporter.sort_epochs_and_values(phase, key, mode), max(keep))
        best = run_dir / f"{phase}.{key}.best.pth"
        criterion.best_file = best if best.is_file() else None
        for n in sorted(set(keep)):
            average = run_dir / f"{phase}.{key}.ave_{n}best.pth"
            if average.is_file():
                criterion.average_files[n] = average
        criteria.append(criterion)
    return criteria


def _attention_maps(run_dir: Path) -> Dict[str, Dict[str, Dict[int, Path]]]:
    root = run_dir / "images" / "att_ws"
    maps: Dict[str, Dict[str, Dict[int, Path]]] = {}
    if not root.is_dir():
        return maps
    for uid_dir in sorted(path for path in root.iterdir() if path.is_dir()):
        for png in uid_dir.iterdir():
            match = _ATTENTION_FILE.match(png.name)
            if match:
                maps.setdefault(uid_dir.name, {}).setdefault(match["key"], {})[int(match["epoch"])] = png
    return maps


def _evals(run_dir: Path, notes: List[str]) -> List[EvalResult]:
    evals = []
    for directory in sorted(path for path in run_dir.glob("eval*") if path.is_dir()):
        path = directory / "results.json"
        if not path.is_file():
            continue
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            notes.append(f"{path}: not valid JSON ({error}); the evaluation (stage 8) may still be running")
            continue
        if not isinstance(results, dict):
            notes.append(f"{path}: expected a JSON object, got {type(results).__name__}; skipped")
            continue
        markdown = directory / "results.md"
        evals.append(EvalResult(directory.name, results, markdown if markdown.is_file() else None))
    return evals


def read_training_run(run_dir: PathLike) -> TrainingRun:
    """Read what ``run_dir`` holds (see the module docstring); problems that still leave a report
    (a partial last line, the checkpoint fallback, a missing config) are in ``notes``.

    Raises:
        FileNotFoundError: ``run_dir`` is not a directory.
        ConfigError: ``config.yaml`` is not a YAML mapping.
        DataFormatError: a malformed ``history.jsonl`` line before the last one.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a directory (expected a training run, e.g. exp/tts_train)")
    notes: List[str] = []
    config = _read_config(run_dir, notes)
    records, source = _read_records(run_dir, notes)
    patience = config.get("patience", _trainer_default("patience"))
    run = TrainingRun(
        run_dir=run_dir,
        config=config,
        records=records,
        source=source,
        notes=notes,
        max_epoch=int(config.get("max_epoch") or _trainer_default("max_epoch")),
        patience=None if patience is None else int(patience),
        early_stopping_criterion=list(
            config.get("early_stopping_criterion") or _trainer_default("early_stopping_criterion")
        ),
        criteria=[],
        epoch_files=sorted(epoch_files(run_dir)),
        attention=_attention_maps(run_dir),
        evals=_evals(run_dir, notes),
    )
    run.criteria = _criteria(run_dir, config, run.reporter(), notes)
    for note in notes:
        logger.warning("%s", note)
    return run
