"""Move (nested) batches of tensors to a device."""

from __future__ import annotations

from typing import Any

import torch


def to_device(
    data: Any,
    device: torch.device | str,
    dtype: torch.dtype | None = None,
    non_blocking: bool = False,
) -> Any:
    """Copy every tensor inside ``data`` (dicts, lists, tuples, nested) to ``device``.

    Floating-point tensors are also cast to ``dtype`` when it is given; integer and bool
    tensors (token ids, lengths, masks) keep their dtype. Other objects (strings, numbers,
    None) are returned unchanged. Containers are rebuilt with their own type (named tuples too).

    >>> batch = {"text": torch.tensor([[1, 2]]), "speech": torch.zeros(1, 4)}
    >>> moved = to_device(batch, "cpu", dtype=torch.float64)
    >>> moved["text"].dtype, moved["speech"].dtype
    (torch.int64, torch.float64)
    """
    if isinstance(data, torch.Tensor):
        if dtype is not None and data.is_floating_point():
            return data.to(device=device, dtype=dtype, non_blocking=non_blocking)
        return data.to(device=device, non_blocking=non_blocking)
    if isinstance(data, dict):
        return type(data)((key, to_device(value, device, dtype, non_blocking)) for key, value in data.items())
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # named tuple: rebuild by position
        return type(data)(*(to_device(value, device, dtype, non_blocking) for value in data))
    if isinstance(data, (list, tuple)):
        return type(data)(to_device(value, device, dtype, non_blocking) for value in data)
    return data
