"""Interface of emotion (prosody/style) embedding extractors (``--emo_extract prosody`` etc.).

An extractor turns the target utterance of a training pair (or a reference utterance at
inference) into one fixed-size vector per utterance, which an
:class:`~espkit.tts.emotion.emo_classifier.EmotionClassifier` maps to emotion posteriors
and the acoustic model uses as its emotion condition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class AbsEmoExtract(nn.Module, ABC):
    """Padded utterance batch ``(B, T_feats, D)`` -> utterance embeddings ``(B, output_size())``.

    Padded frames (``t >= feats_lengths[b]``) must never change item ``b``'s embedding.
    """

    @abstractmethod
    def output_size(self) -> int:
        """Dimension of the embedding returned by :meth:`forward`."""
        raise NotImplementedError

    def needs_pitch_energy(self) -> bool:
        """Whether :meth:`forward` needs frame ``pitch`` and ``energy``.

        The model wrapper computes frame pitch/energy only when this is True.
        """
        return False

    @abstractmethod
    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        pitch: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Extract one embedding per utterance.

        Args:
            feats: normalised mel features ``(B, T_feats, D)``.
            feats_lengths: number of real frames ``(B,)``.
            pitch: frame pitch ``(B, T_feats, 1)`` (only when :meth:`needs_pitch_energy`).
            energy: frame energy ``(B, T_feats, 1)`` (only when :meth:`needs_pitch_energy`).

        Returns:
            embeddings ``(B, output_size())``.
        """
        raise NotImplementedError
