"""The interface of a model trained adversarially (ESPnet2's ``AbsGANESPnetModel``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict

import torch

from espkit.train.abs_espnet_model import AbsESPnetModel


class AbsGANESPnetModel(AbsESPnetModel, ABC):
    """A model the :class:`~espkit.train.gan_trainer.GANTrainer` can train.

    The model holds a generator and a discriminator (attributes ``generator`` and
    ``discriminator``, both ``torch.nn.Module``), each updated by its own optimizer. The trainer
    calls ``forward`` once per *turn*: ``forward_generator=True`` for a generator turn, False for
    a discriminator turn, on one collated mini-batch (the task's keys, e.g. ``speech (B, T_wav)``,
    ``speech_lengths (B,)``). It returns a dict:

    - ``"loss"``: scalar tensor to minimise in this turn (the batch mean);
    - ``"stats"``: ``{name: scalar tensor | float | None}`` reported per epoch as weighted means;
      the model names them after the turn (``generator_loss``, ``discriminator_fake_loss``...) so
      that the two turns do not average into each other;
    - ``"weight"``: the weight of this batch in those means (usually the batch size ``B``);
    - ``"optim_idx"``: the optimizer this loss is for (0: the generator's, 1: the discriminator's).

    ``adversarial=False`` asks for a generator turn without the adversarial and feature-matching
    terms (the warm-up before ``--discriminator_start_step``); a discriminator turn ignores it.
    Model-specific work (segmenting, loss terms, detaching the generator output in the
    discriminator turn) stays in the model; the trainer only calls these methods.

    It is an :class:`AbsESPnetModel` (so ``collect_feats`` and ``forward_attention`` mean the
    same), whose ``forward`` returns the dict above instead of a tuple.
    """

    @abstractmethod
    def forward(
        self, forward_generator: bool = True, adversarial: bool = True, **batch: torch.Tensor
    ) -> Dict[str, Any]:
        """``{"loss": (), "stats": dict, "weight": tensor or int, "optim_idx": int}`` for one turn."""
        raise NotImplementedError

    @abstractmethod
    def collect_feats(self, **batch: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The features whose statistics ``--collect_stats`` accumulates, e.g. ``{"feats": (B, T_feats,
        n_mels), "feats_lengths": (B,)}``."""
        raise NotImplementedError
