"""Dynamic time warping of two feature sequences (steps (1,0), (0,1), (1,1), equal weights)."""

from __future__ import annotations

import numpy as np


def euclidean_cost(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances ``(N, M)`` of rows of ``x`` ``(N, D)`` and ``y`` ``(M, D)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    squared = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2.0 * x @ y.T
    return np.sqrt(np.maximum(squared, 0.0))


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost monotonic path through ``cost`` ``(N, M)`` from (0, 0) to (N-1, M-1).

    Returns:
        path ``(L, 2)`` of ``(i, j)`` index pairs, ``max(N, M) <= L <= N + M - 1``.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or 0 in cost.shape:
        raise ValueError(f"cost must be a non-empty (N, M) matrix, got shape {cost.shape}")
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        # vertical and diagonal moves are vectorised; horizontal moves need a running pass
        best = np.minimum(acc[i - 1], np.concatenate(([np.inf], acc[i - 1, :-1]))) + cost[i]
        row = acc[i]
        row[0] = best[0]
        for j in range(1, m):
            row[j] = min(best[j], row[j - 1] + cost[i, j])
    path = [(n - 1, m - 1)]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            moves = ((acc[i - 1, j - 1], i - 1, j - 1), (acc[i - 1, j], i - 1, j), (acc[i, j - 1], i, j - 1))
            _, i, j = min(moves, key=lambda move: move[0])
        path.append((i, j))
    return np.asarray(path[::-1], dtype=np.int64)
