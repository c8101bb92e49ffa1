"""Free-running Tacotron2 decoding with folded weights, as one scriptable loop.

:func:`free_run_steps` is the one scripted decoding loop: the decoder's fused path runs it (as a
TorchScript function, see ``fused_recurrence.compiled``) and the TorchScript export
(:mod:`~espkit.tts.tacotron2.export`) compiles it into its module. Its reference is the module-by-
module step loop of :class:`~espkit.tts.tacotron2.decoder.Decoder`; the tests check both agree.

The weights are folded as :class:`~espkit.tts.tacotron2.fused_recurrence.LocationLSTMRecurrence`
folds them (:func:`fold_decoder`): per step one GEMM for the attention query and the first LSTM's
recurrent gates, one for the location term, one read of the context and its gate input, one for the
frames and stop logits. The attention step is the one its class names in ``fused_step``
(``location`` or ``forward``); LSTM layers after the first run as plain cells.
"""

# (no ``from __future__ import annotations``: TorchScript reads the NamedTuples' field types)
from typing import TYPE_CHECKING, List, NamedTuple, Optional, Tuple

import torch
from torch.nn import functional as F

from espkit.layers.dropout import dropout
from espkit.tts.tacotron2.attention import (
    first_position_weights,
    forward_attention_update,
    uniform_weights,
    window_mask,
)
from espkit.tts.tacotron2.decoding_rules import activate, frames_to_keep
from espkit.tts.tacotron2.fused_recurrence import unfold_windows

if TYPE_CHECKING:
    from espkit.tts.tacotron2.decoder import Decoder

#: The attention steps :func:`free_run_steps` implements (values of the attention's ``fused_step``).
FREE_RUN_STEPS = ("location", "forward")


class FoldedDecoder(NamedTuple):
    """A decoder's weights as the fused loops read them (``G = 4 dunits`` gates; views, not copies,
    where no folding is needed).

    Attributes:
        w_ctx, w_pre, w_cond: the first LSTM's input weights ``(G, E)``, ``(G, P)``, ``(G, C)`` for its
            input ``cat(context, prenet output, cond)`` (``C`` may be 0).
        gate_bias: its two biases summed ``(G,)``.
        w_qh: ``cat(W_dec, W_hh)`` ``(A + G, dunits)``: attention query and recurrent gates.
        w_enc, b_enc: the attention's encoder projection ``(A, E)``, ``(A,)``.
        w_loc: ``W_att @ W_conv`` ``(A, K)``; gvec ``(A,)`` and gbias ``()``: the score vector and bias
            times the softmax scaling.
        w_out, b_out: frames and stop logits together ``(r odim + r, proj_in)``, ``(r odim + r,)``.
        prenet_weights, prenet_biases: per prenet layer ``(out, in)`` and ``(out,)``.
        upper_lstm: ``W_ih, W_hh, b_ih, b_hh`` of each LSTM layer after the first, in order.
    """

    w_ctx: torch.Tensor
    w_pre: torch.Tensor
    w_cond: torch.Tensor
    gate_bias: torch.Tensor
    w_qh: torch.Tensor
    w_enc: torch.Tensor
    b_enc: torch.Tensor
    w_loc: torch.Tensor
    gvec: torch.Tensor
    gbias: torch.Tensor
    w_out: torch.Tensor
    b_out: torch.Tensor
    prenet_weights: List[torch.Tensor]
    prenet_biases: List[torch.Tensor]
    upper_lstm: List[torch.Tensor]


class LoopConfig(NamedTuple):
    """A decoder's settings as :func:`free_run_steps` reads them (see :func:`loop_config`)."""

    units: int
    odim: int
    r: int
    cumulate: bool
    use_concate: bool
    activation: str
    att_step: str
    zoneout_rates: List[float]
    prenet_dropout: float


def fold_decoder(dec: "Decoder") -> FoldedDecoder:
    """``dec``'s weights folded (differentiable: the teacher-forced node trains through them)."""
    cell = dec.lstm[0].cell
    w_ih = cell.weight_ih
    eprojs = dec.att.mlp_enc.in_features
    prenet_end = w_ih.size(1) - dec.cond_dim
    w_loc, gvec, gbias = dec.att.fused_weights()
    r = dec.reduction_factor
    upper: List[torch.Tensor] = []
    for layer in dec.lstm[1:]:
        upper += [layer.cell.weight_ih, layer.cell.weight_hh, layer.cell.bias_ih, layer.cell.bias_hh]
    return FoldedDecoder(
        w_ctx=w_ih[:, :eprojs],
        w_pre=w_ih[:, eprojs:prenet_end],
        w_cond=w_ih[:, prenet_end:],
        gate_bias=cell.bias_ih + cell.bias_hh,
        w_qh=torch.cat([dec.att.mlp_dec.weight, cell.weight_hh], dim=0),
        w_enc=dec.att.mlp_enc.weight,
        b_enc=dec.att.mlp_enc.bias,
        w_loc=w_loc,
        gvec=gvec,
        gbias=gbias,
        w_out=torch.cat([dec.feat_out.weight, dec.prob_out.weight], dim=0),
        b_out=torch.cat([dec.prob_out.bias.new_zeros(r * dec.odim), dec.prob_out.bias]),
        prenet_weights=[layer.weight for layer in dec.prenet.layers],
        prenet_biases=[layer.bias for layer in dec.prenet.layers],
        upper_lstm=upper,
    )


def loop_config(dec: "Decoder") -> LoopConfig:
    """``dec``'s settings; the prenet dropout as the prenet applies it now (0 when it is off)."""
    prenet = dec.prenet
    att_step = type(dec.att).fused_step
    if att_step not in FREE_RUN_STEPS:
        raise ValueError(f"no scripted attention step for {type(dec.att).__name__} (fused_step={att_step!r})")
    return LoopConfig(
        units=dec.dunits,
        odim=dec.odim,
        r=dec.reduction_factor,
        cumulate=dec.cumulate_att_w,
        use_concate=dec.use_concate,
        activation=dec.output_activation or "none",
        att_step=att_step,
        zoneout_rates=[float(layer.zoneout_rate) for layer in dec.lstm],
        prenet_dropout=float(prenet.dropout_rate) if prenet.always_dropout or prenet.training else 0.0,
    )


def gate_memory(hs: torch.Tensor, w_ctx: torch.Tensor) -> torch.Tensor:
    """``(..., T_text, E)`` encoder states -> ``(..., T_text, E + G)`` = ``cat(hs, hs @ W_ctx^T)``: a
    step's read of this gives both its context and the context's part of the LSTM gates."""
    return torch.cat([hs, F.linear(hs, w_ctx)], dim=-1)


def conditioned_gate_bias(gate_bias: torch.Tensor, cond: Optional[torch.Tensor], w_cond: torch.Tensor) -> torch.Tensor:
    """The per-utterance gate bias ``(..., G)``: LSTM biases plus the gate input of ``cond``
    ``(..., C)`` (None: the biases alone)."""
    if cond is None:
        return gate_bias
    return gate_bias + F.linear(cond, w_cond)


def free_run_steps(
    h: torch.Tensor,
    cond: Optional[torch.Tensor],
    w: FoldedDecoder,
    config: LoopConfig,
    threshold: float,
    minlen: int,
    maxlen: int,
    use_window: bool,
    backward_window: int,
    forward_window: int,
) -> Tuple[List[torch.Tensor], List[torch.Tensor], List[torch.Tensor], int, bool]:
    """Decode one utterance: encoder states ``h`` ``(T_text, E)``, ``cond`` ``(C,)`` or None.

    Stops by :func:`~espkit.tts.tacotron2.decoding_rules.frames_to_keep` or at ``maxlen`` frames; with
    ``use_window`` only positions within ``[peak - backward_window, peak + forward_window]`` of the
    previous step's peak are attended.

    Returns per step the ``(r, odim)`` frames, ``(r,)`` stop probabilities and ``(1, T_text)``
    attention weights, the number of frames to keep and whether a stop probability fired.
    """
    units, odim, r = config.units, config.odim, config.r
    length, eprojs = h.shape
    hg = gate_memory(h, w.w_ctx)
    proj = F.linear(h, w.w_enc, w.b_enc)  # (T, A)
    gate_bias = conditioned_gate_bias(w.gate_bias, cond, w.w_cond)
    # (K, N) row-major copies: a GEMM with a small M runs faster on them
    w_pre_t, w_qh_t, w_loc_t = w.w_pre.t().contiguous(), w.w_qh.t().contiguous(), w.w_loc.t().contiguous()
    w_out_t = w.w_out.t().contiguous()
    att_dim, kernel = proj.size(1), w_loc_t.size(0)
    gbias_t = w.gbias.expand(length)
    no_padding = torch.zeros(1, length, dtype=torch.bool, device=h.device)
    forward_attention = config.att_step == "forward"
    if forward_attention:
        att_prev = first_position_weights(no_padding, h.dtype)
    else:
        att_prev = uniform_weights(no_padding, h.dtype)
    num_upper = len(w.upper_lstm) // 4
    z = torch.zeros(1, units, dtype=h.dtype, device=h.device)
    c = torch.zeros(1, units, dtype=h.dtype, device=h.device)
    upper_z = [torch.zeros_like(z) for _ in range(num_upper)]
    upper_c = [torch.zeros_like(c) for _ in range(num_upper)]
    rate = config.zoneout_rates[0]
    prev_frame = torch.zeros(1, odim, dtype=h.dtype, device=h.device)
    last_attended_idx = 0
    outs: List[torch.Tensor] = []
    probs: List[torch.Tensor] = []
    att_ws: List[torch.Tensor] = []
    num_frames = 0
    while True:  # until a stop probability fires (returns) or maxlen
        qh = z @ w_qh_t  # (1, A + G)
        hidden = torch.addmm(proj + qh[:, :att_dim], unfold_windows(att_prev, kernel)[0], w_loc_t)
        scores = torch.addmv(gbias_t, torch.tanh(hidden), w.gvec)
        if use_window:
            outside = window_mask(length, last_attended_idx, backward_window, forward_window, h.device)
            scores = scores.masked_fill(outside, float("-inf"))
        att_w = torch.softmax(scores, dim=0)
        if forward_attention:
            att_w = forward_attention_update(att_prev, att_w.unsqueeze(0), no_padding)[0]
        read = att_w @ hg  # (E + G,)
        x = prev_frame
        for weight, bias in zip(w.prenet_weights, w.prenet_biases):
            x = dropout(torch.relu(torch.addmm(bias, x, weight.t())), config.prenet_dropout)
        gates = torch.addmm((read[eprojs:] + qh[0, att_dim:]).add_(gate_bias), x, w_pre_t)
        act = torch.sigmoid(gates)
        c_new = torch.addcmul(
            act[:, units : 2 * units] * c, act[:, :units], torch.tanh(gates[:, 2 * units : 3 * units])
        )
        z = torch.lerp(act[:, 3 * units :] * torch.tanh(c_new), z, rate)
        c = torch.lerp(c_new, c, rate)
        x = z
        for i in range(num_upper):
            lstm = w.upper_lstm[4 * i : 4 * i + 4]
            h_new, c_new = torch.lstm_cell(x, [upper_z[i], upper_c[i]], lstm[0], lstm[1], lstm[2], lstm[3])
            upper_z[i] = torch.lerp(h_new, upper_z[i], config.zoneout_rates[i + 1])
            upper_c[i] = torch.lerp(c_new, upper_c[i], config.zoneout_rates[i + 1])
            x = upper_z[i]
        proj_in = torch.cat([x, read[None, :eprojs]], dim=1) if config.use_concate else x
        out = torch.addmm(w.b_out, proj_in, w_out_t)[0]
        frames = out[: r * odim].view(r, odim)
        prob = torch.sigmoid(out[r * odim :])
        att_w = att_w.unsqueeze(0)
        outs.append(frames)
        probs.append(prob)
        att_ws.append(att_w)
        num_frames += r
        prev_frame = activate(frames[-1:], config.activation)
        att_prev = att_prev + att_w if config.cumulate else att_w
        if use_window:
            last_attended_idx = int(att_w.argmax())
        kept = frames_to_keep(prob, threshold, num_frames, minlen)
        if kept >= 0:
            return outs, probs, att_ws, kept, True
        if num_frames >= maxlen:
            break
    return outs, probs, att_ws, num_frames, False
