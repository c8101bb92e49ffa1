"""``feats.scp``-style readers/writers for ``.npy`` arrays (``<uid> <path.npy>`` lines).

>>> with NpyScpWriter("dump/feats", "dump/feats.scp") as writer:  # doctest: +SKIP
...     writer["utt1"] = np.zeros((100, 80), dtype=np.float32)
>>> NpyScpReader("dump/feats.scp")["utt1"].shape  # doctest: +SKIP
(100, 80)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from espkit.fileio.abs_scp import AbsScpReader, AbsScpWriter

logger = logging.getLogger(__name__)


class NpyScpReader(AbsScpReader):
    """Lazy ``uid -> np.ndarray`` mapping; each file is loaded with ``allow_pickle=False``."""

    def load(self, path: str) -> np.ndarray:
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such .npy file (listed in {self.fname})")
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, EOFError, OSError) as e:
            raise ValueError(f"{path}: cannot read as a .npy array: {e}") from e


class NpyScpWriter(AbsScpWriter):
    """``writer[uid] = array`` writes ``<outdir>/<uid>.npy`` and appends it to ``scpfile``."""

    suffix = ".npy"

    def save(self, path: Path, value: np.ndarray) -> None:
        array = np.asarray(value)
        if array.dtype == object:
            raise ValueError(f"{path}: object arrays cannot be stored (they need pickle)")
        np.save(path, array, allow_pickle=False)
