"""A TorchScript-able inference module for a trained (controllable) Tacotron2.

:class:`Tacotron2Inference` runs the model's own encoder (the same module), its emotion
conditioning (:func:`~espkit.tts.tacotron2.tacotron2.attach_to_memory`), the scripted decoding
loop of the fused path (:func:`~espkit.tts.tacotron2.fused_decoding.free_run_steps`, on the
decoder's weights folded at export) and its postnet, with the same decoding rules
(:mod:`~espkit.tts.tacotron2.decoding_rules`): no code of its own restates a model part.

The prenet dropout stays on, as in eager Tacotron2 inference: it draws from torch's global
RNG, so eager and scripted outputs agree when both start from the same seed
(``torch.manual_seed``), which is how :mod:`espkit.bin.tts_export` checks them.

Not supported here (eager inference still supports them): speaker ids, language ids and
speaker embeddings (``spks``, ``langs``, ``spk_embed_dim``), the attention window
(``use_att_constraint``), teacher forcing, and attention classes without a scripted step
(``fused_step`` None).
"""

import warnings
from typing import Optional, Tuple

import torch
from torch import nn

from espkit.tts.speaker.conditioning import refuse_speaker_conditioning
from espkit.tts.tacotron2.decoding_rules import activate, assemble_steps, length_bounds
from espkit.tts.tacotron2.fused_decoding import (
    FREE_RUN_STEPS,
    FoldedDecoder,
    LoopConfig,
    fold_decoder,
    free_run_steps,
    loop_config,
)
from espkit.tts.tacotron2.tacotron2 import Tacotron2, attach_to_memory
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable
from espkit.utils.errors import ConfigError

#: How the emotion input of :meth:`Tacotron2Inference.forward` is read.
EMOTION_INPUTS = ("none", "weights", "feats")


class Tacotron2Inference(nn.Module):
    """``forward(text (T_text,) long, emotion (D,) float) -> (feat_gen, prob, att_w)``.

    Args:
        tts: a trained ``Tacotron2`` / ``Tacotron2Controllable`` (put in eval mode).
        emotion_input: ``weights`` (``(num_emotions,)`` label weights; a one-hot row is one
            label), ``feats`` (``(emo_feat_dim,)`` emotion features) or ``none`` (plain Tacotron2).
        threshold, minlenratio, maxlenratio: decoding options, fixed at export.

    Raises:
        ConfigError: the model or ``emotion_input`` is one the export does not cover (the message
            says which part).
    """

    # (real classes, not strings: TorchScript reads these to type the attributes)
    folded: FoldedDecoder
    config: LoopConfig

    def __init__(
        self,
        tts: Tacotron2,
        emotion_input: str = "weights",
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
    ):
        super().__init__()
        if emotion_input not in EMOTION_INPUTS:
            raise ConfigError(f"emotion_input must be one of {EMOTION_INPUTS}, got {emotion_input!r}")
        controllable = isinstance(tts, Tacotron2Controllable)
        if controllable == (emotion_input == "none"):
            raise ConfigError(f"emotion_input={emotion_input!r} does not fit {type(tts).__name__}")
        refuse_speaker_conditioning(tts)
        att_class = type(tts.dec.att)
        if att_class.fused_step not in FREE_RUN_STEPS:
            raise ConfigError(
                f"export does not support the attention {att_class.__name__}: it names no step of "
                f"the scripted decoding loop (fused_step={att_class.fused_step!r}; implemented: "
                f"{', '.join(FREE_RUN_STEPS)})"
            )
        tts.eval()
        dec = tts.dec
        self.eos: int = tts.eos
        self.enc = tts.enc
        self._init_emotion(tts, emotion_input)
        with torch.no_grad():
            self.folded = fold_decoder(dec)
        self.config = loop_config(dec)
        self.postnet = dec.postnet
        self.threshold: float = float(threshold)
        self.minlenratio: float = float(minlenratio)
        self.maxlenratio: float = float(maxlenratio)

    def _init_emotion(self, tts: Tacotron2, emotion_input: str) -> None:
        self.emotion_input: str = emotion_input
        self.emo_table = nn.Parameter(torch.zeros(1, 1), requires_grad=False)
        self.emo_feat_proj: nn.Module = nn.Identity()
        self.emo_memory_proj: nn.Module = nn.Identity()
        self.emo_integration: str = "none"
        self.emo_to_decoder: bool = False
        if emotion_input == "none":
            return
        if emotion_input == "weights":
            if tts.emo_embed is None:
                raise ConfigError("emotion_input=weights but the model has no label table (num_emotions=0)")
            self.emo_table = tts.emo_embed.weight
        elif tts.emo_feat_proj is None:
            raise ConfigError("emotion_input=feats but the model has no emo_feat_dim")
        else:
            self.emo_feat_proj = tts.emo_feat_proj
        if tts.emo_memory_proj is not None:
            self.emo_memory_proj = tts.emo_memory_proj
        self.emo_integration = tts.emotion_options.emo_integration
        self.emo_to_decoder = tts.emotion_options.emo_to_decoder

    def emotion_vector(self, emotion: torch.Tensor) -> torch.Tensor:
        """``(D,)`` weights or features -> ``(1, emo_embed_dim)``."""
        if self.emotion_input == "weights":
            return emotion.unsqueeze(0).to(self.emo_table.dtype) @ self.emo_table
        return self.emo_feat_proj(emotion.unsqueeze(0))

    def forward(self, text: torch.Tensor, emotion: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode one utterance.

        Args:
            text: token ids ``(T_text,)`` (without ``<sos/eos>``).
            emotion: ``(num_emotions,)`` weights, ``(emo_feat_dim,)`` features, or anything
                (e.g. ``torch.zeros(0)``) for a plain Tacotron2.

        Returns:
            ``feat_gen`` ``(T_feats, odim)`` (normalised), ``prob`` ``(T_feats,)``, ``att_w``
            ``(T_feats, T_text + 1)``.
        """
        eos = torch.full([1], self.eos, dtype=text.dtype, device=text.device)
        hs = self.enc.inference(torch.cat([text, eos])).unsqueeze(0)  # (1, T_text + 1, D)
        cond: Optional[torch.Tensor] = None
        if self.emotion_input != "none":
            emo = self.emotion_vector(emotion)
            hs = attach_to_memory(hs, self.emo_memory_proj(emo), self.emo_integration)
            if self.emo_to_decoder:
                cond = emo[0]
        minlen, maxlen = length_bounds(hs.size(1), self.minlenratio, self.maxlenratio)
        outs, probs, att_ws, num_frames, _ = free_run_steps(
            hs[0], cond, self.folded, self.config, self.threshold, minlen, maxlen, False, 1, 3
        )
        before_outs, prob, att_w = assemble_steps(outs, probs, att_ws, num_frames)
        after_outs = before_outs if self.postnet is None else self.postnet.refine(before_outs)
        return activate(after_outs, self.config.activation)[0], prob, att_w


def script_tacotron2(tts: Tacotron2, emotion_input: str = "weights", **decode_options: float) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of :class:`Tacotron2Inference` for ``tts``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        return torch.jit.script(Tacotron2Inference(tts, emotion_input, **decode_options).eval())
