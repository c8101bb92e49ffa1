"""A TorchScript-able inference module for a trained FastSpeech2 or FastSpeech.

:class:`FastSpeechInference` runs the model's own modules (encoder, emotion table and projection,
duration / pitch / energy predictors and embeddings, length regulator, decoder, output layer,
postnet) in the order of ``FastSpeech.inference``; only the glue between them is written here,
because the eager glue checks its inputs with Python (shapes, messages) that TorchScript cannot
compile. The prosody controls are fixed at export (default: none), in the model's normalised
domain as ``FastSpeech.inference`` takes them. There is no randomness (no prenet dropout), so the
exported module must match eager inference exactly, which :mod:`espkit.bin.tts_export` checks.

Not supported here (eager inference still supports them): speaker ids / language ids / speaker
embeddings, per-token overrides (durations, pitch, energy) and teacher forcing.
"""

from __future__ import annotations

import warnings
from typing import Tuple

import torch
from torch import nn

from espkit.tts.emotion.conditioning import ExportedEmotion
from espkit.tts.fastspeech.fastspeech import FastSpeech
from espkit.tts.fastspeech2.fastspeech2 import FastSpeech2
from espkit.tts.speaker.conditioning import refuse_speaker_conditioning
from espkit.utils.errors import ConfigError


class FastSpeechInference(nn.Module):
    """``forward(text (T_text,) long, emotion (D,) float) -> (feat_gen, duration, pitch, energy)``.

    Args:
        tts: a trained ``FastSpeech2`` or ``FastSpeech`` (put in eval mode).
        emotion_input: ``weights`` (``(num_emotions,)`` label weights; a one-hot row is one label),
            ``feats`` (``(emo_feat_dim,)`` emotion features) or ``none`` (no emotion).
        alpha: duration scale (> 1: slower).
        pitch_scale, pitch_shift, energy_scale, energy_shift: FastSpeech2's controls in the
            normalised token domain (see ``FastSpeech.inference``); must stay neutral for FastSpeech.

    Raises:
        ConfigError: the model or ``emotion_input`` is one the export does not cover (the message
            says which part).
    """

    # constants: TorchScript compiles only the branches they take (FastSpeech has no predictors)
    __constants__ = ["with_pitch_energy", "with_postnet"]

    def __init__(
        self,
        tts: FastSpeech,
        emotion_input: str = "weights",
        alpha: float = 1.0,
        pitch_scale: float = 1.0,
        pitch_shift: float = 0.0,
        energy_scale: float = 1.0,
        energy_shift: float = 0.0,
    ):
        super().__init__()
        if not isinstance(tts, FastSpeech):
            raise ConfigError(f"FastSpeechInference exports FastSpeech2 / FastSpeech, not {type(tts).__name__}")
        refuse_speaker_conditioning(tts)
        if not alpha > 0.0:
            raise ConfigError(f"alpha must be > 0, got {alpha}")
        self.with_pitch_energy = isinstance(tts, FastSpeech2)
        neutral = (pitch_scale, pitch_shift, energy_scale, energy_shift) == (1.0, 0.0, 1.0, 0.0)
        if not self.with_pitch_energy and not neutral:
            raise ConfigError("pitch/energy controls need a FastSpeech2 (this is a FastSpeech)")
        tts.eval()
        self.eos: int = tts.eos
        self.odim: int = tts.odim
        self.encoder = tts.encoder
        self.duration_predictor = tts.duration_predictor
        self.length_regulator = tts.length_regulator
        self.decoder = tts.decoder
        self.feat_out = tts.feat_out
        self.postnet: nn.Module = tts.postnet if tts.postnet is not None else nn.Identity()
        self.with_postnet = tts.postnet is not None
        self.pitch_predictor: nn.Module = tts.pitch_predictor if self.with_pitch_energy else nn.Identity()
        self.energy_predictor: nn.Module = tts.energy_predictor if self.with_pitch_energy else nn.Identity()
        self.pitch_embed: nn.Module = tts.pitch_embed if self.with_pitch_energy else nn.Identity()
        self.energy_embed: nn.Module = tts.energy_embed if self.with_pitch_energy else nn.Identity()
        self.alpha: float = float(alpha)
        self.pitch_scale: float = float(pitch_scale)
        self.pitch_shift: float = float(pitch_shift)
        self.energy_scale: float = float(energy_scale)
        self.energy_shift: float = float(energy_shift)
        self.emotion = ExportedEmotion(tts, emotion_input)

    def forward(
        self, text: torch.Tensor, emotion: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Synthesise one utterance.

        Args:
            text: token ids ``(T_text,)`` (without ``<sos/eos>``).
            emotion: ``(num_emotions,)`` weights, ``(emo_feat_dim,)`` features, or anything
                (e.g. ``torch.zeros(0)``) for a model without emotion.

        Returns:
            ``feat_gen`` ``(T_feats, odim)`` (normalised), ``duration`` ``(T_text + 1,)`` long, and
            FastSpeech2's normalised ``pitch`` / ``energy`` ``(T_text + 1, 1)`` (FastSpeech:
            empty tensors).
        """
        eos = torch.full([1], self.eos, dtype=text.dtype, device=text.device)
        x = torch.cat([text.view(-1), eos]).unsqueeze(0)  # (1, T_text + 1)
        masks = torch.ones(1, 1, x.size(1), dtype=torch.bool, device=x.device)
        hs, _ = self.encoder(x, masks)
        hs = self.emotion(hs, emotion)
        durations = self.duration_predictor.inference(hs, None, self.alpha)
        pitch = torch.zeros(0, device=hs.device)
        energy = torch.zeros(0, device=hs.device)
        if self.with_pitch_energy:
            p_pred = self.pitch_predictor(hs, None)
            e_pred = self.energy_predictor(hs, None)
            mean = p_pred.mean(dim=1, keepdim=True)
            ps = mean + self.pitch_scale * (p_pred - mean) + self.pitch_shift
            es = self.energy_scale * e_pred + self.energy_shift
            pitch_states = self.pitch_embed(ps.transpose(1, 2)).transpose(1, 2)
            energy_states = self.energy_embed(es.transpose(1, 2)).transpose(1, 2)
            hs = hs + pitch_states + energy_states
            pitch, energy = ps[0], es[0]
        durations = self.length_regulator.fill_empty(durations, None)
        frames, _ = self.length_regulator.expand(hs, durations)
        zs, _ = self.decoder(frames, None)
        before_outs = self.feat_out(zs).view(zs.size(0), -1, self.odim)
        after_outs = self.postnet.refine(before_outs, None) if self.with_postnet else before_outs
        return after_outs[0], durations[0], pitch, energy


def script_fastspeech(tts: FastSpeech, emotion_input: str = "weights", **controls: float) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of :class:`FastSpeechInference` for ``tts`` (``controls``: its keyword options)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        return torch.jit.script(FastSpeechInference(tts, emotion_input, **controls).eval())
