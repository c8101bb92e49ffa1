"""Tacotron2 text encoder: embedding, convolution stack and bidirectional LSTM."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from espkit.layers.dropout import Dropout
from espkit.nets.masks import make_pad_mask


class Encoder(nn.Module):
    """Token ids ``(B, T_text)`` -> encoder states ``(B, T_text, output_size())``.

    Each convolution block is ``Conv1d -> BatchNorm1d (optional) -> ReLU -> Dropout``. Padded
    positions (whatever their ids) are zeroed after the embedding and after every block, so
    a padded utterance is encoded exactly as it would be on its own (the convolutions' zero
    padding sees the same zeros). The BLSTM
    (``eunits // 2`` units per direction) runs on packed sequences.

    Args:
        idim: vocabulary size.
        embed_dim: token embedding size.
        elayers: BLSTM layers (0: no BLSTM).
        eunits: BLSTM output size (both directions together).
        econv_layers: convolution blocks (0: none).
        econv_chans: channels of the convolutions.
        econv_filts: kernel size of the convolutions (odd).
        use_batch_norm: batch normalisation after each convolution.
        use_residual: add each convolution block's input to its output.
        dropout_rate: dropout after each convolution block.
        padding_idx: token id of padding (its embedding is zero).
    """

    def __init__(
        self,
        idim: int,
        embed_dim: int = 512,
        elayers: int = 1,
        eunits: int = 512,
        econv_layers: int = 3,
        econv_chans: int = 512,
        econv_filts: int = 5,
        use_batch_norm: bool = True,
        use_residual: bool = False,
        dropout_rate: float = 0.5,
        padding_idx: int = 0,
    ):
        super().__init__()
        if econv_filts % 2 == 0:
            raise ValueError(f"econv_filts must be odd so that lengths are kept, got {econv_filts}")
        if elayers > 0 and eunits % 2 != 0:
            raise ValueError(f"eunits must be even (split over two directions), got {eunits}")
        if use_residual and econv_layers > 0 and econv_chans != embed_dim:
            raise ValueError(f"use_residual needs econv_chans == embed_dim, got {econv_chans} != {embed_dim}")
        self.use_residual = use_residual
        self.embed = nn.Embedding(idim, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList()
        in_chans = embed_dim
        for _ in range(econv_layers):
            block: list[nn.Module] = [
                nn.Conv1d(
                    in_chans,
                    econv_chans,
                    econv_filts,
                    padding=(econv_filts - 1) // 2,
                    bias=not use_batch_norm,
                )
            ]
            if use_batch_norm:
                block.append(nn.BatchNorm1d(econv_chans))
            block += [nn.ReLU(), Dropout(dropout_rate)]
            self.convs.append(nn.Sequential(*block))
            in_chans = econv_chans
        self.blstm: nn.LSTM | None = None
        if elayers > 0:
            self.blstm = nn.LSTM(in_chans, eunits // 2, elayers, batch_first=True, bidirectional=True)
            in_chans = eunits
        self._output_size = in_chans

    @torch.jit.unused
    def _flatten_blstm(self) -> None:
        """cuDNN wants the BLSTM's weights in one block (eager only: TorchScript cannot call it)."""
        if self.blstm is not None:
            self.blstm.flatten_parameters()

    def output_size(self) -> int:
        """Size of each encoder state."""
        return self._output_size

    def forward(self, xs: torch.Tensor, ilens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a padded batch.

        Args:
            xs: token ids ``(B, T_text)`` (long).
            ilens: ``(B,)``.

        Returns:
            ``hs`` ``(B, max(ilens), output_size())`` (zero at padding) and ``ilens``.
        """
        max_len = int(ilens.max())
        xs = xs[:, :max_len]
        keep = (~make_pad_mask(ilens.to(xs.device), max_len)).unsqueeze(1)  # (B, 1, T)
        hs = self.embed(xs).transpose(1, 2) * keep  # (B, embed_dim, T)
        for conv in self.convs:
            out = conv(hs) * keep
            hs = hs + out if self.use_residual else out
        hs = hs.transpose(1, 2)  # (B, T, C)
        if self.blstm is not None:
            packed = pack_padded_sequence(hs, ilens.cpu(), batch_first=True, enforce_sorted=False)
            if not torch.jit.is_scripting():
                self._flatten_blstm()
            packed_out, _ = self.blstm(packed)
            hs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=max_len)
        return hs, ilens

    def inference(self, x: torch.Tensor) -> torch.Tensor:
        """Encode one utterance ``(T_text,)`` -> ``(T_text, output_size())``."""
        ilens = torch.tensor([x.size(0)], dtype=torch.long, device=x.device)
        return self.forward(x.unsqueeze(0), ilens)[0][0]
