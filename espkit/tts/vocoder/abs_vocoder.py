"""Interface of vocoders: acoustic features of one utterance -> waveform."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class AbsVocoder(nn.Module, ABC):
    """Turn features ``(T_feats, D)`` into a waveform ``(T_wav,)`` at :attr:`fs` Hz."""

    #: whether the waveform is driven by F0 (``forward(feats, f0=...)`` and ``predict_f0(feats)``)
    requires_f0: bool = False

    @property
    @abstractmethod
    def fs(self) -> int:
        """Sampling rate of the produced waveform (Hz)."""
        raise NotImplementedError

    @abstractmethod
    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats`` ``(T_feats, D)`` -> ``wav`` ``(T_wav,)``."""
        raise NotImplementedError
