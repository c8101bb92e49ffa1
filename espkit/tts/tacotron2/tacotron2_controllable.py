"""Tacotron2 conditioned on an emotion (label, label mixture or emotion features).

The emotion becomes one vector ``emo`` ``(B, emo_embed_dim)`` per utterance, from label ids,
label weights or emotion features (:mod:`espkit.tts.emotion.conditioning`).

``emo`` conditions the attention memory (``emo_integration``, after the speaker conditioning of
:mod:`espkit.tts.speaker.conditioning`) and the decoder LSTM input (``emo_to_decoder``).
Everything else is :class:`~espkit.tts.tacotron2.tacotron2.Tacotron2`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from espkit.tts.emotion.conditioning import (
    batch_of_one,
    build_emotion_tables,
    check_emotion_options,
    emotion_vector,
)
from espkit.tts.tacotron2.tacotron2 import Tacotron2, attach_to_memory
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmotionOptions:
    """The emotion options of :class:`Tacotron2Controllable`."""

    num_emotions: int
    emo_embed_dim: int
    emo_feat_dim: int | None
    emo_integration: str
    emo_to_decoder: bool


class Tacotron2Controllable(Tacotron2):
    """Emotion-controllable Tacotron2 (``--tts tacotron2_controllable`` / ``emocontrl``).

    Args (besides :class:`Tacotron2`'s):
        num_emotions: size of the emotion label table (0: only ``emo_feats``).
        emo_embed_dim: size of the emotion vector.
        emo_feat_dim: size of given emotion features ``emo_feats`` (None: labels only).
        emo_integration: ``add`` (projected to the encoder state size and added to every
            encoder state), ``concat`` (appended to every encoder state) or ``none``.
        emo_to_decoder: append the emotion vector to the decoder LSTM input.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        odim: int,
        embed_dim: int = 512,
        elayers: int = 1,
        eunits: int = 512,
        econv_layers: int = 3,
        econv_chans: int = 512,
        econv_filts: int = 5,
        atype: str = "location",
        adim: int = 512,
        aconv_chans: int = 32,
        aconv_filts: int = 15,
        cumulate_att_w: bool = True,
        dlayers: int = 2,
        dunits: int = 1024,
        prenet_layers: int = 2,
        prenet_units: int = 256,
        postnet_layers: int = 5,
        postnet_chans: int = 512,
        postnet_filts: int = 5,
        output_activation: str | None = None,
        use_batch_norm: bool = True,
        use_concate: bool = True,
        use_residual: bool = False,
        reduction_factor: int = 1,
        spks: int | None = None,
        langs: int | None = None,
        spk_embed_dim: int | None = None,
        spk_embed_integration_type: str = "concat",
        use_masking: bool = True,
        use_weighted_masking: bool = False,
        bce_pos_weight: float = 5.0,
        loss_type: str = "L1+L2",
        use_guided_attn_loss: bool = True,
        guided_attn_loss_sigma: float = 0.4,
        guided_attn_loss_lambda: float = 1.0,
        dropout_rate: float = 0.5,
        zoneout_rate: float = 0.1,
        num_emotions: int = 4,
        emo_embed_dim: int = 64,
        emo_feat_dim: int | None = None,
        emo_integration: str = "add",
        emo_to_decoder: bool = True,
        decoder_impl: str = "auto",
        postnet_type: str = "conv",
        postnet_architecture: str | dict | None = None,
    ):
        check_emotion_options(num_emotions, emo_embed_dim, emo_feat_dim, emo_integration, required=True)
        if emo_integration == "none" and not emo_to_decoder:
            logger.warning("emo_integration=none and emo_to_decoder=false: the emotion conditions nothing")
        # Tacotron2.__init__ sizes the attention and decoder through
        # _build_extra_conditioning(), which reads these options: set them first (a plain
        # frozen dataclass, which nn.Module allows before its __init__).
        self.emotion_options = EmotionOptions(
            num_emotions, emo_embed_dim, emo_feat_dim, emo_integration, emo_to_decoder
        )
        super().__init__(
            idim=idim,
            odim=odim,
            embed_dim=embed_dim,
            elayers=elayers,
            eunits=eunits,
            econv_layers=econv_layers,
            econv_chans=econv_chans,
            econv_filts=econv_filts,
            atype=atype,
            adim=adim,
            aconv_chans=aconv_chans,
            aconv_filts=aconv_filts,
            cumulate_att_w=cumulate_att_w,
            dlayers=dlayers,
            dunits=dunits,
            prenet_layers=prenet_layers,
            prenet_units=prenet_units,
            postnet_layers=postnet_layers,
            postnet_chans=postnet_chans,
            postnet_filts=postnet_filts,
            output_activation=output_activation,
            use_batch_norm=use_batch_norm,
            use_concate=use_concate,
            use_residual=use_residual,
            reduction_factor=reduction_factor,
            spks=spks,
            langs=langs,
            spk_embed_dim=spk_embed_dim,
            spk_embed_integration_type=spk_embed_integration_type,
            use_masking=use_masking,
            use_weighted_masking=use_weighted_masking,
            bce_pos_weight=bce_pos_weight,
            loss_type=loss_type,
            use_guided_attn_loss=use_guided_attn_loss,
            guided_attn_loss_sigma=guided_attn_loss_sigma,
            guided_attn_loss_lambda=guided_attn_loss_lambda,
            dropout_rate=dropout_rate,
            zoneout_rate=zoneout_rate,
            decoder_impl=decoder_impl,
            postnet_type=postnet_type,
            postnet_architecture=postnet_architecture,
        )

    def num_emotions(self) -> int:
        """Number of emotion labels (rows of the embedding table)."""
        return self.emotion_options.num_emotions

    def _build_extra_conditioning(self, memory_dim: int) -> tuple[int, int]:
        opts = self.emotion_options
        self.emo_embed, self.emo_feat_proj = build_emotion_tables(
            opts.num_emotions, opts.emo_embed_dim, opts.emo_feat_dim
        )
        self.emo_memory_proj = None
        if opts.emo_integration == "add":
            self.emo_memory_proj = torch.nn.Linear(opts.emo_embed_dim, memory_dim)
        elif opts.emo_integration == "concat":
            memory_dim += opts.emo_embed_dim
        return memory_dim, opts.emo_embed_dim if opts.emo_to_decoder else 0

    def emotion_vector(
        self,
        emo_labs: torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Emotion vectors ``(B, emo_embed_dim)`` from batched inputs (see module doc).

        Args:
            emo_labs: ``(B,)`` / ``(B, 1)`` long ids or ``(B, num_emotions)`` float weights.
            emo_feats: ``(B, emo_feat_dim)``; takes precedence over ``emo_labs``.
        """
        return emotion_vector(self.emo_embed, self.emo_feat_proj, emo_labs, emo_feats, "Tacotron2Controllable")

    def _condition(
        self,
        hs: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        hs, _, extras = super()._condition(hs, spembs, sids, lids)
        emo = self.emotion_vector(kwargs.get("emo_labs"), kwargs.get("emo_feats"))
        if emo.size(0) != hs.size(0):
            raise ValueError(f"emotion batch size {emo.size(0)} != text batch size {hs.size(0)}")
        vec = emo if self.emo_memory_proj is None else self.emo_memory_proj(emo)
        hs = attach_to_memory(hs, vec, self.emotion_options.emo_integration)
        cond = emo if self.emotion_options.emo_to_decoder else None
        return hs, cond, {**extras, "emo_embed": emo[0]}

    def inference(
        self,
        text: torch.Tensor,
        emo_labs: int | torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """:meth:`Tacotron2.inference` with an emotion; the dict also has ``emo_embed``.

        Args:
            text: ``(T_text,)``.
            emo_labs: an id (int or 0-d long tensor) or weights ``(num_emotions,)`` (float).
            emo_feats: ``(emo_feat_dim,)``; takes precedence over ``emo_labs``.
            **kwargs: :meth:`Tacotron2.inference`'s options.
        """
        emo_labs, emo_feats = batch_of_one(emo_labs, emo_feats, text.device)
        return super().inference(text, emo_labs=emo_labs, emo_feats=emo_feats, **kwargs)
