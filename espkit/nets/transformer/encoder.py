"""Transformer encoder (self-attention blocks); FastSpeech also uses it as its decoder."""

from __future__ import annotations

import torch
from torch import nn

from espkit.nets.transformer.attention import MultiHeadedAttention
from espkit.nets.transformer.embedding import PositionalEncoding, ScaledPositionalEncoding
from espkit.nets.transformer.positionwise import build_positionwise

INPUT_LAYERS = ("embed", "linear", None)


class EncoderLayer(nn.Module):
    """Self-attention then a position-wise feed-forward, each in a residual branch.

    Args:
        size: feature size.
        self_attn: the attention module.
        feed_forward: the feed-forward module (called as ``feed_forward(x, mask)``).
        dropout_rate: dropout on each branch's output.
        normalize_before: LayerNorm at the start of each branch (pre-norm); otherwise after
            each residual sum (post-norm).
        concat_after: combine the attention input and output by ``Linear(cat(x, att(x)))``
            instead of adding the attention output.
    """

    def __init__(
        self,
        size: int,
        self_attn: MultiHeadedAttention,
        feed_forward: nn.Module,
        dropout_rate: float,
        normalize_before: bool = True,
        concat_after: bool = False,
    ):
        super().__init__()
        self.size = size
        self.self_attn = self_attn
        self.feed_forward = feed_forward
        self.norm1 = nn.LayerNorm(size)
        self.norm2 = nn.LayerNorm(size)
        self.dropout = nn.Dropout(dropout_rate)
        self.normalize_before = normalize_before
        self.concat_after = concat_after
        self.concat_linear = nn.Linear(size * 2, size) if concat_after else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(B, T, size)``, ``mask`` ``(B, 1, T)`` True at real frames -> ``(x, mask)``."""
        out, _ = self.forward_with_weights(x, mask)
        return out, mask

    def forward_with_weights(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward`'s output and the self-attention weights ``(B, n_head, T, T)``."""
        residual = x
        if self.normalize_before:
            x = self.norm1(x)
        att, weights = self.self_attn.forward_with_weights(x, x, x, mask)
        if self.concat_linear is not None:
            x = residual + self.concat_linear(torch.cat([x, att], dim=-1))
        else:
            x = residual + self.dropout(att)
        if not self.normalize_before:
            x = self.norm1(x)

        residual = x
        if self.normalize_before:
            x = self.norm2(x)
        x = residual + self.dropout(self.feed_forward(x, mask))
        if not self.normalize_before:
            x = self.norm2(x)
        return x, weights


class Encoder(nn.Module):
    """Input layer, positional encoding and ``num_blocks`` :class:`EncoderLayer` s.

    Args:
        idim: vocabulary size (``input_layer="embed"``) or input feature size (``"linear"``);
            unused with ``input_layer=None`` (the input is already ``attention_dim``-sized).
        attention_dim: model size.
        attention_heads: heads of each self-attention.
        linear_units: hidden size of the feed-forwards.
        num_blocks: number of layers.
        dropout_rate: dropout of the residual branches (and of the ``linear`` input layer).
        positional_dropout_rate: dropout after the positional encoding.
        attention_dropout_rate: dropout on the attention weights.
        input_layer: ``embed`` (token ids ``(B, T)``), ``linear`` (features ``(B, T, idim)``)
            or None.
        normalize_before: pre-norm layers, plus a final LayerNorm after the last layer.
        concat_after: see :class:`EncoderLayer`.
        positionwise_layer_type: ``linear``, ``conv1d`` or ``conv1d-linear``.
        positionwise_conv_kernel_size: kernel of the convolutional feed-forwards (odd).
        pos_enc_class: :class:`PositionalEncoding` or :class:`ScaledPositionalEncoding`.
        padding_idx: embedding row of padding (``input_layer="embed"``).
    """

    def __init__(
        self,
        idim: int,
        attention_dim: int = 256,
        attention_heads: int = 4,
        linear_units: int = 2048,
        num_blocks: int = 6,
        dropout_rate: float = 0.1,
        positional_dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.0,
        input_layer: str | None = "embed",
        normalize_before: bool = True,
        concat_after: bool = False,
        positionwise_layer_type: str = "linear",
        positionwise_conv_kernel_size: int = 1,
        pos_enc_class: type[nn.Module] = PositionalEncoding,
        padding_idx: int = 0,
    ):
        super().__init__()
        if input_layer not in INPUT_LAYERS:
            raise ValueError(f"input_layer must be one of {INPUT_LAYERS}, got {input_layer!r}")
        if pos_enc_class not in (PositionalEncoding, ScaledPositionalEncoding):
            raise ValueError(
                f"pos_enc_class must be PositionalEncoding or ScaledPositionalEncoding, got {pos_enc_class}"
            )
        pos_enc = pos_enc_class(attention_dim, positional_dropout_rate)
        if input_layer == "embed":
            self.embed = nn.Sequential(nn.Embedding(idim, attention_dim, padding_idx=padding_idx), pos_enc)
        elif input_layer == "linear":
            self.embed = nn.Sequential(
                nn.Linear(idim, attention_dim),
                nn.LayerNorm(attention_dim),
                nn.Dropout(dropout_rate),
                nn.ReLU(),
                pos_enc,
            )
        else:
            self.embed = nn.Sequential(pos_enc)
        self.encoders = nn.ModuleList(
            EncoderLayer(
                attention_dim,
                MultiHeadedAttention(attention_heads, attention_dim, attention_dropout_rate),
                build_positionwise(
                    positionwise_layer_type, attention_dim, linear_units, positionwise_conv_kernel_size, dropout_rate
                ),
                dropout_rate,
                normalize_before,
                concat_after,
            )
            for _ in range(num_blocks)
        )
        self.normalize_before = normalize_before
        self.after_norm = nn.LayerNorm(attention_dim) if normalize_before else None

    def forward(self, xs: torch.Tensor, masks: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode a padded batch.

        Args:
            xs: ``(B, T)`` token ids, ``(B, T, idim)`` features or ``(B, T, attention_dim)``
                states, as ``input_layer`` says.
            masks: ``(B, 1, T)`` True at real positions (None: no padding).

        Returns:
            ``(B, T, attention_dim)`` and ``masks``.
        """
        xs = self.embed(xs)
        for layer in self.encoders:
            xs, masks = layer(xs, masks)
        if self.after_norm is not None:
            xs = self.after_norm(xs)
        return xs, masks

    def forward_with_weights(
        self, xs: torch.Tensor, masks: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """:meth:`forward`'s states and each layer's self-attention weights ``(B, n_head, T, T)``."""
        xs = self.embed(xs)
        weights = []
        for layer in self.encoders:
            xs, w = layer.forward_with_weights(xs, masks)
            weights.append(w)
        if self.after_norm is not None:
            xs = self.after_norm(xs)
        return xs, weights
