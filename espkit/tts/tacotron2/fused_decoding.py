"""Free-running Tacotron2 decoding with folded weights, as one TorchScript loop.

:meth:`~espkit.tts.tacotron2.decoder.Decoder._fused_free_run` folds the decoder's weights as
:class:`~espkit.tts.tacotron2.fused_recurrence.LocationLSTMRecurrence` does (one GEMM per step
for the attention query and the recurrent gates, one for the location term, one read of the
context and its gate input, one for frames and stop logits) and hands them to
:func:`free_run_steps`, run as TorchScript by ``fused_recurrence.compiled``. The tests check it
against the module-by-module step loop.
"""

from __future__ import annotations

from typing import List, Tuple

import torch

from espkit.layers.dropout import dropout
from espkit.tts.tacotron2.attention import window_mask
from espkit.tts.tacotron2.fused_recurrence import unfold_windows


def free_run_steps(
    hg: torch.Tensor,
    proj: torch.Tensor,
    gate_bias: torch.Tensor,
    w_pre_t: torch.Tensor,
    w_qh_t: torch.Tensor,
    w_loc_t: torch.Tensor,
    gvec: torch.Tensor,
    gbias: torch.Tensor,
    w_out_t: torch.Tensor,
    b_out: torch.Tensor,
    prenet_weights: List[torch.Tensor],
    prenet_biases: List[torch.Tensor],
    prenet_dropout: float,
    zoneout_rate: float,
    units: int,
    odim: int,
    r: int,
    cumulate: bool,
    use_concate: bool,
    activation: str,
    threshold: float,
    minlen: int,
    maxlen: int,
    use_window: bool,
    backward_window: int,
    forward_window: int,
) -> Tuple[List[torch.Tensor], List[torch.Tensor], List[torch.Tensor], int, bool]:
    """Decode one utterance; see :meth:`Decoder._stepwise_free_run` for what is returned.

    ``hg`` ``(T, E + G)``: encoder states and their gate projection; ``proj`` ``(T, A)``;
    ``gate_bias`` ``(G,)`` (LSTM biases and conditioning); ``w_pre_t`` ``(P, G)``, ``w_qh_t``
    ``(H, A + G)``, ``w_loc_t`` ``(K, A)``, ``w_out_t`` ``(proj_in, r * odim + r)``: transposed
    weights; the prenet as lists of ``(out, in)`` weights and biases with its dropout rate (0 when
    the prenet's dropout is off).
    """
    length, att_dim = proj.shape
    eprojs = hg.size(1) - 4 * units
    kernel = w_loc_t.size(0)
    gbias_t = gbias.expand(length)
    z = torch.zeros(1, units, dtype=proj.dtype, device=proj.device)
    c = torch.zeros(1, units, dtype=proj.dtype, device=proj.device)
    att_prev = torch.full([1, length], 1.0 / length, dtype=proj.dtype, device=proj.device)
    prev_frame = torch.zeros(1, odim, dtype=proj.dtype, device=proj.device)
    last_attended_idx = 0
    outs: List[torch.Tensor] = []
    probs: List[torch.Tensor] = []
    att_ws: List[torch.Tensor] = []
    num_frames = 0
    stopped = False
    while True:
        qh = z @ w_qh_t  # (1, A + G)
        hidden = torch.addmm(proj + qh[:, :att_dim], unfold_windows(att_prev, kernel)[0], w_loc_t)
        scores = torch.addmv(gbias_t, torch.tanh(hidden), gvec)
        if use_window:
            outside = window_mask(length, last_attended_idx, backward_window, forward_window, proj.device)
            scores = scores.masked_fill(outside, float("-inf"))
        att_w = torch.softmax(scores, dim=0)
        read = att_w @ hg  # (E + G,)
        x = prev_frame
        for weight, bias in zip(prenet_weights, prenet_biases):
            x = dropout(torch.relu(torch.addmm(bias, x, weight.t())), prenet_dropout)
        gates = torch.addmm((read[eprojs:] + qh[0, att_dim:]).add_(gate_bias), x, w_pre_t)
        act = torch.sigmoid(gates)
        c_new = torch.addcmul(
            act[:, units : 2 * units] * c, act[:, :units], torch.tanh(gates[:, 2 * units : 3 * units])
        )
        z = torch.lerp(act[:, 3 * units :] * torch.tanh(c_new), z, zoneout_rate)
        c = torch.lerp(c_new, c, zoneout_rate)
        proj_in = torch.cat([z, read[None, :eprojs]], dim=1) if use_concate else z
        out = torch.addmm(b_out, proj_in, w_out_t)[0]
        frames = out[: r * odim].view(r, odim)
        prob = torch.sigmoid(out[r * odim :])
        att_w = att_w.unsqueeze(0)
        outs.append(frames)
        probs.append(prob)
        att_ws.append(att_w)
        num_frames += r
        last = frames[-1:]
        if activation == "tanh":
            last = torch.tanh(last)
        elif activation == "sigmoid":
            last = torch.sigmoid(last)
        elif activation == "relu":
            last = torch.relu(last)
        prev_frame = last
        att_prev = att_prev + att_w if cumulate else att_w
        if use_window:
            last_attended_idx = int(att_w.argmax())
        if num_frames >= minlen:
            stops = (prob >= threshold).nonzero()
            if stops.numel() > 0:
                num_frames = num_frames - r + int(stops[0, 0]) + 1
                stopped = True
                break
        if num_frames >= maxlen:
            break
    return outs, probs, att_ws, num_frames, stopped
