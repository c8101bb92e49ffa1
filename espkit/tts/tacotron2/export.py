"""A TorchScript-able inference module for a trained (controllable) Tacotron2.

:class:`Tacotron2Inference` reuses the trained submodules (the same parameter tensors) and
re-states :meth:`Tacotron2.inference`'s free-running decoder loop in scriptable code:
no ``**kwargs``, no NamedTuples, no Python-side optional modules. It computes the same
operations in the same order, so with the same RNG state its output equals eager inference.

The prenet dropout stays on, as in eager Tacotron2 inference: it draws from torch's global
RNG, so eager and scripted outputs are equal when both start from the same seed
(``torch.manual_seed``), which is how :mod:`espkit.bin.tts_export` checks them.

Not supported here (eager inference still supports them): speaker embeddings
(``spk_embed_dim``), the attention window (``use_att_constraint``) and teacher forcing.
"""

from __future__ import annotations

import warnings
from typing import List, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from espkit.layers.dropout import dropout
from espkit.tts.tacotron2.attention import AttForward
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable

#: How the emotion input of :meth:`Tacotron2Inference.forward` is read.
EMOTION_INPUTS = ("none", "weights", "feats")


class Tacotron2Inference(nn.Module):
    """``forward(text (T_text,) long, emotion (D,) float) -> (feat_gen, prob, att_w)``.

    Args:
        tts: a trained ``Tacotron2`` / ``Tacotron2Controllable`` (put in eval mode).
        emotion_input: ``weights`` (``(num_emotions,)`` label weights; a one-hot row is one
            label), ``feats`` (``(emo_feat_dim,)`` emotion features) or ``none`` (plain Tacotron2).
        threshold, minlenratio, maxlenratio: decoding options, fixed at export.
    """

    def __init__(self, tts: Tacotron2, emotion_input: str = "weights", threshold: float = 0.5,
                 minlenratio: float = 0.0, maxlenratio: float = 10.0):
        super().__init__()
        if emotion_input not in EMOTION_INPUTS:
            raise ValueError(f"emotion_input must be one of {EMOTION_INPUTS}, got {emotion_input!r}")
        controllable = isinstance(tts, Tacotron2Controllable)
        if controllable == (emotion_input == "none"):
            raise ValueError(f"emotion_input={emotion_input!r} does not fit {type(tts).__name__}")
        if tts.spk_embed_dim is not None:
            raise ValueError("export does not support speaker embeddings (spk_embed_dim)")
        tts.eval()
        enc, dec = tts.enc, tts.dec
        att = dec.att
        self.eos: int = tts.eos
        # encoder
        self.embed = enc.embed
        self.convs = enc.convs
        self.use_residual: bool = enc.use_residual
        self.has_blstm: bool = enc.blstm is not None
        self.blstm = enc.blstm if enc.blstm is not None else nn.Identity()
        # emotion
        self.emotion_input: str = emotion_input
        self.emo_table = nn.Parameter(torch.zeros(1, 1), requires_grad=False)
        self.emo_feat_proj = nn.Identity()
        self.emo_memory_proj = nn.Identity()
        self.emo_add: bool = False
        self.emo_concat: bool = False
        self.emo_to_decoder: bool = False
        if controllable:
            opts = tts.emotion_options
            if emotion_input == "weights":
                if tts.emo_embed is None:
                    raise ValueError("emotion_input=weights but the model has no label table (num_emotions=0)")
                self.emo_table = tts.emo_embed.weight
            elif tts.emo_feat_proj is None:
                raise ValueError("emotion_input=feats but the model has no emo_feat_dim")
            else:
                self.emo_feat_proj = tts.emo_feat_proj
            if tts.emo_memory_proj is not None:
                self.emo_memory_proj = tts.emo_memory_proj
                self.emo_add = True
            self.emo_concat = opts.emo_integration == "concat"
            self.emo_to_decoder = opts.emo_to_decoder
        # attention
        self.mlp_enc, self.mlp_dec, self.mlp_att = att.mlp_enc, att.mlp_dec, att.mlp_att
        self.loc_conv, self.gvec = att.loc_conv, att.gvec
        self.scaling: float = float(att.scaling)
        self.forward_attention: bool = isinstance(att, AttForward)
        # decoder
        self.prenet_layers = dec.prenet.layers
        self.prenet_dropout: float = float(dec.prenet.dropout_rate)
        self.lstm_cells = nn.ModuleList([cell.cell for cell in dec.lstm])
        self.zoneout_rates: List[float] = [float(cell.zoneout_rate) for cell in dec.lstm]
        self.dunits: int = dec.dunits
        self.odim: int = dec.odim
        self.r: int = dec.reduction_factor
        self.cumulate_att_w: bool = dec.cumulate_att_w
        self.use_concate: bool = dec.use_concate
        self.output_activation: str = dec.output_activation or "none"
        self.feat_out, self.prob_out = dec.feat_out, dec.prob_out
        self.has_postnet: bool = dec.postnet is not None
        self.postnet = dec.postnet.blocks if dec.postnet is not None else nn.ModuleList()
        self.threshold: float = float(threshold)
        self.minlenratio: float = float(minlenratio)
        self.maxlenratio: float = float(maxlenratio)

    def _activate(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_activation == "tanh":
            return torch.tanh(x)
        if self.output_activation == "sigmoid":
            return torch.sigmoid(x)
        if self.output_activation == "relu":
            return torch.relu(x)
        return x

    def encode(self, text: torch.Tensor) -> torch.Tensor:
        """``(T_text,)`` ids -> ``(1, T_text + 1, D)`` (``<sos/eos>`` appended)."""
        x = torch.cat([text, torch.full([1], self.eos, dtype=text.dtype, device=text.device)])
        hs = self.embed(x.unsqueeze(0)).transpose(1, 2)
        for conv in self.convs:
            out = conv(hs)
            hs = hs + out if self.use_residual else out
        hs = hs.transpose(1, 2)
        if self.has_blstm:
            hs = self.blstm(hs)[0]
        return hs

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
        hs = self.encode(text)
        cond = torch.zeros(1, 0, dtype=hs.dtype, device=hs.device)
        if self.emotion_input != "none":
            emo = self.emotion_vector(emotion)
            if self.emo_add:
                hs = hs + self.emo_memory_proj(emo).unsqueeze(1)
            elif self.emo_concat:
                hs = torch.cat([hs, emo.unsqueeze(1).expand(-1, hs.size(1), -1)], dim=-1)
            if self.emo_to_decoder:
                cond = emo
        text_len = hs.size(1)
        maxlen = max(int(text_len * self.maxlenratio), 1)
        minlen = int(text_len * self.minlenratio)
        proj = self.mlp_enc(hs)
        if self.forward_attention:
            att_prev = torch.zeros(1, text_len, dtype=hs.dtype, device=hs.device)
            att_prev[:, 0] = 1.0
        else:
            att_prev = torch.full([1, text_len], 1.0 / text_len, dtype=hs.dtype, device=hs.device)
        z_list = [torch.zeros(1, self.dunits, dtype=hs.dtype, device=hs.device) for _ in self.zoneout_rates]
        c_list = [torch.zeros(1, self.dunits, dtype=hs.dtype, device=hs.device) for _ in self.zoneout_rates]
        prev_frame = torch.zeros(1, self.odim, dtype=hs.dtype, device=hs.device)
        outs: List[torch.Tensor] = []
        probs: List[torch.Tensor] = []
        att_ws: List[torch.Tensor] = []
        num_frames = 0
        while True:
            loc = self.loc_conv(att_prev.unsqueeze(1)).transpose(1, 2)
            energies = self.gvec(torch.tanh(proj + self.mlp_dec(z_list[0]).unsqueeze(1) + self.mlp_att(loc))).squeeze(-1)
            att_w = F.softmax(self.scaling * energies, dim=1)
            if self.forward_attention:
                shifted = F.pad(att_prev[:, :-1], [1, 0])
                att_w = (att_prev + shifted) * att_w + 1.0e-8
                att_w = att_w / att_w.sum(dim=1, keepdim=True)
            att_c = torch.bmm(att_w.unsqueeze(1), hs).squeeze(1)
            x = prev_frame
            for layer in self.prenet_layers:
                x = dropout(torch.relu(layer(x)), self.prenet_dropout)
            x = torch.cat([att_c, x, cond], dim=-1)
            i = 0
            for cell in self.lstm_cells:
                h_new, c_new = cell(x, (z_list[i], c_list[i]))
                rate = self.zoneout_rates[i]
                if rate > 0.0:
                    h_new = rate * z_list[i] + (1.0 - rate) * h_new
                    c_new = rate * c_list[i] + (1.0 - rate) * c_new
                z_list[i] = h_new
                c_list[i] = c_new
                x = h_new
                i += 1
            proj_in = torch.cat([x, att_c], dim=-1) if self.use_concate else x
            frames = self.feat_out(proj_in).reshape(self.r, self.odim)
            prob = torch.sigmoid(self.prob_out(proj_in)).reshape(self.r)
            outs.append(frames)
            probs.append(prob)
            att_ws.append(att_w)
            num_frames += self.r
            prev_frame = self._activate(frames[-1:])
            att_prev = att_prev + att_w if self.cumulate_att_w and not self.forward_attention else att_w
            if num_frames >= minlen:
                stops = (prob >= self.threshold).nonzero()
                if stops.numel() > 0:
                    num_frames = num_frames - self.r + int(stops[0, 0]) + 1
                    break
            if num_frames >= maxlen:
                break
        before = torch.cat(outs, dim=0)[:num_frames].unsqueeze(0)
        after = before
        if self.has_postnet:
            residual = before.transpose(1, 2)
            for block in self.postnet:
                residual = block(residual)
            after = before + residual.transpose(1, 2)
        att_w_frames = torch.cat(att_ws, dim=0).repeat_interleave(self.r, dim=0)[:num_frames]
        return self._activate(after)[0], torch.cat(probs)[:num_frames], att_w_frames


def script_tacotron2(tts: Tacotron2, emotion_input: str = "weights", **decode_options: float) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of :class:`Tacotron2Inference` for ``tts``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        return torch.jit.script(Tacotron2Inference(tts, emotion_input, **decode_options).eval())
