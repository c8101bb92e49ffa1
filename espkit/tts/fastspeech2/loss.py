"""FastSpeech(2) training loss: features, log durations, token pitch and energy."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from espkit.nets.masks import make_non_pad_mask, masked_mean


class FastSpeech2Loss(nn.Module):
    """L1 on the features before and after the postnet, MSE on ``log(d + 1)`` durations,
    MSE on token pitch and energy (the last two only when given: FastSpeech has none).

    Masking (ESPnet2's semantics):

    * ``use_masking``: average over the real frames / tokens of the batch (each real
      element weighs the same);
    * ``use_weighted_masking``: average each utterance over its real frames / tokens, then
      average the utterances (each utterance weighs the same);
    * neither: average over every position of the padded tensors, padding included.

    Args:
        use_masking: see above.
        use_weighted_masking: see above (not together with ``use_masking``).
        duration_offset: ``d + offset`` inside the log.
    """

    def __init__(self, use_masking: bool = True, use_weighted_masking: bool = False, duration_offset: float = 1.0):
        super().__init__()
        if use_masking and use_weighted_masking:
            raise ValueError("use_masking and use_weighted_masking are exclusive: set one of them to false")
        self.use_masking = use_masking
        self.use_weighted_masking = use_weighted_masking
        self.duration_offset = duration_offset

    def _mean(self, values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean of ``values`` ``(B, T, ...)`` as the masking options say (``lengths`` ``(B,)``)."""
        if not (self.use_masking or self.use_weighted_masking):
            return values.mean()
        keep = make_non_pad_mask(lengths.to(values.device), values.size(1))
        return masked_mean(values, keep, per_utterance=self.use_weighted_masking)

    def forward(
        self,
        after_outs: torch.Tensor | None,
        before_outs: torch.Tensor,
        d_outs: torch.Tensor,
        ys: torch.Tensor,
        ds: torch.Tensor,
        ilens: torch.Tensor,
        olens: torch.Tensor,
        p_outs: torch.Tensor | None = None,
        ps: torch.Tensor | None = None,
        e_outs: torch.Tensor | None = None,
        es: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Loss terms.

        Args:
            after_outs: ``(B, T_feats, odim)`` after the postnet (None: no postnet).
            before_outs: ``(B, T_feats, odim)``.
            d_outs: predicted ``log(d + offset)`` ``(B, T_text)``.
            ys: target features ``(B, T_feats, odim)``.
            ds: target durations ``(B, T_text)`` (integers).
            ilens: token counts ``(B,)``; olens: frame counts ``(B,)``.
            p_outs, ps: predicted and target token pitch ``(B, T_text, 1)`` (FastSpeech2).
            e_outs, es: predicted and target token energy ``(B, T_text, 1)`` (FastSpeech2).

        Returns:
            ``l1_loss`` and ``duration_loss``, plus ``pitch_loss`` / ``energy_loss`` when their
            predictions are given.
        """
        l1 = F.l1_loss(before_outs, ys, reduction="none")
        if after_outs is not None:
            l1 = l1 + F.l1_loss(after_outs, ys, reduction="none")
        log_ds = torch.log(ds.to(d_outs.dtype) + self.duration_offset)
        losses = {
            "l1_loss": self._mean(l1, olens),
            "duration_loss": self._mean(F.mse_loss(d_outs, log_ds, reduction="none"), ilens),
        }
        for name, outs, targets in (("pitch_loss", p_outs, ps), ("energy_loss", e_outs, es)):
            if outs is None:
                continue
            if targets is None:
                raise ValueError(f"{name}: predictions given without targets")
            losses[name] = self._mean(F.mse_loss(outs, targets.to(outs.dtype), reduction="none"), ilens)
        return losses
