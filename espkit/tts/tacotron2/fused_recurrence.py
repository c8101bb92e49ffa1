"""Teacher-forced Tacotron2 decoder recurrence as one autograd node with a hand-written BPTT.

The decoder's frame loop (location-sensitive attention + one zoneout LSTM layer) is the
whole cost of a Tacotron2 training step on a CPU: run through autograd, each of the ~120
decoder steps records dozens of tiny operators forward and backward, and every weight
used inside the loop gets one small gradient GEMM (plus an accumulation) per step.

:class:`LocationLSTMRecurrence` computes exactly the same function as the step-by-step
loop in :meth:`~espkit.tts.tacotron2.decoder.Decoder.forward` (same model, same
parameters, same losses; the tests compare both paths' outputs and every parameter
gradient in float64), but

- everything that does not depend on the previous step is computed outside the loop in
  batched GEMMs: the prenet part of the LSTM input projection (``x_gates``), the attention
  context's part of it (``hs @ W_ctx^T``, so one ``bmm`` per step gives both the context
  and its gate contribution), the encoder projection of the attention;
- the two projections of the previous decoder state (attention query ``W_dec`` and LSTM
  recurrent weights ``W_hh``) are one GEMM per step; the location convolution followed by
  its projection (``mlp_att . loc_conv``) is one composed ``(att_dim, kernel)`` weight
  applied to an unfolded window;
- the backward pass runs the recurrence in reverse without autograd bookkeeping and leaves
  all weight gradients to a handful of large GEMMs after the loop.

Notation (shapes): ``B`` batch, ``S`` decoder steps, ``T`` text positions, ``E`` encoder
state size, ``H`` LSTM units, ``G = 4 H`` gates, ``A`` attention size, ``K`` location kernel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F


def unfold_windows(att: torch.Tensor, kernel: int) -> torch.Tensor:
    """``(N, T)`` -> ``(N, T, kernel)`` zero-padded windows centred on each position."""
    pad = (kernel - 1) // 2
    return F.pad(att, (pad, pad)).unfold(-1, kernel, 1)


def fold_windows(windows: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`unfold_windows`: ``(N, T, kernel)`` -> ``(N, T)`` (overlap-add)."""
    batch, length, kernel = windows.shape
    pad = (kernel - 1) // 2
    summed = F.fold(windows.transpose(1, 2), (1, length + 2 * pad), (1, kernel))
    return summed.view(batch, length + 2 * pad)[:, pad : pad + length]


class LocationLSTMRecurrence(torch.autograd.Function):
    """Forward: the teacher-forced recurrence; backward: its exact gradient (see module doc).

    ``apply(hg, proj, x_gates, w_qh, w_loc, gvec, gbias, pad_mask, att_init, keep_h, keep_c,
    cumulate)`` with

    - ``hg`` ``(B, T, E + G)``: encoder states and their gate projection ``cat(hs, hs @ W_ctx^T)``;
    - ``proj`` ``(B, T, A)``: the attention's encoder projection;
    - ``x_gates`` ``(B, S, G)``: per-step gate input that does not depend on the recurrence
      (prenet output and conditioning through ``W_ih``, both LSTM biases);
    - ``w_qh`` ``(A + G, H)``: ``cat(W_dec, W_hh)``; ``w_loc`` ``(A, K)``: ``W_att @ W_conv``;
    - ``gvec`` ``(A,)`` and ``gbias`` ``()``: the score vector and bias, already times the
      softmax scaling;
    - ``pad_mask`` ``(B, T)`` True at padded text; ``att_init`` ``(B, T)`` initial weights;
    - ``keep_h``/``keep_c`` ``(S, B, H)``: zoneout weights of the previous state
      (``h_t = lerp(h_new, h_{t-1}, keep)``: 0/1 draws in training, the rate in eval);
    - ``cumulate``: feed the running sum of the attention weights (else the last weights).

    Returns ``z`` ``(B, S, H)`` LSTM outputs, ``ctx`` ``(B, S, E)`` attention contexts and
    ``att_ws`` ``(B, S, T)`` attention weights.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        hg: torch.Tensor,
        proj: torch.Tensor,
        x_gates: torch.Tensor,
        w_qh: torch.Tensor,
        w_loc: torch.Tensor,
        gvec: torch.Tensor,
        gbias: torch.Tensor,
        pad_mask: torch.Tensor,
        att_init: torch.Tensor,
        keep_h: torch.Tensor,
        keep_c: torch.Tensor,
        cumulate: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, length, att_dim = proj.shape
        steps, units = x_gates.size(1), w_qh.size(1)
        eprojs = hg.size(2) - 4 * units
        kernel = w_loc.size(1)
        new = proj.new_empty
        z_all = new(steps, batch, units)  # h_t after zoneout
        c_all = new(steps, batch, units)  # c_t after zoneout
        act_all = new(steps, batch, 4 * units)  # i, f, g (tanh), o
        tc_all = new(steps, batch, units)  # tanh(c_new)
        q_all = new(steps, batch, att_dim)  # attention queries (the hidden layer is recomputed)
        w_all = new(steps, batch, length)  # attention weights
        a_prev_all = new(steps, batch, length)  # attention input of each step
        ctx_all = new(steps, batch, eprojs)
        z = proj.new_zeros(batch, units)
        c = proj.new_zeros(batch, units)
        a = att_init
        # (K, N) row-major copies: a GEMM with a small M runs about twice as fast on them
        w_loc_t = w_loc.t().contiguous()
        w_qh_t = w_qh.t().contiguous()
        flat = (batch * length, att_dim)
        for t in range(steps):
            a_prev_all[t] = a
            qh = z @ w_qh_t  # (B, A + G)
            q_all[t] = qh[:, :att_dim]
            hidden = torch.addmm(
                (proj + qh[:, None, :att_dim]).view(flat),
                unfold_windows(a, kernel).reshape(batch * length, kernel),
                w_loc_t,
            ).view(batch, length, att_dim)
            u = hidden.tanh_()
            scores = torch.addmv(gbias.expand(batch * length), u.view(flat), gvec)
            w = torch.softmax(scores.view(batch, length).masked_fill_(pad_mask, float("-inf")), 1)
            w_all[t] = w
            read = torch.bmm(w.unsqueeze(1), hg).squeeze(1)  # (B, E + G)
            ctx_all[t] = read[:, :eprojs]
            gates = read[:, eprojs:] + x_gates[:, t] + qh[:, att_dim:]
            act = torch.sigmoid(gates, out=act_all[t])
            act[:, 2 * units : 3 * units] = torch.tanh(gates[:, 2 * units : 3 * units])
            i, f, g, o = act.chunk(4, dim=1)
            c_new = torch.addcmul(f * c, i, g)
            tc = torch.tanh(c_new, out=tc_all[t])
            z = torch.lerp(o * tc, z, keep_h[t])
            c = torch.lerp(c_new, c, keep_c[t])
            z_all[t] = z
            c_all[t] = c
            a = a + w if cumulate else w
        ctx.save_for_backward(
            hg, proj, w_qh, w_loc, gvec, keep_h, keep_c, z_all, c_all, act_all, tc_all, q_all,
            w_all, a_prev_all,
        )
        ctx.cumulate = cumulate
        return (
            z_all.transpose(0, 1).contiguous(),
            ctx_all.transpose(0, 1).contiguous(),
            w_all.transpose(0, 1).contiguous(),
        )

    @staticmethod
    def backward(ctx: Any, d_z: torch.Tensor, d_ctx: torch.Tensor, d_att: torch.Tensor):  # type: ignore[override]
        (hg, proj, w_qh, w_loc, gvec, keep_h, keep_c, z_all, c_all, act_all, tc_all, q_all, w_all,
         a_prev_all) = ctx.saved_tensors
        batch, length, att_dim = proj.shape
        steps = q_all.size(0)
        units = z_all.size(2)
        eprojs = hg.size(2) - 4 * units
        kernel = w_loc.size(1)
        if d_z is None:
            d_z = z_all.new_zeros(batch, steps, units)
        if d_ctx is None:
            d_ctx = z_all.new_zeros(batch, steps, eprojs)
        # gradient reaching each step's weights from outside the loop: directly and via ctx
        d_w_out = torch.bmm(d_ctx, hg[:, :, :eprojs].transpose(1, 2))  # (B, S, T)
        if d_att is not None:
            d_w_out = d_w_out + d_att
        d_w_out = d_w_out.transpose(0, 1)  # (S, B, T)
        d_z_out = d_z.transpose(0, 1)  # (S, B, H)
        hg_gates_t = hg[:, :, eprojs:].transpose(1, 2)  # (B, G, T)

        d_qg_all = z_all.new_empty(steps, batch, att_dim + 4 * units)  # d(query), d(gates)
        d_proj = torch.zeros_like(proj)
        d_gvec = gvec.new_zeros(att_dim)
        w_loc_t = w_loc.t().contiguous()
        d_w_loc = w_loc.new_zeros(att_dim, kernel)
        d_gbias = gvec.new_zeros(())
        d_h = z_all.new_zeros(batch, units)  # from the uses of h_t at step t + 1
        d_c = z_all.new_zeros(batch, units)
        d_a = w_all.new_zeros(batch, length)
        zeros = z_all.new_zeros(batch, units)
        for t in range(steps - 1, -1, -1):
            c_prev = c_all[t - 1] if t > 0 else zeros
            d_h = d_h + d_z_out[t]
            # zoneout: state = lerp(new, prev, keep)
            d_h_new = d_h * (1.0 - keep_h[t])
            d_c_new = d_c * (1.0 - keep_c[t])
            d_h_prev = d_h * keep_h[t]
            d_c_prev = d_c * keep_c[t]
            act = act_all[t]
            i, f, g, o = act.chunk(4, dim=1)
            tc = tc_all[t]
            d_c_new = d_c_new + d_h_new * o * (1.0 - tc * tc)
            d_act = torch.cat([d_c_new * g, d_c_new * c_prev, d_c_new * i, d_h_new * tc], dim=1)
            deriv = act * (1.0 - act)
            deriv[:, 2 * units : 3 * units] = 1.0 - g * g
            d_gates = torch.mul(d_act, deriv, out=d_qg_all[t, :, att_dim:])
            d_c_prev = torch.addcmul(d_c_prev, d_c_new, f)
            # attention weights: read from hg, fed forward in a, and the outside gradient
            # (a_t = a_{t-1} + w_t or a_t = w_t: either way w_t gets all of a_t's gradient)
            d_w = torch.bmm(d_gates.unsqueeze(1), hg_gates_t).squeeze(1) + d_w_out[t] + d_a
            w = w_all[t]
            d_scores = w * (d_w - (d_w * w).sum(1, keepdim=True))
            d_gbias += d_scores.sum()
            # the attention's hidden layer, recomputed: storing it for all steps would be the
            # largest tensor of a training step ((S, B, T, A) floats)
            windows = unfold_windows(a_prev_all[t], kernel).reshape(batch * length, kernel)
            u = torch.addmm((proj + q_all[t].unsqueeze(1)).view(-1, att_dim), windows, w_loc_t).tanh_()
            d_gvec.addmv_(u.t(), d_scores.view(-1))
            d_hidden = u.mul_(u).neg_().add_(1.0).view(batch, length, att_dim)
            d_hidden.mul_(d_scores.unsqueeze(2)).mul_(gvec)  # in place: u is not needed any more
            torch.sum(d_hidden, dim=1, out=d_qg_all[t, :, :att_dim])
            d_proj += d_hidden
            d_w_loc.addmm_(d_hidden.view(-1, att_dim).t(), windows)
            d_a_prev = fold_windows(d_hidden @ w_loc)
            d_a = d_a + d_a_prev if ctx.cumulate else d_a_prev
            d_h = torch.addmm(d_h_prev, d_qg_all[t], w_qh)
            d_c = d_c_prev

        z_prev_all = torch.cat([z_all.new_zeros(1, batch, units), z_all[:-1]])
        d_w_qh = d_qg_all.view(steps * batch, -1).t() @ z_prev_all.view(steps * batch, units)
        d_read = torch.cat([d_ctx, d_qg_all[:, :, att_dim:].transpose(0, 1)], dim=2)  # (B, S, E + G)
        d_hg = torch.bmm(w_all.permute(1, 2, 0), d_read)
        d_x_gates = d_qg_all[:, :, att_dim:].transpose(0, 1)
        return (d_hg, d_proj, d_x_gates, d_w_qh, d_w_loc, d_gvec, d_gbias,
                None, None, None, None, None)
