"""Tacotron2 training losses: feature regression + stop token, and guided attention."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from espkit.nets.masks import make_non_pad_mask, masked_mean


class Tacotron2Loss(nn.Module):
    """L1 and MSE on the frames before and after the postnet, and BCE on the stop logits.

    Args:
        use_masking: average over real frames only (elementwise over the batch).
        use_weighted_masking: average each utterance over its real frames, then average
            utterances (each utterance weighs the same). Takes precedence over
            ``use_masking``.
        bce_pos_weight: weight of the positive (stop) class in the BCE.
    """

    def __init__(
        self,
        use_masking: bool = True,
        use_weighted_masking: bool = False,
        bce_pos_weight: float = 5.0,
    ):
        super().__init__()
        self.use_masking = use_masking
        self.use_weighted_masking = use_weighted_masking
        self.bce_pos_weight = bce_pos_weight

    def forward(
        self,
        after_outs: torch.Tensor,
        before_outs: torch.Tensor,
        logits: torch.Tensor,
        ys: torch.Tensor,
        labels: torch.Tensor,
        olens: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Compute ``(l1_loss, mse_loss, bce_loss)``.

        Args:
            after_outs: ``(B, T_feats, odim)``.
            before_outs: ``(B, T_feats, odim)``.
            logits: stop logits ``(B, T_feats)``.
            ys: targets ``(B, T_feats, odim)``.
            labels: stop targets ``(B, T_feats)`` (1 from the last real frame on).
            olens: real lengths ``(B,)``.
        """
        l1 = F.l1_loss(after_outs, ys, reduction="none") + F.l1_loss(before_outs, ys, reduction="none")
        mse = F.mse_loss(after_outs, ys, reduction="none") + F.mse_loss(before_outs, ys, reduction="none")
        pos_weight = torch.tensor(self.bce_pos_weight, dtype=logits.dtype, device=logits.device)
        bce = F.binary_cross_entropy_with_logits(
            logits, labels.to(logits.dtype), pos_weight=pos_weight, reduction="none"
        )
        if self.use_weighted_masking or self.use_masking:
            keep = make_non_pad_mask(olens.to(ys.device), ys.size(1))
        else:
            keep = torch.ones(ys.shape[:2], dtype=torch.bool, device=ys.device)
        per_utterance = self.use_weighted_masking
        return (
            masked_mean(l1, keep, per_utterance),
            masked_mean(mse, keep, per_utterance),
            masked_mean(bce, keep, per_utterance),
        )


def guided_attention_weights(
    text_len: int, feats_len: int, sigma: float, device: torch.device | None = None
) -> torch.Tensor:
    """Penalty ``W[t, n] = 1 - exp(-(n / N - t / T)^2 / (2 sigma^2))`` ``(T, N)``.

    ``T = feats_len`` decoder steps, ``N = text_len`` tokens (Tachibana et al., 2017): near
    zero on the diagonal, near one far from it.
    """
    steps = torch.arange(feats_len, device=device, dtype=torch.float32) / feats_len
    tokens = torch.arange(text_len, device=device, dtype=torch.float32) / text_len
    diff = tokens[None, :] - steps[:, None]
    return 1.0 - torch.exp(-(diff**2) / (2.0 * sigma**2))


class GuidedAttentionLoss(nn.Module):
    """``alpha * mean(W * att_ws)`` over the real (step, token) pairs of a padded batch.

    Args:
        sigma: width of the diagonal band.
        alpha: loss weight.
    """

    def __init__(self, sigma: float = 0.4, alpha: float = 1.0):
        super().__init__()
        self.sigma = sigma
        self.alpha = alpha

    def forward(self, att_ws: torch.Tensor, ilens: torch.Tensor, olens: torch.Tensor) -> torch.Tensor:
        """Loss for attention weights ``(B, T_steps, T_text)``.

        Args:
            att_ws: ``(B, T_steps, T_text)``.
            ilens: text lengths ``(B,)``.
            olens: decoder step counts ``(B,)``.
        """
        batch_size, max_steps, max_text = att_ws.shape
        penalty = att_ws.new_zeros(batch_size, max_steps, max_text)
        for b, (text_len, steps) in enumerate(zip(ilens.tolist(), olens.tolist())):
            penalty[b, :steps, :text_len] = guided_attention_weights(text_len, steps, self.sigma, att_ws.device)
        keep = make_non_pad_mask(olens.to(att_ws.device), max_steps).unsqueeze(-1) & make_non_pad_mask(
            ilens.to(att_ws.device), max_text
        ).unsqueeze(1)
        return self.alpha * (penalty * att_ws).masked_select(keep).mean()
