"""Shared test set-up: make ``test/helpers`` importable (toy tasks, data makers)."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent / "helpers"))

# Tests are small; one thread keeps them fast and deterministic on the 2-core CI machine.
torch.set_num_threads(1)
