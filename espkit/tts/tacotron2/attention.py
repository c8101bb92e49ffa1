"""Attention of the Tacotron2 decoder over the encoder states (``atype: location|forward``).

Both modules are stateless: :meth:`AttLoc.prepare` projects the encoder states once per
utterance batch into an :class:`AttMemory`, which every decoder step then reuses.

Each class says, in :attr:`AttLoc.fused_step`, which attention step of the scripted decoding loop
(:mod:`~espkit.tts.tacotron2.fused_decoding`) restates it; the fused path and the TorchScript export
check it instead of guessing from the class. The module-level functions are the pieces that loop
shares with the classes (scriptable).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple, Optional

import torch
from torch import nn
from torch.nn import functional as F

from espkit.nets.masks import make_pad_mask

ATTENTION_TYPES = ("location", "forward")


class AttMemory(NamedTuple):
    """What the attention looks at, computed once by :meth:`AttLoc.prepare`.

    Attributes:
        hs: encoder states ``(B, T_text, eprojs)``.
        proj: their projection ``(B, T_text, att_dim)``.
        pad_mask: ``(B, T_text)``, True at padded positions.
    """

    hs: torch.Tensor
    proj: torch.Tensor
    pad_mask: torch.Tensor


def window_mask(
    num_positions: int,
    last_attended_idx: int,
    backward_window: int,
    forward_window: int,
    device: torch.device,
) -> torch.Tensor:
    """``(num_positions,)`` boolean, True OUTSIDE ``[last - backward, last + forward]``.

    Used at inference (``use_att_constraint``) to keep the attention near its last peak.
    """
    positions = torch.arange(num_positions, device=device)
    return (positions < last_attended_idx - backward_window) | (positions > last_attended_idx + forward_window)


def uniform_weights(pad_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(B, T_text)`` weights spread evenly over the real positions of ``pad_mask`` ``(B, T_text)``."""
    keep = (~pad_mask).to(dtype)
    return keep / keep.sum(dim=1, keepdim=True)


def first_position_weights(pad_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(B, T_text)`` weights all on the first position."""
    weights = torch.zeros(pad_mask.shape, dtype=dtype, device=pad_mask.device)
    weights[:, 0] = 1.0
    return weights


def forward_attention_update(att_prev: torch.Tensor, step_w: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
    """Forward attention's weights ``(B, T_text)``: the previous weights ``att_prev``, staying or moved
    one position right, times this step's softmax ``step_w``, renormalised (``pad_mask`` True at padding)."""
    shifted = F.pad(att_prev[:, :-1], [1, 0])
    att_w = (att_prev + shifted) * step_w + 1.0e-8 * (~pad_mask)
    return att_w / att_w.sum(dim=1, keepdim=True)


class AttLoc(nn.Module):
    """Location-sensitive attention (Chorowski et al., 2015), as in Tacotron2.

    ``e_t = w^T tanh(W h + V s_{t-1} + U (F * a_{t-1}) + b)``; ``a_t = softmax(scaling * e_t)``
    over the real (non-padded) text positions, where ``a_{t-1}`` is the previous (or the
    cumulative) attention weights and ``F`` a 1-d convolution.

    Args:
        eprojs: size of the encoder states.
        dunits: size of the decoder query (first decoder LSTM's state).
        att_dim: size of the attention space.
        aconv_chans: channels of the location convolution.
        aconv_filts: half-width of the location convolution (kernel ``2 * aconv_filts + 1``).
        scaling: sharpness of the softmax.
    """

    #: Which attention step the scripted loop (:func:`~espkit.tts.tacotron2.fused_decoding.
    #: free_run_steps`) runs for this class: ``"location"`` (this class), ``"forward"``
    #: (:class:`AttForward`) or None (none: only the eager step loop runs it). The teacher-forced
    #: fused node covers ``"location"`` only. A subclass that does not set it gets None (see
    #: ``__init_subclass__``): one that changes the step must not run as its parent's formula.
    fused_step: ClassVar[Optional[str]] = "location"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "fused_step" not in cls.__dict__:
            cls.fused_step = None

    def __init__(
        self,
        eprojs: int,
        dunits: int,
        att_dim: int,
        aconv_chans: int,
        aconv_filts: int,
        scaling: float = 2.0,
    ):
        super().__init__()
        self.mlp_enc = nn.Linear(eprojs, att_dim)
        self.mlp_dec = nn.Linear(dunits, att_dim, bias=False)
        self.mlp_att = nn.Linear(aconv_chans, att_dim, bias=False)
        self.loc_conv = nn.Conv1d(1, aconv_chans, 2 * aconv_filts + 1, padding=aconv_filts, bias=False)
        self.gvec = nn.Linear(att_dim, 1)
        self.scaling = scaling

    def prepare(self, hs: torch.Tensor, hlens: torch.Tensor) -> AttMemory:
        """Project encoder states ``(B, T_text, eprojs)`` once for all decoder steps."""
        pad_mask = make_pad_mask(hlens.to(hs.device), hs.size(1))
        return AttMemory(hs=hs, proj=self.mlp_enc(hs), pad_mask=pad_mask)

    def initial_weights(self, memory: AttMemory) -> torch.Tensor:
        """Attention weights before the first step ``(B, T_text)``: uniform over real text."""
        return uniform_weights(memory.pad_mask, memory.proj.dtype)

    def fused_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The scores' weights folded for the fused loops: ``mlp_att . loc_conv`` as one
        ``(att_dim, kernel)`` matrix (both are linear and bias-free), and the score vector
        ``(att_dim,)`` and bias ``()`` times ``scaling``. (The bias shifts all of an utterance's
        scores alike, which the softmax ignores: the teacher-forced node leaves it out.)"""
        w_loc = self.mlp_att.weight @ self.loc_conv.weight[:, 0, :]
        return w_loc, self.gvec.weight[0] * self.scaling, self.gvec.bias[0] * self.scaling

    def energies(self, memory: AttMemory, dec_z: torch.Tensor, att_prev: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores ``(B, T_text)``."""
        loc = self.loc_conv(att_prev.unsqueeze(1)).transpose(1, 2)  # (B, T_text, aconv_chans)
        hidden = memory.proj + self.mlp_dec(dec_z).unsqueeze(1) + self.mlp_att(loc)
        return self.gvec(torch.tanh(hidden)).squeeze(-1)

    def masked_softmax(
        self,
        memory: AttMemory,
        energies: torch.Tensor,
        last_attended_idx: int | None,
        backward_window: int,
        forward_window: int,
    ) -> torch.Tensor:
        """Softmax of ``scaling * energies`` over unmasked positions ``(B, T_text)``."""
        mask = memory.pad_mask
        if last_attended_idx is not None:
            outside = window_mask(
                energies.size(1),
                last_attended_idx,
                backward_window,
                forward_window,
                energies.device,
            )
            mask = mask | outside.unsqueeze(0)
        scores = (self.scaling * energies).masked_fill(mask, float("-inf"))
        return F.softmax(scores, dim=1)

    def forward(
        self,
        memory: AttMemory,
        dec_z: torch.Tensor,
        att_prev: torch.Tensor,
        last_attended_idx: int | None = None,
        backward_window: int = 1,
        forward_window: int = 3,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step.

        Args:
            memory: from :meth:`prepare`.
            dec_z: decoder query ``(B, dunits)``.
            att_prev: previous (or cumulative) weights ``(B, T_text)``.
            last_attended_idx: when given (inference with ``use_att_constraint``), only
                positions in ``[last - backward_window, last + forward_window]`` are attended.

        Returns:
            context ``(B, eprojs)`` and weights ``(B, T_text)``.
        """
        energies = self.energies(memory, dec_z, att_prev)
        att_w = self.masked_softmax(memory, energies, last_attended_idx, backward_window, forward_window)
        context = torch.bmm(att_w.unsqueeze(1), memory.hs).squeeze(1)
        return context, att_w


class AttForward(AttLoc):
    """Forward attention (Zhang et al., 2018) on top of location-sensitive scores.

    The alignment can only stay or move one position per step:
    ``a_t = normalize((a_{t-1} + shift_right(a_{t-1})) * softmax(e_t))``, starting from all
    weight on the first position. ``att_prev`` must be the previous weights (not cumulative).
    """

    fused_step: ClassVar[Optional[str]] = "forward"

    def initial_weights(self, memory: AttMemory) -> torch.Tensor:
        """All weight on the first text position ``(B, T_text)``."""
        return first_position_weights(memory.pad_mask, memory.proj.dtype)

    def forward(
        self,
        memory: AttMemory,
        dec_z: torch.Tensor,
        att_prev: torch.Tensor,
        last_attended_idx: int | None = None,
        backward_window: int = 1,
        forward_window: int = 3,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step; same arguments and returns as :meth:`AttLoc.forward`."""
        energies = self.energies(memory, dec_z, att_prev)
        step_w = self.masked_softmax(memory, energies, last_attended_idx, backward_window, forward_window)
        att_w = forward_attention_update(att_prev, step_w, memory.pad_mask)
        context = torch.bmm(att_w.unsqueeze(1), memory.hs).squeeze(1)
        return context, att_w


def build_attention(atype: str, eprojs: int, dunits: int, att_dim: int, aconv_chans: int, aconv_filts: int) -> AttLoc:
    """Attention module for ``atype`` (one of :data:`ATTENTION_TYPES`)."""
    if atype == "location":
        return AttLoc(eprojs, dunits, att_dim, aconv_chans, aconv_filts)
    if atype == "forward":
        return AttForward(eprojs, dunits, att_dim, aconv_chans, aconv_filts)
    raise ValueError(f"atype must be one of {ATTENTION_TYPES}, got {atype!r}")
