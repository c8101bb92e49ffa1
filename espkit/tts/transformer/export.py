"""A TorchScript-able inference module for a trained Transformer-TTS.

:class:`TransformerInference` runs the model's own modules (encoder prenet and encoder, emotion
conditioning, the cached decoding loop of :class:`~espkit.tts.transformer.decoding.FreeRunDecoder`,
postnet) in the order of ``Transformer.inference``; the decoding options are fixed at export. The
decoder prenet's dropout stays on at inference (as in eager inference), so eager and scripted runs
agree when each starts from the same seed, which :mod:`espkit.bin.tts_export` checks.

Not supported here (eager inference still supports them): speaker ids / language ids / speaker
embeddings and teacher forcing.
"""

from __future__ import annotations

import warnings
from typing import Tuple

import torch
from torch import nn

from espkit.tts.emotion.conditioning import ExportedEmotion
from espkit.tts.speaker.conditioning import refuse_speaker_conditioning
from espkit.tts.tacotron2.decoding_rules import length_bounds
from espkit.tts.transformer.decoding import FreeRunDecoder, select_duration_head
from espkit.tts.transformer.transformer import Transformer
from espkit.utils.errors import ConfigError


class TransformerInference(nn.Module):
    """``forward(text (T_text,) long, emotion (D,) float) -> (feat_gen, prob, att_w)`` as
    ``Transformer.inference`` gives them (``att_w`` ``(T_feats, T_text + 1)``: the duration head).

    Args:
        tts: a trained ``Transformer`` (put in eval mode).
        emotion_input: ``weights``, ``feats`` or ``none`` (see
            :class:`~espkit.tts.emotion.conditioning.ExportedEmotion`).
        threshold, minlenratio, maxlenratio: decoding options, fixed at export.

    Raises:
        ConfigError: the model or ``emotion_input`` is one the export does not cover.
    """

    # constants: TorchScript compiles only the branches they take
    __constants__ = ["with_prenet", "with_postnet"]

    def __init__(
        self,
        tts: Transformer,
        emotion_input: str = "weights",
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
    ):
        super().__init__()
        if not isinstance(tts, Transformer):
            raise ConfigError(f"TransformerInference exports a Transformer, not {type(tts).__name__}")
        refuse_speaker_conditioning(tts)
        tts.eval()
        self.eos: int = tts.eos
        self.with_prenet = tts.encoder_prenet is not None
        self.prenet_conv: nn.Module = tts.encoder_prenet[0] if self.with_prenet else nn.Identity()
        self.prenet_proj: nn.Module = tts.encoder_prenet[1] if self.with_prenet else nn.Identity()
        self.encoder = tts.encoder
        self.emotion = ExportedEmotion(tts, emotion_input)
        self.free_run = FreeRunDecoder(tts.decoder, tts.feat_out, tts.prob_out, tts.odim, tts.reduction_factor)
        self.postnet: nn.Module = tts.postnet if tts.postnet is not None else nn.Identity()
        self.with_postnet = tts.postnet is not None
        self.att_layers, self.att_heads = tts.duration_heads()
        self.reduction_factor: int = tts.reduction_factor
        self.threshold: float = float(threshold)
        self.minlenratio: float = float(minlenratio)
        self.maxlenratio: float = float(maxlenratio)

    def forward(self, text: torch.Tensor, emotion: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode one utterance.

        Args:
            text: token ids ``(T_text,)`` (without ``<sos/eos>``).
            emotion: ``(num_emotions,)`` weights, ``(emo_feat_dim,)`` features, or anything
                (e.g. ``torch.zeros(0)``) for a model without emotion.

        Returns:
            ``feat_gen`` ``(T_feats, odim)`` (normalised), ``prob`` ``(T_feats,)``, ``att_w``
            ``(T_feats, T_text + 1)``.
        """
        eos = torch.full([1], self.eos, dtype=text.dtype, device=text.device)
        x = torch.cat([text, eos]).unsqueeze(0)
        if self.with_prenet:
            ilens = torch.full([1], x.size(1), dtype=torch.long, device=x.device)
            hs, _ = self.encoder(self.prenet_proj(self.prenet_conv(x, ilens)[0]), None)
        else:
            hs, _ = self.encoder(x, None)
        hs = self.emotion(hs, emotion)
        minlen, maxlen = length_bounds(hs.size(1), self.minlenratio, self.maxlenratio)
        before_outs, prob, src_ws, _ = self.free_run(hs, self.threshold, minlen, maxlen, True)
        after_outs = self.postnet.refine(before_outs) if self.with_postnet else before_outs
        att_w = select_duration_head(src_ws, self.att_layers, self.att_heads)
        att_w = att_w.repeat_interleave(self.reduction_factor, dim=0)[: before_outs.size(1)]
        return after_outs[0], prob, att_w


def script_transformer(
    tts: Transformer, emotion_input: str = "weights", **decode_options: float
) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of :class:`TransformerInference` for ``tts``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        return torch.jit.script(TransformerInference(tts, emotion_input, **decode_options).eval())
