"""Multi-head scaled dot-product attention with a key padding mask."""

from __future__ import annotations

import math

import torch
from torch import nn


class MultiHeadedAttention(nn.Module):
    """``n_head`` heads of ``softmax(Q K^T / sqrt(d_k)) V`` over ``n_feat``-sized vectors.

    Masked keys get zero weight; a query whose keys are all masked attends to nothing (zero
    output) rather than producing NaNs. :meth:`weights` gives the attention weights.

    Args:
        n_head: number of heads (divides ``n_feat``).
        n_feat: feature size of queries, keys, values and output.
        dropout_rate: dropout on the attention weights.
    """

    def __init__(self, n_head: int, n_feat: int, dropout_rate: float = 0.0):
        super().__init__()
        if n_feat % n_head != 0:
            raise ValueError(f"attention size {n_feat} is not divisible by the number of heads {n_head}")
        self.d_k = n_feat // n_head
        self.h = n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)
        self.dropout = nn.Dropout(dropout_rate)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, n_feat)`` -> ``(B, n_head, T, d_k)``."""
        return x.view(x.size(0), -1, self.h, self.d_k).transpose(1, 2)

    def project_kv(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(B, T_k, n_feat)`` -> projected heads, each ``(B, n_head, T_k, d_k)``
        (what an incremental decoder caches)."""
        return self._heads(self.linear_k(key)), self._heads(self.linear_v(value))

    def attend(
        self, query: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``query`` ``(B, T_q, n_feat)`` to projected heads ``k``, ``v``
        ``(B, n_head, T_k, d_k)`` (:meth:`project_kv`).

        Returns:
            the output ``(B, T_q, n_feat)`` and the weights ``(B, n_head, T_q, T_k)`` (before dropout).
        """
        scores = torch.matmul(self._heads(self.linear_q(query)), k.transpose(-2, -1)) / math.sqrt(self.d_k)
        if mask is None:
            attn = torch.softmax(scores, dim=-1)
        else:
            blocked = mask.unsqueeze(1) == 0  # (B, 1, T_q or 1, T_k)
            # -1e4: exp() of it is exactly 0 in float32 and it fits float16 (torch.finfo is not
            # scriptable); the weights of masked keys are also zeroed after the softmax.
            scores = scores.masked_fill(blocked, -1.0e4)
            attn = torch.softmax(scores, dim=-1).masked_fill(blocked, 0.0)
        context = torch.matmul(self.dropout(attn), v)  # (B, h, T_q, d_k)
        context = context.transpose(1, 2).reshape(query.size(0), -1, self.h * self.d_k)
        return self.linear_out(context), attn

    def weights(self, query: torch.Tensor, key: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attention weights ``(B, n_head, T_q, T_k)`` (before dropout); see :meth:`forward`."""
        k, v = self.project_kv(key, key)
        return self.attend(query, k, v, mask)[1]

    def forward_with_weights(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` plus the weights ``(B, n_head, T_q, T_k)`` (before dropout)."""
        k, v = self.project_kv(key, value)
        return self.attend(query, k, v, mask)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from ``query`` ``(B, T_q, n_feat)`` to ``key``/``value`` ``(B, T_k, n_feat)``.

        Args:
            mask: ``(B, 1, T_k)`` or ``(B, T_q, T_k)`` boolean, True where a key may be attended.

        Returns:
            ``(B, T_q, n_feat)``.
        """
        return self.forward_with_weights(query, key, value, mask)[0]
