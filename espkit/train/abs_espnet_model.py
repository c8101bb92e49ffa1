"""The interface every trainable model implements (ESPnet2's ``AbsESPnetModel``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, Optional, Tuple, Union

import torch


class AbsESPnetModel(torch.nn.Module, ABC):
    """A model the :class:`~espkit.train.trainer.Trainer` can train.

    ``forward(**batch)`` receives one collated mini-batch (the keys documented by the task's
    collate function, e.g. ``text (B, T_text)``, ``text_lengths (B,)``, ``feats (B, T_feats, odim)``)
    and returns ``(loss, stats, weight)``:

    - ``loss``: scalar tensor to minimise (the batch mean);
    - ``stats``: ``{name: scalar tensor | float | None}`` reported per epoch as weighted means
      (``None`` values are ignored);
    - ``weight``: the weight of this batch in those means (usually the batch size ``B``).

    Model-specific work (loss terms, teacher forcing, guided attention...) stays in the model;
    the trainer only calls these methods.
    """

    @abstractmethod
    def forward(
        self, **batch: torch.Tensor
    ) -> Tuple[torch.Tensor, Dict[str, Optional[Union[torch.Tensor, float]]], Union[torch.Tensor, int]]:
        """``(loss (), stats, weight)`` for one mini-batch (see the class docstring)."""
        raise NotImplementedError

    @abstractmethod
    def collect_feats(self, **batch: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The features whose statistics ``--collect_stats`` accumulates, e.g. ``{"feats": (B, T, D),
        "feats_lengths": (B,)}``."""
        raise NotImplementedError

    def forward_attention(self, **batch: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Attention weights to plot: ``{name: (B, T_out, T_in)}``; the default model has none."""
        return {}
