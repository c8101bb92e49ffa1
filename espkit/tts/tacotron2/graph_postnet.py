"""The Tacotron2 postnet described by a graph YAML (``postnet_type: graph``, docs/graphs.md).

The graph's component reads ``feats`` ``(B, odim, T_feats)`` (the decoder's frames, channels first
as :class:`~espkit.tts.tacotron2.decoder.Postnet` convolves them) and, if it declares
``lengths: feats_lengths``, the frame counts ``(B,)`` for its length-aware layers; it returns the
residual ``(B, odim, T_feats)``. As with ``Postnet``, padded frames of the residual are zeroed and it
is added to the frames (:meth:`GraphPostnet.refine`).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import torch
from torch import nn

from espkit.nets.graph.adapter import dry_run_one_output, load_component

#: the batch keys of the postnet's graph
POSTNET_INPUT = "feats"
POSTNET_LENGTHS = "feats_lengths"
_DRY_RUN_FRAMES = (7, 5)


class GraphPostnet(nn.Module):
    """A postnet built from a graph: the residual of ``(B, odim, T_feats)`` frames.

    Args:
        odim: feature size.
        architecture: the graph: a YAML file path or its mapping.
        component: which of the file's model components is the postnet (None: the only one).
        source: how messages name an inline graph.

    Raises:
        GraphSpecError: the graph is wrong, reads other inputs, or does not keep ``(B, odim, T_feats)``.
    """

    def __init__(
        self,
        odim: int,
        architecture: str | Mapping[str, Any],
        component: Optional[str] = None,
        source: str = "postnet_architecture",
    ):
        super().__init__()
        self.graph = load_component(architecture, source, component, "postnet", [POSTNET_INPUT], POSTNET_LENGTHS)
        self.input_key = POSTNET_INPUT
        self.lengths_key = self.graph.lengths_key
        frames = max(_DRY_RUN_FRAMES)
        example = {
            POSTNET_INPUT: torch.randn(len(_DRY_RUN_FRAMES), odim, frames, generator=torch.Generator().manual_seed(0)),
            POSTNET_LENGTHS: torch.tensor(_DRY_RUN_FRAMES),
        }
        shape = tuple(example[POSTNET_INPUT].shape)
        dry_run_one_output(
            self.graph,
            example,
            POSTNET_INPUT,
            "a postnet input",
            f"the postnet must return one residual of its input's shape (B, odim={odim}, T_feats)",
            lambda out_shape: out_shape == shape,
        )

    def forward(self, xs: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Residual ``(B, odim, T_feats)`` of frames ``xs`` ``(B, odim, T_feats)`` with ``lengths`` ``(B,)``."""
        inputs: Dict[str, torch.Tensor] = {self.input_key: xs}
        if lengths is not None and self.lengths_key != "":
            inputs[self.lengths_key] = lengths
        return self.graph(inputs)[0]

    @torch.jit.export
    def refine(self, before_outs: torch.Tensor, pad_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Frames ``(B, T_feats, odim)`` plus their residual. ``pad_mask`` ``(B, T_feats, 1)`` is True at
        padded frames (zero in ``before_outs``), which stay zero."""
        if pad_mask is None:
            return before_outs + self.forward(before_outs.transpose(1, 2), None).transpose(1, 2)
        keep = (~pad_mask).transpose(1, 2)  # (B, 1, T_feats)
        lengths = keep.sum(dim=2).squeeze(1)
        residual = self.forward(before_outs.transpose(1, 2), lengths) * keep
        return before_outs + residual.transpose(1, 2)
