"""What every Tacotron2 decoding loop does the same way, as small scriptable functions.

The eager step loop (:class:`~espkit.tts.tacotron2.decoder.Decoder`), the scripted loop
(:func:`~espkit.tts.tacotron2.fused_decoding.free_run_steps`, which the fused path and the
TorchScript export both run) call these instead of restating them: the output activation, the stop
rule and the assembly of a decoded utterance. (The attention's initial weights and forward-attention
update are in :mod:`~espkit.tts.tacotron2.attention`.)
"""

from __future__ import annotations

from typing import List, Tuple

import torch

#: Names of the output activations (``output_activation``; None or "none": no activation). Adding one
#: here means adding it to :func:`activate`, which every path calls; the tests run each name on the
#: stepwise, fused and exported paths.
OUTPUT_ACTIVATIONS = ("tanh", "sigmoid", "relu")


def activate(x: torch.Tensor, name: str) -> torch.Tensor:
    """The output activation ``name`` (a name of :data:`OUTPUT_ACTIVATIONS` or ``"none"``) of ``x``."""
    if name == "none":
        return x
    if name == "tanh":
        return torch.tanh(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "relu":
        return torch.relu(x)
    raise ValueError("unknown output activation: " + name)


def length_bounds(text_len: int, minlenratio: float, maxlenratio: float) -> Tuple[int, int]:
    """``(minlen, maxlen)`` in frames of free-running decoding for ``text_len`` encoder states."""
    return int(text_len * minlenratio), max(int(text_len * maxlenratio), 1)


def frames_to_keep(prob: torch.Tensor, threshold: float, num_frames: int, minlen: int) -> int:
    """The stop rule of free-running decoding, after a step that brought the output to ``num_frames``.

    ``prob`` ``(r,)``: the step's stop probabilities. Once ``num_frames >= minlen``, the first of them
    ``>= threshold`` ends the output at its frame: returns the number of frames to keep; -1 to go on.
    """
    if num_frames < minlen:
        return -1
    stops = (prob >= threshold).nonzero()
    if stops.numel() == 0:
        return -1
    return num_frames - prob.size(0) + int(stops[0, 0]) + 1


def assemble_steps(
    outs: List[torch.Tensor], probs: List[torch.Tensor], att_ws: List[torch.Tensor], num_frames: int
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A decoded utterance from its steps' ``(r, odim)`` frames, ``(r,)`` stop probabilities and
    ``(1, T_text)`` attention weights, cut at ``num_frames``.

    Returns ``before_outs`` ``(1, num_frames, odim)`` (before the postnet), ``probs`` ``(num_frames,)``
    and attention weights ``(num_frames, T_text)`` (each step's weights repeated for its frames).
    """
    r = outs[0].size(0)
    before_outs = torch.cat(outs, dim=0)[:num_frames].unsqueeze(0)
    att_w_frames = torch.cat(att_ws, dim=0).repeat_interleave(r, dim=0)[:num_frames]
    return before_outs, torch.cat(probs)[:num_frames], att_w_frames
