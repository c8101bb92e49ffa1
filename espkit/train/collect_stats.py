"""Feature statistics for normalisation: ``--collect_stats true``.

For each data set, runs ``model.collect_feats(**batch)`` over every batch (no shuffling, no
gradient) and writes under ``<output_dir>/<train|valid>/``:

- ``<key>_stats.npz`` (``feats_stats.npz``, ``pitch_stats.npz``, ...): ``count`` (frames),
  ``sum`` and ``sum_square`` over the real (unpadded) frames, shape ``(D,)`` — what ``GlobalMVN``
  loads;
- ``<key>_shape`` for every data key and every collected feature (``uid L[,D]``).

``python -m espkit.bin.aggregate_stats_dirs`` sums the files of split jobs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Iterable, Tuple

import numpy as np
import torch

from espkit.samplers.shape_file import write_shape_file

logger = logging.getLogger(__name__)


def save_npz_atomic(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez`` to a temporary file, then rename: readers never see a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)


class StatsAccumulator:
    """Running ``count / sum / sum_square`` per feature key, over unpadded frames (float64)."""

    def __init__(self):
        self.stats: Dict[str, Dict[str, np.ndarray]] = {}

    def add(self, key: str, feats: np.ndarray) -> None:
        """``feats``: ``(T, D)`` or ``(T,)`` real frames of one utterance."""
        feats = np.asarray(feats, dtype=np.float64)
        if feats.ndim == 1:
            feats = feats[:, None]
        entry = self.stats.setdefault(
            key,
            {"count": np.zeros((), np.int64), "sum": np.zeros(feats.shape[1]), "sum_square": np.zeros(feats.shape[1])},
        )
        entry["count"] = entry["count"] + feats.shape[0]
        entry["sum"] = entry["sum"] + feats.sum(axis=0)
        entry["sum_square"] = entry["sum_square"] + (feats**2).sum(axis=0)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for key, entry in self.stats.items():
            save_npz_atomic(directory / f"{key}_stats.npz", entry)


@torch.no_grad()
def collect_stats(
    model: torch.nn.Module,
    iterators: Iterable[Tuple[str, Iterable]],
    output_dir: Path,
    device: str = "cpu",
    write_collected_feats: bool = False,
) -> None:
    """Collect statistics for each ``(mode, iterator)``; see the module docstring for outputs."""
    model.eval()
    for mode, iterator in iterators:
        accumulator = StatsAccumulator()
        shapes: Dict[str, Dict[str, tuple]] = {}
        feats_dir = output_dir / mode / "collect_feats"
        num_utts = 0
        for uids, batch in iterator:
            batch = {k: v.to(device) for k, v in batch.items()}
            for key in batch:
                if not key.endswith("_lengths") and f"{key}_lengths" in batch:
                    for uid, length, row in zip(uids, batch[f"{key}_lengths"], batch[key]):
                        shapes.setdefault(key, {})[uid] = (int(length), *row.shape[1:])
            feats = model.collect_feats(**batch)
            for key, value in feats.items():
                if key.endswith("_lengths"):
                    continue
                lengths = feats.get(f"{key}_lengths")
                value = value.detach().float().cpu().numpy()
                for i, uid in enumerate(uids):
                    length = int(lengths[i]) if lengths is not None else value.shape[1]
                    frames = value[i, :length]
                    accumulator.add(key, frames)
                    shapes.setdefault(key, {})[uid] = frames.shape
                    if write_collected_feats:
                        (feats_dir / key).mkdir(parents=True, exist_ok=True)
                        np.save(feats_dir / key / f"{uid}.npy", frames)
            num_utts += len(uids)
        accumulator.write(output_dir / mode)
        for key, table in shapes.items():
            write_shape_file(output_dir / mode / f"{key}_shape", table)
        logger.info("collected statistics of %d %s utterances into %s", num_utts, mode, output_dir / mode)


def aggregate_stats(input_dirs: Iterable[Path], output_dir: Path) -> None:
    """Sum ``*_stats.npz`` and concatenate ``*_shape`` files of split stats jobs."""
    input_dirs = list(input_dirs)
    if not input_dirs:
        raise ValueError("aggregate_stats needs at least one input directory")
    for mode in ("train", "valid"):
        mode_dirs = [d / mode for d in input_dirs if (d / mode).is_dir()]
        if not mode_dirs:
            continue
        out = output_dir / mode
        out.mkdir(parents=True, exist_ok=True)
        for npz_name in sorted({p.name for d in mode_dirs for p in d.glob("*_stats.npz")}):
            total: Dict[str, np.ndarray] = {}
            for d in mode_dirs:
                path = d / npz_name
                if not path.exists():
                    raise FileNotFoundError(f"{path} is missing while other jobs have it")
                with np.load(path) as stats:
                    for k in ("count", "sum", "sum_square"):
                        total[k] = total.get(k, 0) + stats[k]
            save_npz_atomic(out / npz_name, total)
        for shape_name in sorted({p.name for d in mode_dirs for p in d.glob("*_shape")}):
            lines = []
            for d in mode_dirs:
                path = d / shape_name
                if path.exists():
                    lines.append(path.read_text())
            (out / shape_name).write_text("".join(lines))
        logger.info("aggregated %d stats dirs into %s", len(mode_dirs), out)
