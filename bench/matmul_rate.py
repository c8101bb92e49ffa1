"""The machine's measured fp32 matmul rate, the yardstick for step efficiency (FLOPs / time / rate)."""

from __future__ import annotations

import statistics
import time

import torch


def matmul_flops_per_second(size: int = 1024, repeats: int = 20) -> float:
    """Median FLOP/s of a ``size``^3 fp32 matmul at the current torch thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)
