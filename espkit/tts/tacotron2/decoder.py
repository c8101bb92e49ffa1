"""Tacotron2 autoregressive decoder: prenet, zoneout LSTM stack, projections and postnet."""

from __future__ import annotations

import logging

import torch
from torch import nn
from torch.nn import functional as F

from espkit.layers.dropout import Dropout, dropout
from espkit.nets.masks import make_pad_mask
from espkit.tts.fast_path import choose_impl
from espkit.tts.tacotron2.attention import AttLoc, AttMemory
from espkit.tts.tacotron2.decoding_rules import (
    OUTPUT_ACTIVATIONS,
    activate,
    assemble_steps,
    frames_to_keep,
    length_bounds,
)
from espkit.tts.tacotron2.fused_decoding import (
    conditioned_gate_bias,
    fold_decoder,
    free_run_steps,
    gate_memory,
    loop_config,
)
from espkit.tts.tacotron2.fused_recurrence import LocationLSTMRecurrence, compiled
from espkit.tts.tacotron2.graph_postnet import GraphPostnet
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["OUTPUT_ACTIVATIONS", "Decoder", "Postnet", "Prenet", "ZoneOutLSTMCell"]


def _autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` (torch < 2.4 has no device argument)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return device_type == "cuda" and torch.is_autocast_enabled()


class Prenet(nn.Module):
    """``n_layers`` of ``Linear -> ReLU -> Dropout`` on the previous output frame.

    As in Tacotron2, the dropout stays on at inference: it is the model's source of
    variation and it is what the decoder was trained with. Set :attr:`always_dropout` to
    False (e.g. in tests) to let it follow ``train()``/``eval()`` like ordinary dropout.

    Args:
        idim: input size (``odim`` of the features).
        n_layers: number of layers.
        n_units: units per layer.
        dropout_rate: dropout probability.
    """

    def __init__(self, idim: int, n_layers: int = 2, n_units: int = 256, dropout_rate: float = 0.5):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(idim if i == 0 else n_units, n_units) for i in range(n_layers))
        self.dropout_rate = dropout_rate
        self.always_dropout = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., idim)`` -> ``(..., n_units)``."""
        apply_dropout = self.always_dropout or self.training
        for layer in self.layers:
            x = dropout(torch.relu(layer(x)), self.dropout_rate, training=apply_dropout)
        return x


class Postnet(nn.Module):
    """Convolution stack predicting a residual added to the decoder's frames.

    Blocks are ``Conv1d -> BatchNorm1d (optional) -> Tanh -> Dropout``; the last block has
    no tanh and maps back to ``odim`` channels.

    Args:
        odim: feature size.
        n_layers: number of convolutions (>= 1).
        n_chans: channels of the hidden convolutions.
        n_filts: kernel size (odd).
        use_batch_norm: batch normalisation after each convolution.
        dropout_rate: dropout after each block.
    """

    def __init__(
        self,
        odim: int,
        n_layers: int = 5,
        n_chans: int = 512,
        n_filts: int = 5,
        use_batch_norm: bool = True,
        dropout_rate: float = 0.5,
    ):
        super().__init__()
        if n_filts % 2 == 0:
            raise ValueError(f"postnet_filts must be odd so that lengths are kept, got {n_filts}")
        blocks = []
        for i in range(n_layers):
            in_chans = odim if i == 0 else n_chans
            out_chans = odim if i == n_layers - 1 else n_chans
            block: list[nn.Module] = [
                nn.Conv1d(
                    in_chans,
                    out_chans,
                    n_filts,
                    padding=(n_filts - 1) // 2,
                    bias=not use_batch_norm,
                )
            ]
            if use_batch_norm:
                block.append(nn.BatchNorm1d(out_chans))
            if i < n_layers - 1:
                block.append(nn.Tanh())
            block.append(Dropout(dropout_rate))
            blocks.append(nn.Sequential(*block))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, xs: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Residual ``(B, odim, T_feats)`` for frames ``(B, odim, T_feats)``.

        ``keep`` ``(B, 1, T_feats)`` (True at real frames) zeroes padded frames after every
        block, so that padding does not leak into real frames through the convolutions.
        """
        for block in self.blocks:
            xs = block(xs)
            if keep is not None:
                xs = xs * keep
        return xs

    def refine(self, before_outs: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Frames ``(B, T_feats, odim)`` plus their residual. ``pad_mask`` ``(B, T_feats, 1)`` is
        True at padded frames (zero in ``before_outs``), which stay zero."""
        keep = None if pad_mask is None else (~pad_mask).transpose(1, 2)
        return before_outs + self.forward(before_outs.transpose(1, 2), keep).transpose(1, 2)


class ZoneOutLSTMCell(nn.Module):
    """``nn.LSTMCell`` whose hidden and cell states are zoned out (Krueger et al., 2016).

    In training, each unit keeps its previous value with probability ``zoneout_rate``; in
    eval, the new state is ``rate * previous + (1 - rate) * new``.
    """

    def __init__(self, input_size: int, hidden_size: int, zoneout_rate: float = 0.1):
        super().__init__()
        if not 0.0 <= zoneout_rate < 1.0:
            raise ValueError(f"zoneout_rate must be in [0, 1), got {zoneout_rate}")
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.zoneout_rate = zoneout_rate

    def forward(
        self,
        x: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        keep: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, input_size)``, ``state`` ``(h, c)`` each ``(B, hidden_size)``.

        ``keep`` ``(2, B, hidden_size)``: weights of the previous ``h`` and ``c`` drawn in
        advance by :meth:`keep_weights` (the decoder draws all steps at once); None draws
        them here.
        """
        h_new, c_new = self.cell(x, state)
        if keep is None:
            if self.zoneout_rate == 0.0:
                return h_new, c_new
            keep = self.keep_weights(1, h_new)[0]
        return torch.lerp(h_new, state[0], keep[0]), torch.lerp(c_new, state[1], keep[1])

    def keep_weights(self, num_steps: int, ref: torch.Tensor) -> torch.Tensor:
        """Zoneout weights ``(num_steps, 2, B, hidden_size)`` of the previous ``h`` and ``c``:
        a state is ``lerp(new, previous, weight)``. In training each weight is 1 with
        probability ``zoneout_rate`` (else 0); in eval every weight is the rate."""
        shape = (num_steps, 2) + tuple(ref.shape)
        rate = self.zoneout_rate
        if self.training and rate > 0.0:
            return torch.rand(shape, device=ref.device).lt_(rate).to(ref.dtype)
        return ref.new_full(shape, rate)


class Decoder(nn.Module):
    """Attention-based autoregressive decoder producing ``reduction_factor`` frames a step.

    Each step: attention context ``c_t`` from the first LSTM's previous state; LSTM stack on
    ``cat(c_t, prenet(previous frame), cond)``; ``cat(z_t, c_t)`` (``use_concate``) is
    projected to ``r`` frames and ``r`` stop logits. The postnet then refines all frames.

    Two implementations of the loops (``decoder_impl``, see :mod:`espkit.tts.fast_path`): the
    step loops below, module by module through autograd (``stepwise``, the reference, any
    set-up), and the fused loops (``fused``: teacher forcing as one
    :class:`~espkit.tts.tacotron2.fused_recurrence.LocationLSTMRecurrence` node, free running
    as :func:`~espkit.tts.tacotron2.fused_decoding.free_run_steps`), which cover one LSTM layer
    with an attention whose ``fused_step`` is ``location`` and do not run under autocast
    (``auto`` then takes the step loops).

    Args:
        eprojs: size of the encoder states the attention reads.
        odim: feature size.
        att: attention module (:class:`~espkit.tts.tacotron2.attention.AttLoc` or subclass).
        dlayers: decoder LSTM layers.
        dunits: decoder LSTM units.
        prenet_layers: prenet layers (0: previous frame fed directly).
        prenet_units: prenet units.
        postnet_layers: postnet convolutions (0: no postnet).
        postnet_chans: postnet channels.
        postnet_filts: postnet kernel size.
        output_activation: None or a name in :data:`OUTPUT_ACTIVATIONS`.
        cumulate_att_w: feed the running sum of attention weights to the attention.
        use_batch_norm: batch norm in the postnet.
        use_concate: project ``cat(z_t, c_t)`` instead of ``z_t``.
        dropout_rate: prenet and postnet dropout.
        zoneout_rate: zoneout of the LSTM states.
        reduction_factor: frames per decoder step.
        cond_dim: size of an extra per-utterance vector appended to the LSTM input
            (e.g. an emotion embedding); 0 for none.
        decoder_impl: ``auto``, ``stepwise`` or ``fused`` (see above and :meth:`set_impl`).
        torchscript: run the fused loops as TorchScript (False: the same functions in Python).
        postnet_architecture: a graph (YAML file path or mapping) to use as the postnet
            (:class:`~espkit.tts.tacotron2.graph_postnet.GraphPostnet`) instead of the ``postnet_*`` stack.
    """

    def __init__(
        self,
        eprojs: int,
        odim: int,
        att: AttLoc,
        dlayers: int = 2,
        dunits: int = 1024,
        prenet_layers: int = 2,
        prenet_units: int = 256,
        postnet_layers: int = 5,
        postnet_chans: int = 512,
        postnet_filts: int = 5,
        output_activation: str | None = None,
        cumulate_att_w: bool = True,
        use_batch_norm: bool = True,
        use_concate: bool = True,
        dropout_rate: float = 0.5,
        zoneout_rate: float = 0.1,
        reduction_factor: int = 1,
        cond_dim: int = 0,
        decoder_impl: str = "auto",
        torchscript: bool = True,
        postnet_architecture: str | dict | None = None,
    ):
        super().__init__()
        if output_activation is not None and output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be None or one of {sorted(OUTPUT_ACTIVATIONS)}, got {output_activation!r}"
            )
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {reduction_factor}")
        self.odim = odim
        self.att = att
        self.dlayers = dlayers
        self.dunits = dunits
        self.cond_dim = cond_dim
        self.cumulate_att_w = cumulate_att_w
        self.use_concate = use_concate
        self.reduction_factor = reduction_factor
        self.output_activation = output_activation
        self.prenet = Prenet(odim, prenet_layers, prenet_units, dropout_rate)
        prenet_out = prenet_units if prenet_layers > 0 else odim
        self.lstm = nn.ModuleList(
            ZoneOutLSTMCell(eprojs + prenet_out + cond_dim if i == 0 else dunits, dunits, zoneout_rate)
            for i in range(dlayers)
        )
        proj_in = dunits + eprojs if use_concate else dunits
        self.feat_out = nn.Linear(proj_in, odim * reduction_factor, bias=False)
        self.prob_out = nn.Linear(proj_in, reduction_factor)
        self.postnet = None
        if postnet_architecture is not None:
            self.postnet = GraphPostnet(odim, postnet_architecture)
        elif postnet_layers > 0:
            self.postnet = Postnet(odim, postnet_layers, postnet_chans, postnet_filts, use_batch_norm, dropout_rate)
        self.set_impl(decoder_impl, torchscript)

    def fused_blockers(self) -> list[str]:
        """What keeps the fused loops from this decoder's set-up (empty: nothing)."""
        blockers = []
        att_class = type(self.att)
        if att_class.fused_step != "location":
            blockers.append(
                f"the attention is {att_class.__name__} (fused_step={att_class.fused_step!r}); the "
                f"fused loops implement location-sensitive attention (AttLoc) only"
            )
        if self.dlayers != 1:
            blockers.append(f"dlayers={self.dlayers}; the fused loops have one decoder LSTM layer")
        return blockers

    def set_impl(self, decoder_impl: str, torchscript: bool = True) -> None:
        """Choose the loops: ``decoder_impl`` ``auto`` (fused where covered, else stepwise),
        ``stepwise`` or ``fused`` (a ConfigError naming :meth:`fused_blockers` if it does not
        cover this set-up); ``torchscript``: the fused loops as TorchScript, else in Python.
        Logs the choice."""
        self.fused = choose_impl("decoder_impl", decoder_impl, self.fused_blockers(), "Tacotron2 decoder")
        self.decoder_impl = decoder_impl
        self.torchscript = torchscript

    def uses_fused(self, ref: torch.Tensor) -> bool:
        """Whether a call on ``ref``'s device runs the fused loops now: the chosen implementation,
        except under autocast (which ``decoder_impl: fused`` refuses)."""
        if not self.fused:
            return False
        if _autocast_enabled(ref.device.type):
            if self.decoder_impl == "fused":
                raise ConfigError(
                    "decoder_impl: fused does not run under autocast (use_amp): its loops compute in "
                    "the weights' dtype; use decoder_impl: auto (stepwise under autocast)"
                )
            return False
        return True

    def _activate(self, x: torch.Tensor) -> torch.Tensor:
        return activate(x, self.output_activation or "none")

    def _initial_states(self, ref: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        batch_size = ref.size(0)
        zeros = ref.new_zeros(batch_size, self.dunits)
        return [zeros] * self.dlayers, [zeros] * self.dlayers

    def _step(
        self,
        att_c: torch.Tensor,
        prenet_out: torch.Tensor,
        cond: torch.Tensor | None,
        z_list: list[torch.Tensor],
        c_list: list[torch.Tensor],
        keep: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Advance the LSTM stack in place; returns the projection input ``(B, proj_in)``.

        ``keep``: per layer, its zoneout weights ``(2, B, dunits)`` of this step (None: drawn here).
        """
        parts = [att_c, prenet_out] if cond is None else [att_c, prenet_out, cond]
        x = torch.cat(parts, dim=-1)
        for i, cell in enumerate(self.lstm):
            z_list[i], c_list[i] = cell(x, (z_list[i], c_list[i]), None if keep is None else keep[i])
            x = z_list[i]
        return torch.cat([x, att_c], dim=-1) if self.use_concate else x

    def _postnet(self, before_outs: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T_feats, odim)`` -> refined ``(B, T_feats, odim)`` (both before activation).

        ``pad_mask`` ``(B, T_feats, 1)`` is True at padded frames, which stay zero.
        """
        if self.postnet is None:
            return before_outs
        return self.postnet.refine(before_outs, pad_mask)

    def forward(
        self,
        hs: torch.Tensor,
        hlens: torch.Tensor,
        ys: torch.Tensor,
        olens: torch.Tensor,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced decoding of a padded batch.

        Args:
            hs: encoder states ``(B, T_text, eprojs)``.
            hlens: ``(B,)``.
            ys: target frames ``(B, T_feats, odim)`` with ``T_feats`` a multiple of
                ``reduction_factor``; step ``t`` is fed frame ``t * r - 1`` (the last frame of
                the previous group), step 0 a zero frame.
            olens: real lengths ``(B,)``; decoder frames past them are zeroed before and
                inside the postnet so that padding does not leak into real frames.
            cond: per-utterance vector ``(B, cond_dim)`` or None.

        Returns:
            ``after_outs`` ``(B, T_feats, odim)``, ``before_outs`` ``(B, T_feats, odim)``,
            stop ``logits`` ``(B, T_feats)`` and attention weights ``(B, T_feats // r, T_text)``.
        """
        r = self.reduction_factor
        if ys.size(1) % r != 0:
            raise ValueError(f"ys length {ys.size(1)} is not a multiple of reduction_factor {r}")
        batch_size, num_steps = ys.size(0), ys.size(1) // r
        memory = self.att.prepare(hs, hlens)
        last_of_groups = ys[:, r - 1 :: r]  # (B, num_steps, odim)
        prev_frames = torch.cat([ys.new_zeros(batch_size, 1, self.odim), last_of_groups[:, :-1]], dim=1)
        prenet_outs = self.prenet(prev_frames)  # (B, num_steps, prenet_out)
        att_init = self.att.initial_weights(memory)
        # zoneout weights of every step, drawn at once: per layer (num_steps, 2, B, dunits)
        keep = [cell.keep_weights(num_steps, hs.new_empty(batch_size, self.dunits)) for cell in self.lstm]
        if self.uses_fused(hs):
            proj_in, att_ws = self._fused_recurrence(memory, prenet_outs, cond, att_init, keep[0])
        else:
            proj_in, att_ws = self._stepwise_recurrence(memory, prenet_outs, cond, att_init, keep)
        before_outs = self.feat_out(proj_in).reshape(batch_size, num_steps * r, self.odim)
        logits = self.prob_out(proj_in).reshape(batch_size, num_steps * r)
        pad_mask = make_pad_mask(olens.to(ys.device), num_steps * r).unsqueeze(-1)
        before_outs = before_outs.masked_fill(pad_mask, 0.0)
        after_outs = self._postnet(before_outs, pad_mask)
        return self._activate(after_outs), self._activate(before_outs), logits, att_ws

    def _stepwise_recurrence(
        self,
        memory: AttMemory,
        prenet_outs: torch.Tensor,
        cond: torch.Tensor | None,
        att_init: torch.Tensor,
        keep: list[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder loop through autograd, one step at a time (any set-up); ``keep``: per layer,
        the zoneout weights ``(num_steps, 2, B, dunits)``.

        Returns the projection inputs ``(B, num_steps, proj_in)`` and attention weights
        ``(B, num_steps, T_text)``.
        """
        z_list, c_list = self._initial_states(memory.hs)
        att_prev = att_init
        proj_inputs, att_ws = [], []
        for t in range(prenet_outs.size(1)):
            att_c, att_w = self.att(memory, z_list[0], att_prev)
            proj_inputs.append(self._step(att_c, prenet_outs[:, t], cond, z_list, c_list, [k[t] for k in keep]))
            att_ws.append(att_w)
            att_prev = att_prev + att_w if self.cumulate_att_w else att_w
        return torch.stack(proj_inputs, dim=1), torch.stack(att_ws, dim=1)

    def _fused_recurrence(
        self,
        memory: AttMemory,
        prenet_outs: torch.Tensor,
        cond: torch.Tensor | None,
        att_init: torch.Tensor,
        keep: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same result as :meth:`_stepwise_recurrence` for one LSTM layer and location attention,
        computed by :class:`LocationLSTMRecurrence` (``keep`` ``(num_steps, 2, B, dunits)``)."""
        w = fold_decoder(self)
        hg = gate_memory(memory.hs, w.w_ctx)
        gate_bias = conditioned_gate_bias(w.gate_bias, cond, w.w_cond)
        x_gates = F.linear(prenet_outs, w.w_pre) + gate_bias.unsqueeze(-2)  # (B, num_steps, 4 dunits)
        z, att_c, att_ws = LocationLSTMRecurrence.apply(
            hg,
            memory.proj,
            x_gates,
            w.w_qh,
            w.w_loc,
            w.gvec,
            memory.pad_mask,
            att_init,
            keep[:, 0],
            keep[:, 1],
            self.cumulate_att_w,
            self.torchscript,
        )
        # The score bias gvec.bias shifts every score of an utterance alike, which the softmax
        # ignores: the node leaves it out. Adding it times zero keeps it in the graph with an exact
        # zero gradient (DistributedDataParallel wants a gradient for every parameter).
        att_ws = att_ws + 0.0 * w.gbias
        return (torch.cat([z, att_c], dim=-1) if self.use_concate else z), att_ws

    def inference(
        self,
        h: torch.Tensor,
        cond: torch.Tensor | None = None,
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
        use_att_constraint: bool = False,
        backward_window: int = 1,
        forward_window: int = 3,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Free-running decoding of one utterance (call under ``torch.no_grad()``).

        Stops after the first decoder step (past ``minlenratio * T_text`` frames) whose group
        has a stop probability ``>= threshold``; the output ends at the first such frame. At
        ``maxlenratio * T_text`` frames it stops anyway and logs a warning.

        Args:
            h: encoder states ``(T_text, eprojs)``.
            cond: ``(cond_dim,)`` or None.

        Returns:
            ``outs`` ``(T_feats, odim)``, stop ``probs`` ``(T_feats,)`` and attention
            weights ``(T_feats, T_text)`` (each decoder step's weights repeated for its frames).
        """
        text_len = h.size(0)
        minlen, maxlen = length_bounds(text_len, minlenratio, maxlenratio)
        window = (backward_window, forward_window) if use_att_constraint else None
        run = self._fused_free_run if self.uses_fused(h) else self._stepwise_free_run
        outs, probs, att_ws, num_frames, stopped = run(h, cond, threshold, minlen, maxlen, window)
        if not stopped:
            logger.warning(
                "reached maxlen (%d frames = maxlenratio %s x %d tokens) without a stop probability >= %s",
                maxlen,
                maxlenratio,
                text_len,
                threshold,
            )
        before_outs, probs_kept, att_w_frames = assemble_steps(outs, probs, att_ws, num_frames)
        return self._activate(self._postnet(before_outs))[0], probs_kept, att_w_frames

    def _stepwise_free_run(
        self,
        h: torch.Tensor,
        cond: torch.Tensor | None,
        threshold: float,
        minlen: int,
        maxlen: int,
        window: tuple[int, int] | None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], int, bool]:
        """Free-running decoding, one module call at a time (any set-up).

        Returns per step the ``(r, odim)`` frames, ``(r,)`` stop probabilities and ``(1, T_text)``
        attention weights, the number of frames to keep and whether a stop probability fired.
        """
        r = self.reduction_factor
        text_len = h.size(0)
        memory = self.att.prepare(h.unsqueeze(0), torch.tensor([text_len], device=h.device))
        cond_b = None if cond is None else cond.unsqueeze(0)
        z_list, c_list = self._initial_states(memory.hs)
        att_prev = self.att.initial_weights(memory)
        prev_frame = h.new_zeros(1, self.odim)
        last_attended_idx = 0 if window is not None else None
        backward_window, forward_window = window if window is not None else (1, 3)
        outs, probs, att_ws = [], [], []
        num_frames = 0
        while True:
            att_c, att_w = self.att(memory, z_list[0], att_prev, last_attended_idx, backward_window, forward_window)
            proj_in = self._step(att_c, self.prenet(prev_frame), cond_b, z_list, c_list)
            frames = self.feat_out(proj_in).reshape(r, self.odim)
            prob = torch.sigmoid(self.prob_out(proj_in)).reshape(r)
            outs.append(frames)
            probs.append(prob)
            att_ws.append(att_w)
            num_frames += r
            prev_frame = self._activate(frames[-1:])
            att_prev = att_prev + att_w if self.cumulate_att_w else att_w
            if window is not None:
                last_attended_idx = int(att_w.argmax())
            kept = frames_to_keep(prob, threshold, num_frames, minlen)
            if kept >= 0:
                return outs, probs, att_ws, kept, True
            if num_frames >= maxlen:
                return outs, probs, att_ws, num_frames, False

    def _fused_free_run(
        self,
        h: torch.Tensor,
        cond: torch.Tensor | None,
        threshold: float,
        minlen: int,
        maxlen: int,
        window: tuple[int, int] | None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], int, bool]:
        """:meth:`_stepwise_free_run` for one LSTM layer and location attention, run by
        :func:`~espkit.tts.tacotron2.fused_decoding.free_run_steps` on the folded weights. Same
        draws of the prenet dropout, same result."""
        return compiled(free_run_steps, self.torchscript)(
            h,
            cond,
            fold_decoder(self),
            loop_config(self),
            float(threshold),
            minlen,
            maxlen,
            window is not None,
            *(window if window is not None else (1, 3)),
        )
