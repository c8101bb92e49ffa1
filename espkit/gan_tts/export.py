"""A traceable inference module for a trained vocoder (``ESPnetGANVocoderModel``).

:class:`VocoderInference` is a thin wrapper whose ``forward`` is the vocoder model's own
``inference`` (normalisation with the vocoder's statistics, then the generator): no code of its own
restates a model part. :func:`trace_vocoder` traces it with ``torch.jit.trace`` on example features.

A trace records the operations of one run, so what it cannot record would be frozen at the example's
values: data-dependent Python control flow, or a length computed outside tensor operations.
:mod:`espkit.bin.tts_export` therefore checks the traced module against eager inference on the
features of several texts of different lengths, none of them the example, and refuses the export
when a length or a sample differs. Generators that need F0 (``nsf``) are traced with their own F0
predictor (no F0 input), as ``Text2Speech`` runs them.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class VocoderInference(nn.Module):
    """``forward(feats (T_feats, n_mels)) -> wav (T_feats * hop_length,)`` of a vocoder model.

    ``feats`` are un-normalised log-mel, as the feature extractor computes them and as a TTS model
    outputs them de-normalised (``feat_gen * std + mean``).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.eval()

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.model.inference(feats)["wav"]


def trace_vocoder(model: nn.Module, example_feats: torch.Tensor) -> torch.jit.ScriptModule:
    """``torch.jit.trace`` of :class:`VocoderInference` for ``model`` on ``example_feats`` ``(T_feats, n_mels)``.

    Weight norm, if any, should be folded first (``generator.remove_weight_norm()``; :class:`GANVocoder
    <espkit.tts.vocoder.gan_vocoder.GANVocoder>` does it on loading).
    """
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        return torch.jit.trace(VocoderInference(model), (example_feats,), check_trace=False)
