"""Interface of TTS feature extractors (``--feats_extract fbank`` etc.)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


class AbsFeatsExtract(nn.Module, ABC):
    """Waveform batch ``(B, T_wav)`` -> frame features ``(B, T_feats, D)`` with lengths."""

    @abstractmethod
    def output_size(self) -> int:
        """Feature dimension ``D``."""
        raise NotImplementedError

    @abstractmethod
    def get_parameters(self) -> dict[str, Any]:
        """What a vocoder or inference needs to undo the features.

        Keys: ``fs``, ``n_fft``, ``hop_length``, ``win_length``, ``window``, ``center``,
        ``n_mels``, ``fmin``, ``fmax``, ``log_base`` (``None`` where not applicable).
        """
        raise NotImplementedError

    @abstractmethod
    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``input`` ``(B, T_wav)``, ``input_lengths`` ``(B,)`` -> ``(feats (B, T_feats, D),
        feats_lengths (B,))``."""
        raise NotImplementedError
