"""Reference encoder, optionally with global style tokens (``--emo_extract reference_encoder``).

Mel ``(B, T_feats, idim)`` -> 2-D conv stack (stride ``conv_stride`` on time and frequency,
batch norm, ReLU) -> GRU over the reduced time axis -> last hidden state. With
``use_gst=True`` the hidden state queries a multi-head attention over learned style tokens
(GST, Wang et al. 2018) and the attention output is the style embedding.

Padding never changes a real item's embedding: frames past each item's (stride-reduced)
length are zeroed before every convolution, so the convolutions see the same zeros a lone
item would get from zero padding; batch norm statistics skip them in training; and the GRU
runs on packed sequences.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.masked_batch_norm import MaskedBatchNorm2d
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


def _time_mask(lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Boolean ``(B, 1, num_frames, 1)``: True where ``t < lengths[b]``."""
    frames = torch.arange(num_frames, device=lengths.device)
    return (frames[None, :] < lengths[:, None])[:, None, :, None]


class StyleTokenLayer(nn.Module):
    """Multi-head attention from a reference embedding over learned style tokens.

    Args:
        query_dim: dimension of the reference embedding.
        gst_tokens: number of style tokens.
        gst_token_dim: attention output dimension (split over the heads).
        gst_heads: number of attention heads.
    """

    @typechecked
    def __init__(self, query_dim: int, gst_tokens: int = 10, gst_token_dim: int = 256, gst_heads: int = 4):
        super().__init__()
        if gst_tokens < 1 or gst_heads < 1:
            raise ValueError(f"gst_tokens and gst_heads must be >= 1, got {gst_tokens}, {gst_heads}")
        if gst_token_dim % gst_heads != 0:
            raise ValueError(f"gst_token_dim ({gst_token_dim}) must be divisible by gst_heads ({gst_heads})")
        self.gst_tokens = gst_tokens
        self.gst_heads = gst_heads
        self.gst_token_dim = gst_token_dim
        self.head_dim = gst_token_dim // gst_heads
        # The tokens pass through tanh wherever they are used (keys and values).
        self.style_tokens = nn.Parameter(torch.randn(gst_tokens, self.head_dim) * 0.5)
        self.linear_q = nn.Linear(query_dim, gst_token_dim)
        self.linear_k = nn.Linear(self.head_dim, gst_token_dim)
        self.linear_v = nn.Linear(self.head_dim, gst_token_dim)
        self.linear_out = nn.Linear(gst_token_dim, gst_token_dim)

    def _token_values(self) -> torch.Tensor:
        """Per-head token values ``(heads, gst_tokens, head_dim)``."""
        values = self.linear_v(torch.tanh(self.style_tokens))
        return values.view(self.gst_tokens, self.gst_heads, self.head_dim).transpose(0, 1)

    def attention_weights(self, query: torch.Tensor) -> torch.Tensor:
        """Token weights ``(B, heads, gst_tokens)`` for reference embeddings ``(B, query_dim)``."""
        q = self.linear_q(query).view(-1, self.gst_heads, 1, self.head_dim)
        k = self.linear_k(torch.tanh(self.style_tokens))
        k = k.view(self.gst_tokens, self.gst_heads, self.head_dim).transpose(0, 1)
        scores = torch.matmul(q, k.transpose(-1, -2)).squeeze(2) / math.sqrt(self.head_dim)
        return torch.softmax(scores, dim=-1)

    def from_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """Style embedding ``(B, gst_token_dim)`` from token weights.

        Args:
            weights: ``(B, heads, gst_tokens)``, or ``(B, gst_tokens)`` used by every head
                (e.g. a one-hot row to pick one token at inference).
        """
        if weights.dim() == 2:
            weights = weights[:, None, :].expand(-1, self.gst_heads, -1)
        if weights.shape[1:] != (self.gst_heads, self.gst_tokens):
            raise ValueError(
                f"token weights must be (B, {self.gst_heads}, {self.gst_tokens}) or "
                f"(B, {self.gst_tokens}), got {tuple(weights.shape)}"
            )
        heads = torch.einsum("bhn,hnd->bhd", weights, self._token_values())
        return self.linear_out(heads.reshape(weights.size(0), self.gst_token_dim))

    def forward(self, query: torch.Tensor) -> torch.Tensor:
        """Style embedding ``(B, gst_token_dim)`` for reference embeddings ``(B, query_dim)``."""
        return self.from_weights(self.attention_weights(query))


class ReferenceEncoder(AbsEmoExtract):
    """Conv + GRU reference encoder with optional global style tokens.

    Args:
        idim: mel dimension ``D``.
        conv_layers: number of 2-D conv layers.
        conv_chans_list: output channels of each conv layer (``conv_layers`` entries).
        conv_kernel_size: conv kernel size (time and frequency).
        conv_stride: conv stride (time and frequency).
        gru_layers: GRU layers.
        gru_units: GRU hidden units (the embedding size without GST / projection).
        use_gst: attend over global style tokens.
        gst_tokens: number of style tokens.
        gst_heads: attention heads of the style token layer.
        gst_token_dim: style embedding size.
        output_dim: if set, a final linear projection to this size.
    """

    @typechecked
    def __init__(
        self,
        idim: int = 80,
        conv_layers: int = 6,
        conv_chans_list: Sequence[int] = (32, 32, 64, 64, 128, 128),
        conv_kernel_size: int = 3,
        conv_stride: int = 2,
        gru_layers: int = 1,
        gru_units: int = 128,
        use_gst: bool = False,
        gst_tokens: int = 10,
        gst_heads: int = 4,
        gst_token_dim: int = 256,
        output_dim: int | None = None,
    ):
        super().__init__()
        if len(conv_chans_list) != conv_layers:
            raise ValueError(
                f"conv_chans_list has {len(conv_chans_list)} entries but "
                f"conv_layers={conv_layers}; give one channel count per conv layer"
            )
        if conv_kernel_size < 1 or conv_stride < 1 or gru_layers < 1 or gru_units < 1:
            raise ValueError(
                "conv_kernel_size, conv_stride, gru_layers and gru_units must be >= 1, got "
                f"{conv_kernel_size}, {conv_stride}, {gru_layers}, {gru_units}"
            )
        self.idim = idim
        self.conv_kernel_size = conv_kernel_size
        self.conv_stride = conv_stride
        self.conv_padding = conv_kernel_size // 2
        self.use_gst = use_gst

        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        in_chans = 1
        freq = idim
        for chans in conv_chans_list:
            self.convs.append(
                nn.Conv2d(
                    in_chans,
                    chans,
                    conv_kernel_size,
                    stride=conv_stride,
                    padding=self.conv_padding,
                    bias=False,
                )
            )
            self.norms.append(MaskedBatchNorm2d(chans))
            in_chans = chans
            freq = self._reduce(freq)
        if freq < 1:
            raise ValueError(f"idim={idim} is too small for {conv_layers} conv layers with stride {conv_stride}")
        gru_input = in_chans * freq
        self.gru = nn.GRU(gru_input, gru_units, num_layers=gru_layers, batch_first=True)

        embed_dim = gru_units
        self.stl: StyleTokenLayer | None = None
        if use_gst:
            self.stl = StyleTokenLayer(gru_units, gst_tokens, gst_token_dim, gst_heads)
            embed_dim = gst_token_dim
        self.projection: nn.Linear | None = None
        if output_dim is not None:
            self.projection = nn.Linear(embed_dim, output_dim)
            embed_dim = output_dim
        self._output_size = embed_dim

    def _reduce(self, size: int) -> int:
        """Size of an axis after one conv layer."""
        return (size + 2 * self.conv_padding - self.conv_kernel_size) // self.conv_stride + 1

    def output_size(self) -> int:
        return self._output_size

    def reference_embedding(self, feats: torch.Tensor, feats_lengths: torch.Tensor) -> torch.Tensor:
        """GRU summary ``(B, gru_units)`` of ``feats`` ``(B, T_feats, idim)``."""
        if feats.dim() != 3 or feats.size(-1) != self.idim:
            raise ValueError(f"feats must be (B, T_feats, {self.idim}), got {tuple(feats.shape)}")
        lengths = feats_lengths.to(feats.device).long().clamp(min=1)
        x = feats.unsqueeze(1)  # (B, 1, T, D)
        mask = _time_mask(lengths, x.size(2))
        x = x.masked_fill(~mask, 0.0)
        for conv, norm in zip(self.convs, self.norms):
            x = conv(x)
            lengths = self._reduce(lengths).clamp(min=1)
            mask = _time_mask(lengths, x.size(2))
            x = torch.relu(norm(x, mask)).masked_fill(~mask, 0.0)
        batch, chans, frames, freq = x.shape
        x = x.permute(0, 2, 1, 3).reshape(batch, frames, chans * freq)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        self.gru.flatten_parameters()
        _, hidden = self.gru(packed)
        return hidden[-1]

    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        pitch: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embedding ``(B, output_size())`` of mel ``feats`` ``(B, T_feats, idim)``.

        ``pitch`` and ``energy`` are not used.
        """
        embed = self.reference_embedding(feats, feats_lengths)
        if self.stl is not None:
            embed = self.stl(embed)
        if self.projection is not None:
            embed = self.projection(embed)
        return embed

    def style_from_token_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """Embedding ``(B, output_size())`` from GST weights.

        ``weights`` is ``(B, gst_heads, gst_tokens)`` or ``(B, gst_tokens)``. Lets inference
        pick or mix style tokens without a reference utterance.
        """
        if self.stl is None:
            raise ValueError("style_from_token_weights needs use_gst: true")
        embed = self.stl.from_weights(weights)
        if self.projection is not None:
            embed = self.projection(embed)
        return embed
