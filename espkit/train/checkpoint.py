"""Checkpoint files: atomic saving, safe loading (``weights_only``), model-state checks, averaging.

Checkpoints hold plain dicts of tensors and primitives only, so ``torch.load(weights_only=True)``
reads them. What the trainer's ``checkpoint.pth`` holds is described in :mod:`espkit.train.run_state`.
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Union

import torch

from espkit.fileio.atomic_file import atomic_write

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]


class CheckpointError(RuntimeError):
    """A checkpoint file could not be written or read (the message names the file and why)."""


def _write_atomic(path: PathLike, write) -> None:
    try:
        with atomic_write(path, "wb", durable=True) as handle:
            write(handle)
    except Exception as error:
        raise CheckpointError(
            f"could not write {path}: {type(error).__name__}: {error}; the previous file (if any) is unchanged"
        ) from error


def save_atomic(obj: Any, path: PathLike) -> None:
    """``torch.save(obj, path)`` so that ``path`` always holds either the old or the new file.

    Writes a temporary file next to ``path``, flushes and fsyncs it, renames it over ``path``
    and fsyncs the directory. On any failure (e.g. ``OSError(ENOSPC)``, disk full) the temporary
    file is removed, ``path`` keeps its previous content and :class:`CheckpointError` names the
    path and the cause.
    """
    _write_atomic(path, lambda handle: torch.save(obj, handle))


def copy_atomic(source: PathLike, destination: PathLike) -> None:
    """Copy ``source`` to ``destination`` with the same all-or-nothing guarantee as :func:`save_atomic`."""

    def write(handle) -> None:
        with open(source, "rb") as reader:
            while True:
                chunk = reader.read(1 << 20)
                if not chunk:
                    break
                handle.write(chunk)

    _write_atomic(destination, write)


def remove_stale_temp_files(directory: PathLike) -> List[Path]:
    """Delete ``.<name>.*.tmp`` files a killed :func:`save_atomic` left in ``directory``."""
    removed = []
    for temp in Path(directory).glob(".*.pth.*.tmp"):
        try:
            temp.unlink()
            removed.append(temp)
        except FileNotFoundError:
            pass
    if removed:
        logger.info("Removed %d unfinished temporary checkpoint file(s) in %s", len(removed), directory)
    return removed


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with errors that say what is wrong with the file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is truncated/corrupt, or holds pickled objects other than
            tensors and plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        detail = text.split("WeightsUnpickler error:")[-1].strip() if "WeightsUnpickler error:" in text else text
        detail = (detail.splitlines() or [type(error).__name__])[0].split(". Please")[0]
        if "Unsupported global" in text:
            raise CheckpointError(
                f"{path} holds objects other than tensors and plain data, which espkit does not load "
                f"(weights_only=True): {detail}"
            ) from None
        raise CheckpointError(
            f"{path} is corrupt (unpickling failed: {detail}); it cannot be loaded, use another checkpoint"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(
            f"{path} is corrupt or truncated ({type(error).__name__}: {first_line}); "
            "it cannot be loaded, use another checkpoint"
        ) from None


def extract_model_state(obj: Any, source: str) -> Dict[str, torch.Tensor]:
    """The model state_dict inside a loaded file: a bare state_dict or a checkpoint's ``"model"``.

    Keys prefixed by DistributedDataParallel (``module.``) are stripped.
    """
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not all(isinstance(value, torch.Tensor) for value in obj.values()):
        raise CheckpointError(f"{source} is neither a model state_dict nor a checkpoint with a 'model' entry")
    state = dict(obj)
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


def _describe_list(names: Sequence[str], limit: int = 50) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def check_model_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise :class:`CheckpointError` listing every mismatched shape, missing and unexpected key."""
    model_state = model.state_dict()
    mismatched = [
        f"{key}: {tuple(state[key].shape)} in {source} vs {tuple(value.shape)} in the model"
        for key, value in model_state.items()
        if key in state and tuple(state[key].shape) != tuple(value.shape)
    ]
    missing = [key for key in model_state if key not in state]
    unexpected = [key for key in state if key not in model_state]
    problems = []
    if mismatched:
        problems.append(f"{len(mismatched)} parameter(s) with mismatched shapes:\n  " + "\n  ".join(mismatched))
    if missing:
        problems.append(f"{len(missing)} key(s) missing from {source}: {_describe_list(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) in {source}: {_describe_list(unexpected)}")
    if problems:
        raise CheckpointError(
            f"{source} does not fit the model {type(model).__name__} (was it trained with another "
            "config?):\n" + "\n".join(problems)
        )


def apply_model_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Check ``state`` against ``model`` (see :func:`check_model_state`) and load it."""
    check_model_state(model, state, source)
    model.load_state_dict(state)


def load_model_state(model: torch.nn.Module, path: PathLike, map_location: Any = "cpu") -> None:
    """Load a bare state_dict file or a checkpoint's ``"model"`` into ``model`` (strict, checked)."""
    state = extract_model_state(load_checkpoint(path, map_location), str(path))
    apply_model_state(model, state, str(path))


def average_model_files(paths: Iterable[PathLike]) -> Dict[str, torch.Tensor]:
    """Element-wise mean of the model states in ``paths``.

    Floating-point tensors are averaged; integer buffers (e.g. BatchNorm's
    ``num_batches_tracked``) are taken from the last file.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("average_model_files needs at least one file")
    average: Dict[str, torch.Tensor] = {}
    dtypes: Dict[str, torch.dtype] = {}
    reference_keys = None
    for path in paths:
        state = extract_model_state(load_checkpoint(path), str(path))
        if reference_keys is None:
            reference_keys = set(state)
        elif set(state) != reference_keys:
            differing = sorted(reference_keys.symmetric_difference(state))
            raise CheckpointError(
                f"{path} has other keys than {paths[0]}, cannot average them: {_describe_list(differing)}"
            )
        for key, value in state.items():
            if value.is_floating_point():
                dtypes[key] = value.dtype
                accumulated = value.to(torch.float64)
                average[key] = accumulated if key not in average else average[key] + accumulated
            else:
                average[key] = value.clone()
    for key, dtype in dtypes.items():
        average[key] = (average[key] / len(paths)).to(dtype)
    return average
