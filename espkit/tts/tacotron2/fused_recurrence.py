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
  all weight gradients to a handful of large GEMMs after the loop;
- both step loops (:func:`forward_steps`, :func:`backward_steps`) write into preallocated
  buffers and run as TorchScript (compiled on first use), which halves the per-operator
  overhead of ~25 small operators per step. ``torchscript=False`` runs the same code in Python
  (the decoder's ``torchscript`` option; the tests check both agree).

Notation (shapes): ``B`` batch, ``S`` decoder steps, ``T`` text positions, ``E`` encoder
state size, ``H`` LSTM units, ``G = 4 H`` gates, ``A`` attention size, ``K`` location kernel.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Callable, Dict

import torch
from torch.nn import functional as F

logger = logging.getLogger(__name__)

#: The step loops compiled so far, by function name (or the function itself where scripting failed).
_SCRIPTED: Dict[str, Callable] = {}


def unfold_windows(att: torch.Tensor, kernel: int) -> torch.Tensor:
    """``(N, T)`` -> ``(N, T, kernel)`` zero-padded windows centred on each position."""
    pad = (kernel - 1) // 2
    return F.pad(att, [pad, pad]).unfold(-1, kernel, 1)


def fold_windows(windows: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`unfold_windows`: ``(N, T, kernel)`` -> ``(N, T)`` (overlap-add)."""
    batch, length, kernel = windows.shape
    pad = (kernel - 1) // 2
    summed = F.fold(windows.transpose(1, 2), [1, length + 2 * pad], [1, kernel])
    return summed.view(batch, length + 2 * pad)[:, pad : pad + length]


def forward_steps(
    hg: torch.Tensor,
    proj: torch.Tensor,
    x_gates: torch.Tensor,
    w_qh_t: torch.Tensor,
    w_loc_t: torch.Tensor,
    gvec: torch.Tensor,
    pad_mask: torch.Tensor,
    keep_h: torch.Tensor,
    keep_c: torch.Tensor,
    cumulate: bool,
    qh_all: torch.Tensor,
    read_all: torch.Tensor,
    act_all: torch.Tensor,
    tc_all: torch.Tensor,
    z_all: torch.Tensor,
    c_all: torch.Tensor,
    w_all: torch.Tensor,
    a_all: torch.Tensor,
) -> None:
    """The forward recurrence, writing every step's results into the ``*_all`` buffers
    (``(S, B, ...)``; ``a_all[0]`` holds the initial attention weights; ``x_gates`` is
    ``(S, B, G)``; ``w_qh_t``/``w_loc_t`` are the transposed weights, row-major)."""
    batch, length, att_dim = proj.shape
    steps, units = z_all.size(0), z_all.size(2)
    eprojs = hg.size(2) - 4 * units
    kernel = w_loc_t.size(0)
    z = torch.zeros_like(z_all[0])
    c = torch.zeros_like(c_all[0])
    qh_t = qh_all.unbind(0)
    q_t = qh_all[:, :, None, :att_dim].unbind(0)
    qg_t = qh_all[:, :, att_dim:].unbind(0)
    read_t = read_all.unsqueeze(2).unbind(0)
    gate_read_t = read_all[:, :, eprojs:].unbind(0)
    act_t = act_all.unbind(0)
    g_t = act_all[:, :, 2 * units : 3 * units].unbind(0)
    chunks_t = act_all.view(steps, batch, 4, units).unbind(0)
    w_t, a_t, x_t = w_all.unbind(0), a_all.unbind(0), x_gates.unbind(0)
    tc_t, z_t, c_t = tc_all.unbind(0), z_all.unbind(0), c_all.unbind(0)
    keep_h_t, keep_c_t = keep_h.unbind(0), keep_c.unbind(0)
    for t in range(steps):
        a = a_t[t]
        torch.mm(z, w_qh_t, out=qh_t[t])  # read below through the views q_t and qg_t
        hidden = (proj + q_t[t]).view(-1, att_dim)
        hidden.addmm_(unfold_windows(a, kernel).reshape(-1, kernel), w_loc_t).tanh_()
        scores = torch.mv(hidden, gvec).view(batch, length).masked_fill_(pad_mask, float("-inf"))
        w = torch.softmax(scores, 1, out=w_t[t])
        torch.bmm(w.unsqueeze(1), hg, out=read_t[t])
        gates = torch.add(gate_read_t[t], x_t[t]).add_(qg_t[t])
        torch.sigmoid(gates, out=act_t[t])
        torch.tanh(gates[:, 2 * units : 3 * units], out=g_t[t])
        ifgo = chunks_t[t].unbind(1)
        c_new = torch.addcmul(ifgo[1] * c, ifgo[0], ifgo[2])
        tc = torch.tanh(c_new, out=tc_t[t])
        z = torch.lerp(ifgo[3] * tc, z, keep_h_t[t], out=z_t[t])
        c = torch.lerp(c_new, c, keep_c_t[t], out=c_t[t])
        if t + 1 < steps:
            if cumulate:
                torch.add(a, w, out=a_t[t + 1])
            else:
                a_t[t + 1].copy_(w)


def backward_steps(
    hg_gates_t: torch.Tensor,
    proj: torch.Tensor,
    w_qh: torch.Tensor,
    w_loc: torch.Tensor,
    w_loc_t: torch.Tensor,
    gvec: torch.Tensor,
    keep_h: torch.Tensor,
    keep_c: torch.Tensor,
    drop_h: torch.Tensor,
    drop_c: torch.Tensor,
    gate_factor: torch.Tensor,
    o_dtanh: torch.Tensor,
    f_all: torch.Tensor,
    qh_all: torch.Tensor,
    w_all: torch.Tensor,
    a_all: torch.Tensor,
    d_z_out: torch.Tensor,
    d_w_out: torch.Tensor,
    cumulate: bool,
    d_qg_all: torch.Tensor,
    d_proj: torch.Tensor,
    d_gvec: torch.Tensor,
    d_w_loc: torch.Tensor,
) -> None:
    """The recurrence in reverse: fills ``d_qg_all`` ``(S, B, A + G)`` with the gradients of
    each step's query and gates and accumulates ``d_proj``, ``d_gvec`` and ``d_w_loc``.

    ``gate_factor`` ``(S, B, 4, H)`` and ``o_dtanh`` ``(S, B, H)`` are the gradient-independent
    factors of the LSTM's backward (see :meth:`LocationLSTMRecurrence.backward`)."""
    batch, length, att_dim = proj.shape
    steps, units = keep_h.size(0), keep_h.size(2)
    kernel = w_loc.size(1)
    d_h = torch.zeros_like(keep_h[0])  # from the uses of h_t at step t + 1
    d_c = torch.zeros_like(keep_h[0])
    d_a = torch.zeros_like(w_all[0])
    d_qg_t = d_qg_all.unbind(0)
    d_gates_t = d_qg_all[:, :, att_dim:].view(steps, batch, 4, units).unbind(0)
    d_q_t = d_qg_all[:, :, :att_dim].unbind(0)
    factor_t, factor_o_t = gate_factor[:, :, :3].unbind(0), gate_factor[:, :, 3].unbind(0)
    q_t = qh_all[:, :, None, :att_dim].unbind(0)
    d_z_t, d_w_out_t, w_t, a_t = d_z_out.unbind(0), d_w_out.unbind(0), w_all.unbind(0), a_all.unbind(0)
    drop_h_t, drop_c_t, keep_h_t, keep_c_t = drop_h.unbind(0), drop_c.unbind(0), keep_h.unbind(0), keep_c.unbind(0)
    o_dtanh_t, f_t = o_dtanh.unbind(0), f_all.unbind(0)
    for t in range(steps - 1, -1, -1):
        d_h = d_h + d_z_t[t]
        # zoneout: state = lerp(new, prev, keep)
        d_h_new = d_h * drop_h_t[t]
        d_c_new = torch.addcmul(d_c * drop_c_t[t], d_h_new, o_dtanh_t[t])
        d_gates = d_gates_t[t]
        torch.mul(d_c_new.unsqueeze(1), factor_t[t], out=d_gates[:, :3])
        torch.mul(d_h_new, factor_o_t[t], out=d_gates[:, 3])
        d_c = torch.addcmul(d_c * keep_c_t[t], d_c_new, f_t[t])
        # attention weights: read from hg, fed forward in a, and the outside gradient
        # (a_t = a_{t-1} + w_t or a_t = w_t: either way w_t gets all of a_t's gradient)
        d_w = torch.baddbmm((d_w_out_t[t] + d_a).unsqueeze(1), d_gates.view(batch, 1, -1), hg_gates_t).squeeze(1)
        d_scores = torch.ops.aten._softmax_backward_data(d_w, w_t[t], 1, d_w.dtype)
        # the attention's hidden layer, recomputed: storing it for all steps would be the
        # largest tensor of a training step ((S, B, T, A) floats)
        windows = unfold_windows(a_t[t], kernel).reshape(-1, kernel)
        u = (proj + q_t[t]).view(-1, att_dim)
        u.addmm_(windows, w_loc_t).tanh_()
        d_gvec.addmv_(u.t(), d_scores.view(-1))
        d_u = (d_scores.unsqueeze(2) * gvec).view(-1, att_dim)
        d_hidden = torch.addcmul(d_u, d_u * u, u, value=-1.0)  # d_u (1 - u^2)
        d_hidden_3d = d_hidden.view(batch, length, att_dim)
        torch.sum(d_hidden_3d, dim=1, out=d_q_t[t])
        d_proj += d_hidden_3d
        d_w_loc.addmm_(d_hidden.t(), windows)
        d_a_prev = fold_windows((d_hidden @ w_loc).view(batch, length, kernel))
        d_a = d_a + d_a_prev if cumulate else d_a_prev
        d_h = torch.addmm(d_h * keep_h_t[t], d_qg_t[t], w_qh)


def _carve(like: torch.Tensor, *shapes: tuple[int, ...]) -> list[torch.Tensor]:
    """Uninitialised tensors of ``shapes`` (dtype and device of ``like``), views of one block."""
    sizes = [math.prod(shape) for shape in shapes]
    block = like.new_empty(sum(sizes))
    return [part.view(shape) for part, shape in zip(block.split(sizes), shapes)]


def compiled(function: Callable, torchscript: bool = True) -> Callable:
    """``function`` as TorchScript (compiled once per process), or itself when ``torchscript`` is
    False or scripting is not available."""
    if not torchscript:
        return function
    name = function.__name__
    if name not in _SCRIPTED:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch >= 2.9 marks TorchScript deprecated
                _SCRIPTED[name] = torch.jit.script(function)
        except Exception as exc:  # noqa: BLE001 - any scripting failure: the Python code is the same
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.warning("TorchScript of %s failed (%s); running it in Python", name, reason)
            _SCRIPTED[name] = function
    return _SCRIPTED[name]


class LocationLSTMRecurrence(torch.autograd.Function):
    """Forward: the teacher-forced recurrence; backward: its exact gradient (see module doc).

    ``apply(hg, proj, x_gates, w_qh, w_loc, gvec, pad_mask, att_init, keep_h, keep_c, cumulate,
    torchscript)`` with

    - ``hg`` ``(B, T, E + G)``: encoder states and their gate projection ``cat(hs, hs @ W_ctx^T)``;
    - ``proj`` ``(B, T, A)``: the attention's encoder projection;
    - ``x_gates`` ``(B, S, G)``: per-step gate input that does not depend on the recurrence
      (prenet output and conditioning through ``W_ih``, both LSTM biases);
    - ``w_qh`` ``(A + G, H)``: ``cat(W_dec, W_hh)``; ``w_loc`` ``(A, K)``: ``W_att @ W_conv``;
    - ``gvec`` ``(A,)``: the score vector, already times the softmax scaling (the score bias
      shifts every score of an utterance alike, which the softmax ignores: it is not an input);
    - ``pad_mask`` ``(B, T)`` True at padded text; ``att_init`` ``(B, T)`` initial weights;
    - ``keep_h``/``keep_c`` ``(S, B, H)``: zoneout weights of the previous state
      (``h_t = lerp(h_new, h_{t-1}, keep)``: 0/1 draws in training, the rate in eval);
    - ``cumulate``: feed the running sum of the attention weights (else the last weights);
    - ``torchscript``: run the step loops as TorchScript (False: the same functions in Python).

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
        pad_mask: torch.Tensor,
        att_init: torch.Tensor,
        keep_h: torch.Tensor,
        keep_c: torch.Tensor,
        cumulate: bool,
        torchscript: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, length, att_dim = proj.shape
        steps, units = x_gates.size(1), w_qh.size(1)
        eprojs = hg.size(2) - 4 * units
        # Each step writes its results straight into these (out= / in place): no copies. Those
        # kept for backward are views of one block, so that a step allocates one large tensor
        # instead of seven of batch-dependent sizes (which fragment the heap of a long run).
        read_all = proj.new_empty(steps, batch, eprojs + 4 * units)  # context | its gate input
        qh_all, act_all, tc_all, z_all, c_all, w_all, a_all = _carve(
            proj,
            (steps, batch, att_dim + 4 * units),  # attention query | recurrent gate input
            (steps, batch, 4 * units),  # i, f, g (tanh), o
            (steps, batch, units),  # tanh(c_new)
            (steps, batch, units),  # h_t after zoneout
            (steps, batch, units),  # c_t after zoneout
            (steps, batch, length),  # attention weights
            (steps, batch, length),  # attention input of each step
        )
        a_all[0] = att_init
        # (K, N) row-major copies: a GEMM with a small M runs about twice as fast on them
        compiled(forward_steps, torchscript)(
            hg,
            proj,
            x_gates.transpose(0, 1).contiguous(),
            w_qh.t().contiguous(),
            w_loc.t().contiguous(),
            gvec,
            pad_mask,
            keep_h,
            keep_c,
            cumulate,
            qh_all,
            read_all,
            act_all,
            tc_all,
            z_all,
            c_all,
            w_all,
            a_all,
        )
        ctx.save_for_backward(
            hg,
            proj,
            w_qh,
            w_loc,
            gvec,
            keep_h,
            keep_c,
            c_all,
            z_all,
            act_all,
            tc_all,
            qh_all,
            w_all,
            a_all,
        )
        ctx.cumulate = cumulate
        ctx.torchscript = torchscript
        return (
            z_all.transpose(0, 1).contiguous(),
            read_all[:, :, :eprojs].transpose(0, 1).contiguous(),
            w_all.transpose(0, 1).contiguous(),
        )

    @staticmethod
    def backward(ctx: Any, d_z: torch.Tensor, d_ctx: torch.Tensor, d_att: torch.Tensor):  # type: ignore[override]
        (hg, proj, w_qh, w_loc, gvec, keep_h, keep_c, c_all, z_all, act_all, tc_all, qh_all, w_all, a_all) = (
            ctx.saved_tensors
        )
        batch, length, att_dim = proj.shape
        steps, units = z_all.size(0), z_all.size(2)
        eprojs = hg.size(2) - 4 * units
        if d_z is None:
            d_z = z_all.new_zeros(batch, steps, units)
        if d_ctx is None:
            d_ctx = z_all.new_zeros(batch, steps, eprojs)
        # gradient reaching each step's weights from outside the loop: directly and via ctx
        d_w_out = torch.bmm(d_ctx, hg[:, :, :eprojs].transpose(1, 2))  # (B, S, T)
        if d_att is not None:
            d_w_out = d_w_out + d_att
        # Everything of the LSTM's backward that does not depend on the incoming gradient,
        # for all steps at once: d_gates = [d_c_new * m_i, d_c_new * m_f, d_c_new * m_g,
        # d_h_new * m_o] and d_c_new += d_h_new * o (1 - tc^2).
        i_all, f_all, g_all, o_all = act_all.chunk(4, dim=2)
        gate_factor, o_dtanh, drop_h, drop_c, d_qg_all = _carve(
            z_all,
            (steps, batch, 4, units),
            (steps, batch, units),
            (steps, batch, units),
            (steps, batch, units),
            (steps, batch, att_dim + 4 * units),
        )
        torch.mul(g_all * i_all, 1.0 - i_all, out=gate_factor[:, :, 0])
        c_prev_all = torch.cat([c_all.new_zeros(1, batch, units), c_all[:-1]])
        torch.mul(c_prev_all * f_all, 1.0 - f_all, out=gate_factor[:, :, 1])
        torch.mul(i_all, 1.0 - g_all * g_all, out=gate_factor[:, :, 2])
        torch.mul(tc_all * o_all, 1.0 - o_all, out=gate_factor[:, :, 3])
        torch.mul(o_all, 1.0 - tc_all * tc_all, out=o_dtanh)
        torch.sub(1.0, keep_h, out=drop_h)
        torch.sub(1.0, keep_c, out=drop_c)
        d_proj = torch.zeros_like(proj)
        d_gvec = gvec.new_zeros(att_dim)
        d_w_loc = torch.zeros_like(w_loc)
        compiled(backward_steps, ctx.torchscript)(
            hg[:, :, eprojs:].transpose(1, 2),
            proj,
            w_qh,
            w_loc,
            w_loc.t().contiguous(),
            gvec,
            keep_h,
            keep_c,
            drop_h,
            drop_c,
            gate_factor,
            o_dtanh,
            f_all,
            qh_all,
            w_all,
            a_all,
            d_z.transpose(0, 1).contiguous(),
            d_w_out.transpose(0, 1).contiguous(),
            ctx.cumulate,
            d_qg_all,
            d_proj,
            d_gvec,
            d_w_loc,
        )
        z_prev_all = torch.cat([z_all.new_zeros(1, batch, units), z_all[:-1]])
        d_w_qh = d_qg_all.view(steps * batch, -1).t() @ z_prev_all.view(steps * batch, units)
        d_read = torch.cat([d_ctx, d_qg_all[:, :, att_dim:].transpose(0, 1)], dim=2)  # (B, S, E + G)
        d_hg = torch.bmm(w_all.permute(1, 2, 0), d_read)
        d_x_gates = d_qg_all[:, :, att_dim:].transpose(0, 1)
        return d_hg, d_proj, d_x_gates, d_w_qh, d_w_loc, d_gvec, None, None, None, None, None, None
