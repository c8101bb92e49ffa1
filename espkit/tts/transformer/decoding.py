"""Free-running decoding of Transformer-TTS, shared by eager inference and the TorchScript export.

:class:`FreeRunDecoder` holds no weights of its own: it is built on the model's decoder and output
layers for each call (eager) or once for the export, so both run the same loop. The stop rule,
length bounds and assembly are Tacotron2's (:mod:`espkit.tts.tacotron2.decoding_rules`).
"""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn

from espkit.nets.transformer.decoder import Decoder
from espkit.tts.tacotron2.decoding_rules import assemble_steps, frames_to_keep


def select_duration_head(src_ws: torch.Tensor, num_layers: int, num_heads: int) -> torch.Tensor:
    """Of the first ``num_heads`` heads of the last ``num_layers`` layers of source-attention weights
    ``(dlayers, aheads, T_steps, T_text)``, the one with the highest focus rate (mean over steps of
    the peak weight): ``(T_steps, T_text)``."""
    heads = src_ws[src_ws.size(0) - num_layers :, :num_heads].reshape(-1, src_ws.size(2), src_ws.size(3))
    focus = heads.max(dim=-1)[0].mean(dim=-1)
    return heads[int(focus.argmax())]


class FreeRunDecoder(nn.Module):
    """``forward(hs (1, T_text, adim), threshold, minlen, maxlen, use_cache) -> (before_outs (1, T_feats,
    odim), probs (T_feats,), src_ws (dlayers, aheads, T_steps, T_text), stopped)``.

    Each step feeds the last frame of the previous step (zeros first) through the decoder's input
    layer (the prenet, once per frame), decodes one position (from the per-layer key/value caches, or
    with ``use_cache=False`` over the whole prefix again) and makes ``r`` frames and stop
    probabilities; it stops at the first stop probability ``>= threshold`` past ``minlen`` frames, or
    at ``maxlen`` frames (``stopped`` False).
    """

    def __init__(self, decoder: Decoder, feat_out: nn.Linear, prob_out: nn.Linear, odim: int, reduction_factor: int):
        super().__init__()
        self.decoder = decoder
        self.feat_out = feat_out
        self.prob_out = prob_out
        self.odim = odim
        self.reduction_factor = reduction_factor

    def forward(
        self, hs: torch.Tensor, threshold: float, minlen: int, maxlen: int, use_cache: bool = True
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
        r = self.reduction_factor
        self_ks, self_vs, src_ks, src_vs = self.decoder.init_cache(hs)
        embedded: List[torch.Tensor] = []
        prev = hs.new_zeros(1, 1, self.odim)
        outs: List[torch.Tensor] = []
        probs: List[torch.Tensor] = []
        step_ws: List[torch.Tensor] = []
        num_frames = 0
        stopped = False
        while True:
            e = self.decoder.input_layer(prev)
            if use_cache:
                z, self_ks, self_vs, src_ws = self.decoder.forward_step(e, self_ks, self_vs, src_ks, src_vs, None)
            else:
                embedded.append(e)
                z, src_ws = self.decoder.forward_prefix(torch.cat(embedded, dim=1), hs, None)
            frames = self.feat_out(z).view(r, self.odim)
            prob = torch.sigmoid(self.prob_out(z)).view(r)
            outs.append(frames)
            probs.append(prob)
            step_ws.append(torch.cat(src_ws, dim=0)[:, :, 0])  # (dlayers, aheads, T_text)
            num_frames += r
            keep = frames_to_keep(prob, threshold, num_frames, minlen)
            if keep >= 0:
                num_frames = keep
                stopped = True
                break
            if num_frames >= maxlen:
                num_frames = maxlen
                break
            prev = frames[-1:].view(1, 1, self.odim)
        before_outs, probs_kept, _ = assemble_steps(outs, probs, [w[0, :1] for w in step_ws], num_frames)
        num_steps = (num_frames + r - 1) // r
        return before_outs, probs_kept, torch.stack(step_ws[:num_steps], dim=2), stopped
