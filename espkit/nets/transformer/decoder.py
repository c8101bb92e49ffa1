"""Transformer decoder (masked self-attention, source attention, feed-forward), with a cache.

:class:`Decoder` runs a whole teacher-forced sequence at once (:meth:`Decoder.forward`, with
the subsequent mask of :func:`~espkit.nets.masks.subsequent_mask`), or one position at a time
(:meth:`Decoder.forward_step`) keeping each layer's projected self-attention keys/values and
the projected source keys/values (lists of tensors, so that TorchScript runs it too), so that a
step costs one query instead of the whole prefix. :meth:`Decoder.forward_prefix` is the uncached reference of a
step (the whole prefix again); the two agree to rounding.
"""

from __future__ import annotations

import torch
from torch import nn

from espkit.nets.masks import subsequent_mask
from espkit.nets.transformer.attention import MultiHeadedAttention
from espkit.nets.transformer.embedding import PositionalEncoding, ScaledPositionalEncoding
from espkit.nets.transformer.positionwise import PositionwiseFeedForward


class DecoderLayer(nn.Module):
    """Masked self-attention, source attention and a feed-forward, each in a residual branch.

    Args:
        size: feature size.
        self_attn, src_attn: the attention modules.
        feed_forward: the feed-forward module (called as ``feed_forward(x)``).
        dropout_rate: dropout on each branch's output.
        normalize_before: pre-norm branches (else post-norm).
        concat_after: combine an attention's input and output by ``Linear(cat(x, att))``.
    """

    def __init__(
        self,
        size: int,
        self_attn: MultiHeadedAttention,
        src_attn: MultiHeadedAttention,
        feed_forward: nn.Module,
        dropout_rate: float,
        normalize_before: bool = True,
        concat_after: bool = False,
    ):
        super().__init__()
        self.size = size
        self.self_attn = self_attn
        self.src_attn = src_attn
        self.feed_forward = feed_forward
        self.norm1 = nn.LayerNorm(size)
        self.norm2 = nn.LayerNorm(size)
        self.norm3 = nn.LayerNorm(size)
        self.dropout = nn.Dropout(dropout_rate)
        self.normalize_before = normalize_before
        self.concat_self = nn.Linear(size * 2, size) if concat_after else None
        self.concat_src = nn.Linear(size * 2, size) if concat_after else None

    def _norm(self, x: torch.Tensor, which: int) -> torch.Tensor:
        if which == 1:
            return self.norm1(x)
        if which == 2:
            return self.norm2(x)
        return self.norm3(x)

    def _pre(self, x: torch.Tensor, which: int) -> torch.Tensor:
        """The input of branch ``which`` (1: self-attention, 2: source attention, 3: feed-forward)."""
        return self._norm(x, which) if self.normalize_before else x

    def _post(self, x: torch.Tensor, which: int) -> torch.Tensor:
        """The output of branch ``which`` after its residual sum."""
        return x if self.normalize_before else self._norm(x, which)

    def _after_self(self, residual: torch.Tensor, q: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        """Residual sum of the self-attention branch (input ``q``, output ``att``), post-normed."""
        if self.concat_self is not None:
            x = residual + self.concat_self(torch.cat([q, att], dim=-1))
        else:
            x = residual + self.dropout(att)
        return self._post(x, 1)

    def _after_src(self, residual: torch.Tensor, q: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        """Residual sum of the source-attention branch, post-normed."""
        if self.concat_src is not None:
            x = residual + self.concat_src(torch.cat([q, att], dim=-1))
        else:
            x = residual + self.dropout(att)
        return self._post(x, 2)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._post(x + self.dropout(self.feed_forward(self._pre(x, 3))), 3)

    def forward(
        self,
        x: torch.Tensor,
        tgt_mask: torch.Tensor | None,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Whole sequence.

        Args:
            x: ``(B, T, size)``; tgt_mask: ``(B, T, T)`` True where attending is allowed.
            memory: ``(B, T_src, size)``; memory_mask: ``(B, 1, T_src)`` True at real positions.

        Returns:
            ``(B, T, size)``, self-attention weights ``(B, n_head, T, T)`` and source-attention
            weights ``(B, n_head, T, T_src)``.
        """
        q = self._pre(x, 1)
        att, self_w = self.self_attn.forward_with_weights(q, q, q, tgt_mask)
        x = self._after_self(x, q, att)
        q = self._pre(x, 2)
        att, src_w = self.src_attn.forward_with_weights(q, memory, memory, memory_mask)
        x = self._after_src(x, q, att)
        return self._feed_forward(x), self_w, src_w

    def forward_step(
        self,
        x: torch.Tensor,
        self_k: torch.Tensor,
        self_v: torch.Tensor,
        src_k: torch.Tensor,
        src_v: torch.Tensor,
        memory_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One new position ``x`` ``(B, 1, size)`` from the cache.

        Args:
            self_k, self_v: the self-attention keys/values of the earlier positions ``(B, n_head, t, d_k)``.
            src_k, src_v: the projected source (:meth:`MultiHeadedAttention.project_kv` of the memory).

        Returns:
            ``(B, 1, size)``, the keys/values extended by this position and the source-attention
            weights ``(B, n_head, 1, T_src)``.
        """
        q = self._pre(x, 1)
        k, v = self.self_attn.project_kv(q, q)
        self_k = torch.cat([self_k, k], dim=2)
        self_v = torch.cat([self_v, v], dim=2)
        att, _ = self.self_attn.attend(q, self_k, self_v, None)
        x = self._after_self(x, q, att)
        q = self._pre(x, 2)
        att, src_w = self.src_attn.attend(q, src_k, src_v, memory_mask)
        x = self._after_src(x, q, att)
        return self._feed_forward(x), self_k, self_v, src_w


class Decoder(nn.Module):
    """Input layer, positional encoding, ``num_blocks`` :class:`DecoderLayer` s (and a final
    LayerNorm with ``normalize_before``).

    Args:
        attention_dim: model size.
        attention_heads: heads of each attention.
        linear_units: hidden size of the feed-forwards (``Linear -> ReLU -> Linear``).
        num_blocks: number of layers.
        dropout_rate: dropout of the residual branches.
        positional_dropout_rate: dropout after the positional encoding.
        self_attention_dropout_rate, src_attention_dropout_rate: dropout on attention weights.
        input_layer: maps the inputs ``(B, T, D_in)`` to ``(B, T, attention_dim)`` (e.g. a
            prenet); None: the inputs are already ``attention_dim``-sized.
        pos_enc_class: :class:`PositionalEncoding` or :class:`ScaledPositionalEncoding`.
        normalize_before, concat_after: see :class:`DecoderLayer`.
    """

    def __init__(
        self,
        attention_dim: int = 256,
        attention_heads: int = 4,
        linear_units: int = 2048,
        num_blocks: int = 6,
        dropout_rate: float = 0.1,
        positional_dropout_rate: float = 0.1,
        self_attention_dropout_rate: float = 0.0,
        src_attention_dropout_rate: float = 0.0,
        input_layer: nn.Module | None = None,
        pos_enc_class: type[nn.Module] = PositionalEncoding,
        normalize_before: bool = True,
        concat_after: bool = False,
    ):
        super().__init__()
        if pos_enc_class not in (PositionalEncoding, ScaledPositionalEncoding):
            raise ValueError(
                f"pos_enc_class must be PositionalEncoding or ScaledPositionalEncoding, got {pos_enc_class}"
            )
        self.input_layer = input_layer if input_layer is not None else nn.Identity()
        self.pos_enc = pos_enc_class(attention_dim, positional_dropout_rate)
        self.decoders = nn.ModuleList(
            DecoderLayer(
                attention_dim,
                MultiHeadedAttention(attention_heads, attention_dim, self_attention_dropout_rate),
                MultiHeadedAttention(attention_heads, attention_dim, src_attention_dropout_rate),
                PositionwiseFeedForward(attention_dim, linear_units, dropout_rate),
                dropout_rate,
                normalize_before,
                concat_after,
            )
            for _ in range(num_blocks)
        )
        self.after_norm = nn.LayerNorm(attention_dim) if normalize_before else None

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_norm(x) if self.after_norm is not None else x

    def forward(
        self,
        xs: torch.Tensor,
        tgt_mask: torch.Tensor | None,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Teacher-forced pass.

        Args:
            xs: inputs ``(B, T, D_in)``.
            tgt_mask: ``(B, T, T)`` True where attending is allowed (padding and
                :func:`~espkit.nets.masks.subsequent_mask`); None: the subsequent mask alone.
            memory: ``(B, T_src, attention_dim)``; memory_mask: ``(B, 1, T_src)``.

        Returns:
            ``(B, T, attention_dim)`` and per layer the self-attention ``(B, n_head, T, T)`` and
            source-attention ``(B, n_head, T, T_src)`` weights.
        """
        if tgt_mask is None:
            tgt_mask = subsequent_mask(xs.size(1), xs.device).unsqueeze(0)
        x = self.pos_enc(self.input_layer(xs))
        self_ws, src_ws = [], []
        for layer in self.decoders:
            x, self_w, src_w = layer(x, tgt_mask, memory, memory_mask)
            self_ws.append(self_w)
            src_ws.append(src_w)
        return self._finish(x), self_ws, src_ws

    def init_cache(
        self, memory: torch.Tensor
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Empty caches for :meth:`forward_step` on ``memory`` ``(B, T_src, attention_dim)``: per layer
        the (empty) self-attention keys and values and the projected source keys and values."""
        self_ks: list[torch.Tensor] = []
        self_vs: list[torch.Tensor] = []
        src_ks: list[torch.Tensor] = []
        src_vs: list[torch.Tensor] = []
        for layer in self.decoders:
            k, v = layer.src_attn.project_kv(memory, memory)
            empty = k.new_zeros(k.size(0), k.size(1), 0, k.size(3))
            self_ks.append(empty)
            self_vs.append(empty)
            src_ks.append(k)
            src_vs.append(v)
        return self_ks, self_vs, src_ks, src_vs

    def forward_step(
        self,
        embedded: torch.Tensor,
        self_ks: list[torch.Tensor],
        self_vs: list[torch.Tensor],
        src_ks: list[torch.Tensor],
        src_vs: list[torch.Tensor],
        memory_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """The next position from the caches of :meth:`init_cache`.

        Args:
            embedded: the new input after :attr:`input_layer` ``(B, 1, attention_dim)``.
            self_ks, self_vs, src_ks, src_vs: the caches (their length is the position).
            memory_mask: ``(B, 1, T_src)`` or None.

        Returns:
            ``(B, 1, attention_dim)``, the extended self-attention keys and values, and per layer the
            source-attention weights ``(B, n_head, 1, T_src)``.
        """
        x = self.pos_enc(embedded, self_ks[0].size(2))
        new_ks: list[torch.Tensor] = []
        new_vs: list[torch.Tensor] = []
        src_ws: list[torch.Tensor] = []
        for i, layer in enumerate(self.decoders):
            x, k, v, src_w = layer.forward_step(x, self_ks[i], self_vs[i], src_ks[i], src_vs[i], memory_mask)
            new_ks.append(k)
            new_vs.append(v)
            src_ws.append(src_w)
        return self._finish(x), new_ks, new_vs, src_ws

    def forward_prefix(
        self, embedded: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Uncached reference of :meth:`forward_step`: the whole prefix ``embedded``
        ``(B, t, attention_dim)`` (after :attr:`input_layer`) again; returns the last position
        ``(B, 1, attention_dim)`` and its source-attention weights per layer ``(B, n_head, 1, T_src)``."""
        mask = subsequent_mask(embedded.size(1), embedded.device).unsqueeze(0)
        x = self.pos_enc(embedded)
        src_ws = []
        for layer in self.decoders:
            x, _, src_w = layer(x, mask, memory, memory_mask)
            src_ws.append(src_w[:, :, -1:])
        return self._finish(x[:, -1:]), src_ws
