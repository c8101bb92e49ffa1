"""Seeding and RNG-state capture so that a run (and its resume) is repeatable."""

from __future__ import annotations

import contextlib
import random
from typing import Any, Dict, Iterator

import numpy as np
import torch


def set_all_random_seed(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.random.manual_seed(seed)


def get_rng_states() -> Dict[str, Any]:
    """RNG states as plain tensors/ints/lists (loadable with ``torch.load(weights_only=True)``)."""
    py_version, py_state, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    states: Dict[str, Any] = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "torch": torch.random.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Dict[str, Any]) -> None:
    """Inverse of :func:`get_rng_states`."""
    py_version, py_state, py_gauss = states["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    np_state = states["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["gauss"],
        )
    )
    torch.random.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class LocalRandomState:
    """A torch random stream of its own, kept apart from the process's global RNG state.

    ``with state.activate():`` runs its block with this stream as torch's RNG state (the CPU
    generator and, for a CUDA ``device``, that device's generator) and keeps where the block
    left it; the caller's state is restored afterwards (``torch.random.fork_rng``). Successive
    blocks therefore continue one stream, as successive draws after one global seeding would,
    and nothing the caller draws moves it. Python's ``random`` and numpy's RNG are not part of it.

    Args:
        seed: seed of the stream (see :meth:`reseed`).
        device: ``cpu`` or ``cuda[:N]`` (``cuda``: the current CUDA device); the CPU generator
            is always part of the stream.
    """

    def __init__(self, seed: int, device: str | torch.device = "cpu"):
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        self.device = device
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the stream from ``seed``: the state ``torch.manual_seed(seed)`` gives."""
        self._cpu_state = torch.Generator().manual_seed(seed).get_state()
        self._cuda_state = None
        if self.device.type == "cuda":
            self._cuda_state = torch.Generator(device=self.device).manual_seed(seed).get_state()

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Run the block on this stream (see the class docstring); an exception keeps its draws too."""
        devices = [self.device.index] if self._cuda_state is not None else []
        with torch.random.fork_rng(devices=devices, device_type="cuda"):
            torch.random.set_rng_state(self._cpu_state)
            if self._cuda_state is not None:
                torch.cuda.set_rng_state(self._cuda_state, self.device)
            try:
                yield
            finally:
                self._cpu_state = torch.random.get_rng_state()
                if self._cuda_state is not None:
                    self._cuda_state = torch.cuda.get_rng_state(self.device)
