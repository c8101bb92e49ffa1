"""ESPnet2's ``torch_utils.device_funcs`` path: :func:`to_device` (espkit's, in
:mod:`espkit.torch_utils.device`) and :func:`force_gatherable`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from espkit.torch_utils.device import to_device

__all__ = ["force_gatherable", "to_device"]


def force_gatherable(data: Any, device: torch.device | str) -> Any:
    """Make ``data`` gatherable by ``DataParallel`` (ESPnet2's contract): every number, numpy
    array and tensor inside (dicts, lists, tuples, nested) becomes a tensor on ``device``, and
    0-dim tensors become ``(1,)``. Other objects are returned unchanged.

    >>> force_gatherable({"loss": torch.tensor(2.0), "weight": 3}, "cpu")["weight"]
    tensor([3])
    """
    if isinstance(data, dict):
        return {key: force_gatherable(value, device) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # named tuple
        return type(data)(*(force_gatherable(value, device) for value in data))
    if isinstance(data, (list, tuple, set)):
        return type(data)(force_gatherable(value, device) for value in data)
    if isinstance(data, np.ndarray):
        return force_gatherable(torch.from_numpy(data), device)
    if isinstance(data, torch.Tensor):
        return (data[None] if data.dim() == 0 else data).to(device)
    if isinstance(data, float):
        return torch.tensor([data], dtype=torch.float, device=device)
    if isinstance(data, int) and not isinstance(data, bool):
        return torch.tensor([data], dtype=torch.long, device=device)
    if data is None:
        return None
    return data
