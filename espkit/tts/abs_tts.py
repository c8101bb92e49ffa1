"""Interface of text-to-feature models (``--tts tacotron2`` etc.)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch


class AbsTTS(torch.nn.Module, ABC):
    """A model that maps token ids to acoustic features.

    Training calls :meth:`forward` with a padded batch and gets ``(loss, stats, weight)``
    back (ESPnet2's convention); synthesis calls :meth:`inference` on one utterance.
    """

    @abstractmethod
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """Compute the training loss.

        Args:
            text: token ids ``(B, T_text)`` (long), padded.
            text_lengths: ``(B,)``.
            feats: target features ``(B, T_feats, odim)``, padded.
            feats_lengths: ``(B,)``.
            **kwargs: model-specific extra inputs (speaker embeddings, emotion labels...).

        Returns:
            ``loss`` (scalar tensor), ``stats`` (name -> detached scalar tensor) and
            ``weight`` (tensor, normally the batch size) used to average stats over batches.
        """
        raise NotImplementedError

    @abstractmethod
    def inference(self, text: torch.Tensor, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Generate features for one utterance.

        Args:
            text: token ids ``(T_text,)`` (long).

        Returns:
            A dict with at least ``feat_gen`` ``(T_feats, odim)``. Attention models add
            ``prob`` ``(T_feats,)`` (stop probabilities) and ``att_w`` ``(T_feats, T_text')``
            (attention weights; ``T_text'`` may include an appended end-of-sentence token);
            duration models (:attr:`needs_durations`) add ``duration`` ``(T_text + 1,)``
            instead, and FastSpeech2 ``pitch`` / ``energy`` ``(T_text + 1, 1)``.
        """
        raise NotImplementedError

    def forward_attention(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Attention weights to plot, ``{name: (B, T_out, T_in)}``; models without attention return ``{}``."""
        return {}

    @property
    def require_raw_speech(self) -> bool:
        """Whether :meth:`forward` needs the raw waveform besides the features."""
        return False

    @property
    def require_vocoder(self) -> bool:
        """Whether the generated features need a vocoder to become a waveform."""
        return True

    @property
    def needs_durations(self) -> bool:
        """Whether :meth:`forward` needs per-token ``durations`` ``(B, T_text + 1)`` (FastSpeech)."""
        return False

    @property
    def needs_pitch_energy(self) -> bool:
        """Whether :meth:`forward` needs token-averaged ``pitch`` / ``energy`` (FastSpeech2)."""
        return False

    @property
    def supports_prosody_control(self) -> bool:
        """Whether :meth:`inference` takes ``alpha`` and duration overrides (and, with
        :attr:`needs_pitch_energy`, pitch / energy overrides and controls)."""
        return False

    @property
    def supports_decoder_cache(self) -> bool:
        """Whether :meth:`inference` takes ``use_cache`` (an autoregressive decoder that can keep each
        layer's keys/values between steps: the Transformer)."""
        return False

    def num_emotions(self) -> int:
        """Number of emotion classes the model can be conditioned on (0: none)."""
        return 0

    def num_speakers(self) -> int:
        """Number of speaker ids ``sids`` the model can be conditioned on (``spks``; 0: none)."""
        return 0

    def num_languages(self) -> int:
        """Number of language ids ``lids`` the model can be conditioned on (``langs``; 0: none)."""
        return 0

    def spembs_dim(self) -> int | None:
        """Size of the speaker embeddings ``spembs`` the model takes (``spk_embed_dim``; None: none)."""
        return None
