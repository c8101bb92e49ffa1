"""Raw little-endian float32 matrices (``<f4``, row-major ``(N, M)``, no header).

This is the feature format of the NSF vocoder projects: the file holds only the samples, so
the column count ``M`` (e.g. 80 mel bins) comes from the config. Files are always
little-endian, whatever the host byte order or the array's dtype.

>>> write_raw_f32("mel.f32", np.zeros((100, 80)))  # doctest: +SKIP
>>> read_raw_f32("mel.f32", dim=80).shape  # doctest: +SKIP
(100, 80)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from espkit.fileio.abs_scp import AbsScpReader, AbsScpWriter
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

RAW_F32_DTYPE = np.dtype("<f4")


def _check_dim(dim: int) -> None:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim <= 0:
        raise ValueError(f"dim must be a positive int (the number of columns), got {dim!r}")


def read_raw_f32(path: str | Path, dim: int) -> np.ndarray:
    """Read a raw ``<f4`` file as an ``(N, dim)`` native float32 array.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``dim`` is not positive, or the file size is not a multiple of ``4 * dim``.
    """
    _check_dim(dim)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such raw float32 file")
    nbytes = path.stat().st_size
    row_bytes = RAW_F32_DTYPE.itemsize * dim
    if nbytes % row_bytes != 0:
        raise ValueError(
            f"{path}: size {nbytes} bytes is not a multiple of 4 * dim = {row_bytes} "
            f"(dim={dim}); check the feature dimension in the config"
        )
    array = np.fromfile(path, dtype=RAW_F32_DTYPE)
    return array.reshape(-1, dim).astype(np.float32, copy=False)


def write_raw_f32(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (``(N, M)`` or ``(N,)``) as raw little-endian float32; parent dirs are created.

    Raises:
        ValueError: the array is not 1-D/2-D or not numeric.
    """
    path = Path(path)
    array = np.asarray(array)
    if array.ndim not in (1, 2):
        raise ValueError(f"{path}: array must be (N, M) or (N,), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{path}: array must be numeric, got dtype {array.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(array, dtype=RAW_F32_DTYPE).tofile(path)


class RawF32ScpReader(AbsScpReader):
    """Lazy ``uid -> (N, dim) float32`` mapping over an scp of raw ``<f4`` files."""

    @typechecked
    def __init__(self, fname: str | Path, dim: int):
        _check_dim(dim)
        super().__init__(fname)
        self.dim = dim

    def load(self, path: str) -> np.ndarray:
        return read_raw_f32(path, self.dim)


class RawF32ScpWriter(AbsScpWriter):
    """``writer[uid] = array`` writes ``<outdir>/<uid><ext>`` as raw ``<f4`` and lists it in ``scpfile``."""

    @typechecked
    def __init__(self, outdir: str | Path, scpfile: str | Path, ext: str = ".f32"):
        if ext and not ext.startswith("."):
            raise ValueError(f"ext must be empty or start with '.', got {ext!r}")
        self.suffix = ext
        super().__init__(outdir, scpfile)

    def save(self, path: Path, value: np.ndarray) -> None:
        write_raw_f32(path, value)
