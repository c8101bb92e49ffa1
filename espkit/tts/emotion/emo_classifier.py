"""Emotion classifiers on utterance emotion embeddings: ``--emo_classifier mlp``
(:class:`EmotionClassifier`) and ``linear`` (:class:`LinearEmotionClassifier`)."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

IGNORE_ID = -1
"""Label of utterances without an emotion label; they add nothing to the loss or accuracy."""


class EmotionClassifier(nn.Module):
    """Linear (``hidden_units=0``) or one-hidden-layer MLP classifier of emotion embeddings.

    Args:
        idim: embedding dimension (the extractor's ``output_size()``).
        num_emotions: number of emotion labels.
        hidden_units: hidden layer size of the MLP; 0 for a linear classifier.
        dropout_rate: dropout after the hidden layer (MLP only).
        loss_weight: factor applied to the cross-entropy loss returned by :meth:`forward`.
        label_smoothing: label smoothing of the cross entropy.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        num_emotions: int,
        hidden_units: int = 128,
        dropout_rate: float = 0.1,
        loss_weight: float = 1.0,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        if idim < 1 or num_emotions < 2:
            raise ValueError(
                f"EmotionClassifier needs idim >= 1 and num_emotions >= 2, got idim={idim}, num_emotions={num_emotions}"
            )
        if hidden_units < 0:
            raise ValueError(f"hidden_units must be >= 0 (0 = linear), got {hidden_units}")
        if not 0.0 <= dropout_rate < 1.0 or not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"dropout_rate and label_smoothing must be in [0, 1), got {dropout_rate} and {label_smoothing}"
            )
        self.idim = idim
        self.num_emotions = num_emotions
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing
        if hidden_units == 0:
            self.net = nn.Linear(idim, num_emotions)
        else:
            self.net = nn.Sequential(
                nn.Linear(idim, hidden_units),
                nn.ReLU(),
                nn.Dropout(dropout_rate),
                nn.Linear(hidden_units, num_emotions),
            )

    def forward(
        self, emo_embed: torch.Tensor, emo_labs: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, Any]]:
        """Classify embeddings and, given labels, compute the loss.

        Args:
            emo_embed: emotion embeddings ``(B, idim)``.
            emo_labs: emotion ids ``(B,)`` (long; :data:`IGNORE_ID` for unlabelled items), or None.

        Returns:
            ``(logits (B, num_emotions), loss, stats)``: ``loss`` is the cross entropy times
            ``loss_weight`` (None without labels; 0 when no item is labelled); ``stats`` holds
            the unweighted ``emo_ce_loss`` and the accuracy ``emo_acc`` (detached; empty
            without labels, None values when no item is labelled).
        """
        if emo_embed.dim() != 2 or emo_embed.size(1) != self.idim:
            raise ValueError(f"emo_embed must be (B, {self.idim}), got {tuple(emo_embed.shape)}")
        logits = self.net(emo_embed)
        if emo_labs is None:
            return logits, None, {}
        emo_labs = emo_labs.to(logits.device).long().view(-1)
        if emo_labs.size(0) != logits.size(0):
            raise ValueError(f"emo_labs has {emo_labs.size(0)} items but emo_embed has {logits.size(0)}")
        labelled = emo_labs != IGNORE_ID
        bad = labelled & ((emo_labs < 0) | (emo_labs >= self.num_emotions))
        if bool(bad.any()):
            raise ValueError(
                f"emotion ids must be in [0, {self.num_emotions}) or {IGNORE_ID} (unlabelled), "
                f"got {emo_labs[bad].tolist()}"
            )
        if not bool(labelled.any()):
            return logits, logits.sum() * 0.0, {"emo_ce_loss": None, "emo_acc": None}
        ce_loss = F.cross_entropy(
            logits,
            emo_labs,
            ignore_index=IGNORE_ID,
            label_smoothing=self.label_smoothing,
        )
        with torch.no_grad():
            correct = (logits.argmax(dim=-1) == emo_labs) & labelled
            acc = correct.sum().float() / labelled.sum().float()
        stats = {"emo_ce_loss": ce_loss.detach(), "emo_acc": acc}
        return logits, ce_loss * self.loss_weight, stats

    def predict(self, emo_embed: torch.Tensor) -> torch.Tensor:
        """Emotion posteriors ``(B, num_emotions)`` (rows sum to 1) in eval mode, without grad.

        The module's train/eval mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                logits, _, _ = self.forward(emo_embed)
                return torch.softmax(logits, dim=-1)
        finally:
            self.train(was_training)


class LinearEmotionClassifier(EmotionClassifier):
    """Linear classifier of emotion embeddings: the logits ``(B, num_emotions)`` are one affine map
    of the embedding ``(B, idim)`` (no hidden layer, no dropout). Its weights are those of an
    :class:`EmotionClassifier` with ``hidden_units=0`` (``net.weight``, ``net.bias``).

    Args:
        idim, num_emotions, loss_weight, label_smoothing: as for :class:`EmotionClassifier`.
    """

    @typechecked
    def __init__(self, idim: int, num_emotions: int, loss_weight: float = 1.0, label_smoothing: float = 0.0):
        super().__init__(idim, num_emotions, hidden_units=0, loss_weight=loss_weight, label_smoothing=label_smoothing)
