"""Mean/variance normalisation with corpus statistics (``feats_stats.npz``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from espkit.layers.abs_normalize import AbsNormalize, valid_frame_mask
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

STATS_KEYS = ("count", "sum", "sum_square")


class GlobalMVN(AbsNormalize):
    """Normalise features with global mean and standard deviation.

    The statistics file is an npz holding ``count`` (number of frames, scalar), ``sum``
    ``(D,)`` and ``sum_square`` ``(D,)``, as written by stats collection
    (``--collect_stats true``, recipe stage 4). ``mean`` and ``std`` are buffers, so a
    model's checkpoint carries the statistics it was trained with.

    Args:
        stats_file: path of the npz.
        norm_means: subtract the mean.
        norm_vars: divide by the standard deviation.
        eps: floor of the variance.
    """

    @typechecked
    def __init__(
        self,
        stats_file: str | Path,
        norm_means: bool = True,
        norm_vars: bool = True,
        eps: float = 1.0e-20,
    ):
        super().__init__()
        self.stats_file = Path(stats_file)
        self.norm_means = norm_means
        self.norm_vars = norm_vars
        self.eps = eps
        mean, std = load_mean_std(self.stats_file, eps)
        self.register_buffer("mean", torch.from_numpy(mean).float())
        self.register_buffer("std", torch.from_numpy(std).float())

    def extra_repr(self) -> str:
        return f"stats_file={self.stats_file}, norm_means={self.norm_means}, norm_vars={self.norm_vars}"

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(x - mean) / std`` on ``x`` ``(B, T, D)``; padded frames set to 0."""
        if self.norm_means:
            x = x - self.mean.to(x.dtype)
        if self.norm_vars:
            x = x / self.std.to(x.dtype)
        return x.masked_fill(~valid_frame_mask(x, lengths), 0.0), lengths

    def inverse(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x * std + mean`` on ``x`` ``(B, T, D)``; padded frames set to 0."""
        if self.norm_vars:
            x = x * self.std.to(x.dtype)
        if self.norm_means:
            x = x + self.mean.to(x.dtype)
        return x.masked_fill(~valid_frame_mask(x, lengths), 0.0), lengths


def load_mean_std(stats_file: Path, eps: float = 1.0e-20) -> tuple[np.ndarray, np.ndarray]:
    """Read ``count``/``sum``/``sum_square`` from ``stats_file``; return float64 (mean, std).

    As ESPnet2, also reads Kaldi's layout saved as one ``(2, D + 1)`` array (``.npy``): row 0
    holds the sums and, last, the frame count; row 1 the sums of squares.
    """
    if not stats_file.is_file():
        raise FileNotFoundError(
            f"Normalisation statistics '{stats_file}' not found: run statistics collection "
            "first (espkit task with --collect_stats true, i.e. recipe stage 4) and point "
            "--normalize_conf stats_file= at its feats_stats.npz"
        )
    loaded = np.load(stats_file)
    if isinstance(loaded, np.ndarray):
        if loaded.ndim != 2 or loaded.shape[0] != 2 or loaded.shape[1] < 2:
            raise ValueError(
                f"{stats_file}: a stats array must be (2, D + 1) (sums + count, sums of squares), "
                f"got shape {loaded.shape}"
            )
        count = float(loaded[0, -1])
        total = loaded[0, :-1].astype(np.float64)
        total_square = loaded[1, :-1].astype(np.float64)
        return _mean_std(stats_file, count, total, total_square, eps)
    with loaded as stats:
        missing = [key for key in STATS_KEYS if key not in stats.files]
        if missing:
            raise ValueError(
                f"{stats_file}: missing {', '.join(missing)}; a stats file must hold "
                f"{', '.join(STATS_KEYS)} (found: {', '.join(stats.files) or 'nothing'})"
            )
        count = float(np.asarray(stats["count"], dtype=np.float64).reshape(-1)[0])
        total = np.asarray(stats["sum"], dtype=np.float64)
        total_square = np.asarray(stats["sum_square"], dtype=np.float64)
    return _mean_std(stats_file, count, total, total_square, eps)


def _mean_std(
    stats_file: Path, count: float, total: np.ndarray, total_square: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    if count <= 0:
        raise ValueError(f"{stats_file}: count is {count}; statistics were collected on no frames")
    mean = total / count
    var = total_square / count - mean * mean
    std = np.sqrt(np.maximum(var, eps))
    logger.debug("Loaded %s: %d frames, dim %d", stats_file, int(count), mean.shape[-1])
    return mean, std
