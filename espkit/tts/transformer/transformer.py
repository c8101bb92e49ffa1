"""Transformer-TTS (Li et al., 2019): an autoregressive attention model with Transformer blocks.

The tokens (``<sos/eos>`` = ``idim - 1`` appended) go through the Tacotron2 encoder's
embedding and convolutions (the "encoder prenet", no BLSTM) and a linear layer to ``adim``,
then a Transformer encoder (:mod:`espkit.nets.transformer.encoder`). The decoder
(:mod:`espkit.nets.transformer.decoder`) reads the previous output frame through the Tacotron2
prenet (dropout on at inference too) and a linear layer, attends to itself (subsequent mask)
and to the encoder states, and each step makes ``reduction_factor`` frames and stop logits; the
Tacotron2 postnet refines the frames. Positional encodings are scaled by a learnable ``alpha``
(``use_scaled_pos_enc``).

Training adds a guided attention loss (:class:`~espkit.tts.tacotron2.loss.GuidedAttentionLoss`)
on the first ``num_heads_applied_guided_attn`` heads of the last
``num_layers_applied_guided_attn`` layers of each module in ``modules_applied_guided_attn``
(``encoder``: self-attention, ``decoder``: self-attention, ``encoder-decoder``: source
attention). Those source-attention heads make the attention output of :meth:`Transformer.inference`
(``att_w``, the head with the highest focus rate), from which ``Text2Speech`` takes durations and
the focus rate exactly as for Tacotron2 (``tts_inference --use_teacher_forcing true`` writes the
durations a FastSpeech2 is trained on).

Free-running decoding keeps each decoder layer's keys/values (``use_cache``, default); without
the cache every step runs the decoder over the whole prefix (the reference it is checked against).

The constructor takes ESPnet2's option names and defaults (``espnet2/tts/transformer``), so an
ESPnet2 ``tts_conf`` builds unchanged; ESPnet2's GST options (``use_gst`` and ``gst_*``) are not
built (``use_gst: true`` is an error). espkit's emotion options (``num_emotions``,
``emo_embed_dim``, ``emo_feat_dim``, ``emo_integration``) condition the encoder states as in
FastSpeech (:mod:`espkit.tts.emotion.conditioning`).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from espkit.nets.initialize import initialize
from espkit.nets.masks import append_eos, make_non_pad_mask, make_pad_mask, subsequent_mask
from espkit.nets.transformer.decoder import Decoder
from espkit.nets.transformer.embedding import PositionalEncoding, ScaledPositionalEncoding
from espkit.nets.transformer.encoder import Encoder
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.emotion.conditioning import (
    batch_of_one,
    build_emotion_projection,
    build_emotion_tables,
    check_emotion_options,
    emotion_vector,
    project_emotion,
)
from espkit.tts.speaker.conditioning import SpeakerConditioning, speaker_batch_of_one
from espkit.tts.tacotron2.decoder import Postnet, Prenet
from espkit.tts.tacotron2.decoding_rules import length_bounds
from espkit.tts.tacotron2.encoder import Encoder as EncoderPrenet
from espkit.tts.tacotron2.loss import GuidedAttentionLoss, Tacotron2Loss
from espkit.tts.tacotron2.tacotron2 import LOSS_TYPES
from espkit.tts.transformer.decoding import FreeRunDecoder, select_duration_head
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

#: ``modules_applied_guided_attn`` names.
GUIDED_ATTN_MODULES = ("encoder", "decoder", "encoder-decoder")


def guided_attention_plan(
    modules: str | Sequence[str], num_heads: int, num_layers: int, aheads: int, elayers: int, dlayers: int
) -> tuple[tuple[str, ...], int, dict[str, int]]:
    """Check the guided-attention options; return the modules, the heads per layer and the
    number of (last) layers per module. ``-1`` means all heads / all layers.

    A single string is one module name (ESPnet2's default ``("encoder-decoder")`` is a string).
    """
    names = (modules,) if isinstance(modules, str) else tuple(modules)
    if not names:
        raise ValueError(f"modules_applied_guided_attn is empty: name some of {GUIDED_ATTN_MODULES}")
    for name in names:
        if name not in GUIDED_ATTN_MODULES:
            raise ValueError(
                f"modules_applied_guided_attn: unknown module {name!r} (choose from {GUIDED_ATTN_MODULES})"
            )
    heads = aheads if num_heads == -1 else num_heads
    if not 1 <= heads <= aheads:
        raise ValueError(f"num_heads_applied_guided_attn must be in [1, aheads={aheads}] (or -1: all), got {num_heads}")
    layers = {}
    for name in names:
        available = elayers if name == "encoder" else dlayers
        option = "elayers" if name == "encoder" else "dlayers"
        count = available if num_layers == -1 else num_layers
        if not 1 <= count <= available:
            raise ValueError(
                f"num_layers_applied_guided_attn={num_layers} but module {name!r} has {option}={available} "
                f"layers (use 1..{available} or -1: all)"
            )
        layers[name] = count
    return names, heads, layers


class Transformer(SpeakerConditioning, AbsTTS):
    """Transformer-TTS acoustic model (``--tts transformer``); see the module doc.

    Args:
        idim: vocabulary size (``<blank>`` = 0 ... ``<sos/eos>`` = ``idim - 1``).
        odim: feature size.
        embed_dim: token embedding size of the encoder prenet.
        eprenet_conv_layers, eprenet_conv_chans, eprenet_conv_filts: its convolutions (0 layers:
            the tokens are embedded straight to ``adim``).
        dprenet_layers, dprenet_units: decoder prenet (0 layers: a linear input layer).
        elayers, eunits: encoder layers and feed-forward units.
        adim, aheads: attention size and heads.
        dlayers, dunits: decoder layers and feed-forward units.
        postnet_layers, postnet_chans, postnet_filts: Tacotron2 postnet (0 layers: none).
        positionwise_layer_type, positionwise_conv_kernel_size: encoder feed-forwards
            (``linear``, ``conv1d``, ``conv1d-linear``); the decoder's are linear.
        use_scaled_pos_enc: positional encodings with a learnable ``alpha``.
        use_batch_norm: batch norm in the encoder prenet and the postnet.
        encoder_normalize_before, decoder_normalize_before: pre-norm layers.
        encoder_concat_after, decoder_concat_after: concat-then-linear attention residuals.
        reduction_factor: frames per decoder step (>= 1).
        spks, langs, spk_embed_dim, spk_embed_integration_type: speaker / language conditioning
            of the encoder states (:mod:`espkit.tts.speaker.conditioning`).
        use_gst, gst_*: ESPnet2's global style tokens, not built (``use_gst: true``: ValueError).
        transformer_enc_dropout_rate, transformer_enc_positional_dropout_rate,
            transformer_enc_attn_dropout_rate: encoder dropouts; ``transformer_dec_*`` likewise;
            transformer_enc_dec_attn_dropout_rate: source attention.
        eprenet_dropout_rate, dprenet_dropout_rate, postnet_dropout_rate: prenet/postnet dropouts.
        init_type, init_enc_alpha, init_dec_alpha: initialisation.
        use_masking, use_weighted_masking, bce_pos_weight: see
            :class:`~espkit.tts.tacotron2.loss.Tacotron2Loss`.
        loss_type: ``L1``, ``L2`` or ``L1+L2``.
        use_guided_attn_loss, num_heads_applied_guided_attn, num_layers_applied_guided_attn,
            modules_applied_guided_attn, guided_attn_loss_sigma, guided_attn_loss_lambda: the
            guided attention loss (see the module doc; ``-1``: all heads / layers).
        num_emotions, emo_embed_dim, emo_feat_dim, emo_integration: emotion conditioning.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        odim: int,
        embed_dim: int = 512,
        eprenet_conv_layers: int = 3,
        eprenet_conv_chans: int = 256,
        eprenet_conv_filts: int = 5,
        dprenet_layers: int = 2,
        dprenet_units: int = 256,
        elayers: int = 6,
        eunits: int = 1024,
        adim: int = 512,
        aheads: int = 4,
        dlayers: int = 6,
        dunits: int = 1024,
        postnet_layers: int = 5,
        postnet_chans: int = 256,
        postnet_filts: int = 5,
        positionwise_layer_type: str = "conv1d",
        positionwise_conv_kernel_size: int = 1,
        use_scaled_pos_enc: bool = True,
        use_batch_norm: bool = True,
        encoder_normalize_before: bool = True,
        decoder_normalize_before: bool = True,
        encoder_concat_after: bool = False,
        decoder_concat_after: bool = False,
        reduction_factor: int = 1,
        spks: int | None = -1,
        langs: int | None = -1,
        spk_embed_dim: int | None = None,
        spk_embed_integration_type: str = "add",
        use_gst: bool = False,
        gst_tokens: int = 10,
        gst_heads: int = 4,
        gst_conv_layers: int = 6,
        gst_conv_chans_list: Sequence[int] = (32, 32, 64, 64, 128, 128),
        gst_conv_kernel_size: int = 3,
        gst_conv_stride: int = 2,
        gst_gru_layers: int = 1,
        gst_gru_units: int = 128,
        transformer_enc_dropout_rate: float = 0.1,
        transformer_enc_positional_dropout_rate: float = 0.1,
        transformer_enc_attn_dropout_rate: float = 0.1,
        transformer_dec_dropout_rate: float = 0.1,
        transformer_dec_positional_dropout_rate: float = 0.1,
        transformer_dec_attn_dropout_rate: float = 0.1,
        transformer_enc_dec_attn_dropout_rate: float = 0.1,
        eprenet_dropout_rate: float = 0.5,
        dprenet_dropout_rate: float = 0.5,
        postnet_dropout_rate: float = 0.5,
        init_type: str = "xavier_uniform",
        init_enc_alpha: float = 1.0,
        init_dec_alpha: float = 1.0,
        use_masking: bool = False,
        use_weighted_masking: bool = False,
        bce_pos_weight: float = 5.0,
        loss_type: str = "L1",
        use_guided_attn_loss: bool = True,
        num_heads_applied_guided_attn: int = 2,
        num_layers_applied_guided_attn: int = 2,
        modules_applied_guided_attn: str | Sequence[str] = ("encoder-decoder",),
        guided_attn_loss_sigma: float = 0.4,
        guided_attn_loss_lambda: float = 1.0,
        num_emotions: int = 0,
        emo_embed_dim: int = 64,
        emo_feat_dim: int | None = None,
        emo_integration: str = "add",
    ):
        super().__init__()
        if idim < 3:
            raise ValueError(f"idim must count <blank>, tokens and <sos/eos> (>= 3), got {idim}")
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be an integer >= 1, got {reduction_factor}")
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
        if use_gst:
            raise ValueError("use_gst: true (global style tokens) is not built in espkit; use the emotion options")
        if adim % aheads != 0:
            raise ValueError(f"adim={adim} is not divisible by aheads={aheads}")
        for option, value in (("elayers", elayers), ("dlayers", dlayers)):
            if value < 1:
                raise ValueError(f"{option} must be >= 1, got {value}")
        check_emotion_options(num_emotions, emo_embed_dim, emo_feat_dim, emo_integration, required=False)
        self.guided_modules: tuple[str, ...] = ()
        self.guided_heads = aheads
        self.guided_layers: dict[str, int] = {"encoder-decoder": dlayers}
        if use_guided_attn_loss:
            self.guided_modules, self.guided_heads, self.guided_layers = guided_attention_plan(
                modules_applied_guided_attn,
                num_heads_applied_guided_attn,
                num_layers_applied_guided_attn,
                aheads,
                elayers,
                dlayers,
            )
        self.idim = idim
        self.odim = odim
        self.eos = idim - 1
        self.padding_idx = 0
        self.reduction_factor = reduction_factor
        self.loss_type = loss_type
        self.use_guided_attn_loss = use_guided_attn_loss
        self.use_scaled_pos_enc = use_scaled_pos_enc
        self.emo_integration = emo_integration
        pos_enc_class = ScaledPositionalEncoding if use_scaled_pos_enc else PositionalEncoding

        self.encoder_prenet: nn.Module | None = None
        if eprenet_conv_layers > 0:
            self.encoder_prenet = nn.Sequential(
                EncoderPrenet(
                    idim=idim,
                    embed_dim=embed_dim,
                    elayers=0,
                    econv_layers=eprenet_conv_layers,
                    econv_chans=eprenet_conv_chans,
                    econv_filts=eprenet_conv_filts,
                    use_batch_norm=use_batch_norm,
                    dropout_rate=eprenet_dropout_rate,
                    padding_idx=self.padding_idx,
                ),
                nn.Linear(eprenet_conv_chans, adim),
            )
        self.encoder = Encoder(
            idim=idim,
            attention_dim=adim,
            attention_heads=aheads,
            linear_units=eunits,
            num_blocks=elayers,
            dropout_rate=transformer_enc_dropout_rate,
            positional_dropout_rate=transformer_enc_positional_dropout_rate,
            attention_dropout_rate=transformer_enc_attn_dropout_rate,
            input_layer=None if self.encoder_prenet is not None else "embed",
            normalize_before=encoder_normalize_before,
            concat_after=encoder_concat_after,
            positionwise_layer_type=positionwise_layer_type,
            positionwise_conv_kernel_size=positionwise_conv_kernel_size,
            pos_enc_class=pos_enc_class,
            padding_idx=self.padding_idx,
        )
        self.build_speaker_conditioning(
            adim, spks, langs, spk_embed_dim, spk_embed_integration_type, project_concat=True
        )
        self.emo_embed, self.emo_feat_proj = build_emotion_tables(num_emotions, emo_embed_dim, emo_feat_dim)
        self.emo_memory_proj: nn.Linear | None = None
        if self.has_emotion:
            self.emo_memory_proj = build_emotion_projection(emo_integration, emo_embed_dim, adim)

        if dprenet_layers > 0:
            self.dprenet: Prenet | None = Prenet(odim, dprenet_layers, dprenet_units, dprenet_dropout_rate)
            decoder_input: nn.Module = nn.Sequential(self.dprenet, nn.Linear(dprenet_units, adim))
        else:
            self.dprenet = None
            decoder_input = nn.Sequential(
                nn.Linear(odim, adim), nn.LayerNorm(adim), nn.Dropout(transformer_dec_dropout_rate), nn.ReLU()
            )
        self.decoder = Decoder(
            attention_dim=adim,
            attention_heads=aheads,
            linear_units=dunits,
            num_blocks=dlayers,
            dropout_rate=transformer_dec_dropout_rate,
            positional_dropout_rate=transformer_dec_positional_dropout_rate,
            self_attention_dropout_rate=transformer_dec_attn_dropout_rate,
            src_attention_dropout_rate=transformer_enc_dec_attn_dropout_rate,
            input_layer=decoder_input,
            pos_enc_class=pos_enc_class,
            normalize_before=decoder_normalize_before,
            concat_after=decoder_concat_after,
        )
        self.feat_out = nn.Linear(adim, odim * reduction_factor)
        self.prob_out = nn.Linear(adim, reduction_factor)
        self.postnet = (
            Postnet(
                odim=odim,
                n_layers=postnet_layers,
                n_chans=postnet_chans,
                n_filts=postnet_filts,
                use_batch_norm=use_batch_norm,
                dropout_rate=postnet_dropout_rate,
            )
            if postnet_layers > 0
            else None
        )
        initialize(self, init_type)
        if use_scaled_pos_enc:
            self.encoder.embed[-1].reset_parameters(init_enc_alpha)
            self.decoder.pos_enc.reset_parameters(init_dec_alpha)
        self.criterion = Tacotron2Loss(
            use_masking=use_masking, use_weighted_masking=use_weighted_masking, bce_pos_weight=bce_pos_weight
        )
        self.attn_criterion = GuidedAttentionLoss(sigma=guided_attn_loss_sigma, alpha=guided_attn_loss_lambda)

    # ------------------------------------------------------------------ interface
    @property
    def has_emotion(self) -> bool:
        """Whether the model is conditioned on an emotion (labels or features)."""
        return self.emo_embed is not None or self.emo_feat_proj is not None

    @property
    def supports_decoder_cache(self) -> bool:
        """Free-running decoding can keep each decoder layer's keys/values (``inference``'s ``use_cache``)."""
        return True

    def num_emotions(self) -> int:
        """Rows of the emotion label table (0: none)."""
        return 0 if self.emo_embed is None else self.emo_embed.num_embeddings

    # ----------------------------------------------------------------- building blocks
    def _encode(
        self,
        xs: torch.Tensor,
        ilens: torch.Tensor,
        spembs: torch.Tensor | None,
        sids: torch.Tensor | None,
        lids: torch.Tensor | None,
        emo_labs: torch.Tensor | None,
        emo_feats: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Token ids ``(B, T_text)`` -> conditioned states ``(B, T_text, adim)``, the memory mask
        ``(B, 1, T_text)`` (True at real tokens) and each encoder layer's self-attention weights."""
        masks = make_non_pad_mask(ilens, xs.size(1)).unsqueeze(1)
        inputs = xs if self.encoder_prenet is None else self.encoder_prenet[1](self.encoder_prenet[0](xs, ilens)[0])
        hs, enc_ws = self.encoder.forward_with_weights(inputs, masks)
        hs = self.condition_on_speaker(hs, sids, lids, spembs)
        if self.has_emotion:
            emo = emotion_vector(self.emo_embed, self.emo_feat_proj, emo_labs, emo_feats, type(self).__name__)
            hs = project_emotion(hs, emo, self.emo_memory_proj, self.emo_integration)
        return hs, masks, enc_ws

    def _postnet(self, before_outs: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
        if self.postnet is None:
            return before_outs
        return self.postnet.refine(before_outs, pad_mask)

    def _teacher_forced(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        emo_labs: torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        """Teacher-forced pass shared by :meth:`forward`, :meth:`forward_attention` and teacher-forced
        inference. Targets are padded to a multiple of ``reduction_factor`` (padding zeroed)."""
        text_lengths = text_lengths.to(text.device)
        feats_lengths = feats_lengths.to(feats.device)
        text = text[:, : int(text_lengths.max())]
        feats = feats[:, : int(feats_lengths.max())]
        xs, ilens = append_eos(text, text_lengths, self.eos, self.padding_idx)
        hs, memory_mask, enc_ws = self._encode(xs, ilens, spembs, sids, lids, emo_labs, emo_feats)

        r = self.reduction_factor
        ys = F.pad(feats, (0, 0, 0, (-feats.size(1)) % r))
        frame_pad = make_pad_mask(feats_lengths, ys.size(1)).unsqueeze(-1)  # (B, T_feats, 1)
        ys = ys.masked_fill(frame_pad, 0.0)
        steps = torch.div(feats_lengths + r - 1, r, rounding_mode="floor")
        num_steps = ys.size(1) // r
        # Step k reads the last frame of step k - 1 (zeros at the first step).
        ys_in = torch.cat([ys.new_zeros(ys.size(0), 1, self.odim), ys[:, r - 1 :: r][:, :-1]], dim=1)
        tgt_mask = make_non_pad_mask(steps, num_steps).unsqueeze(1) & subsequent_mask(num_steps, ys.device).unsqueeze(0)
        zs, dec_ws, src_ws = self.decoder(ys_in, tgt_mask, hs, memory_mask)
        before_outs = self.feat_out(zs).view(zs.size(0), -1, self.odim).masked_fill(frame_pad, 0.0)
        logits = self.prob_out(zs).view(zs.size(0), -1)
        after_outs = self._postnet(before_outs, frame_pad)
        frames = torch.arange(ys.size(1), device=ys.device)
        labels = (frames[None, :] >= (feats_lengths - 1)[:, None]).to(ys.dtype)  # 1 from the last frame
        return {
            "after_outs": after_outs,
            "before_outs": before_outs,
            "logits": logits,
            "ys": ys,
            "labels": labels,
            "olens": feats_lengths,
            "ilens": ilens,
            "steps": steps,
            "enc_ws": enc_ws,
            "dec_ws": dec_ws,
            "src_ws": src_ws,
        }

    def guided_attention_weights(
        self, outs: dict[str, Any]
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per guided module, the guided heads' weights ``(B, H * L, T_out, T_in)`` (the first
        ``H`` heads of each of the last ``L`` layers) with their output and input lengths."""
        plans = {
            "encoder": (outs["enc_ws"], outs["ilens"], outs["ilens"]),
            "decoder": (outs["dec_ws"], outs["steps"], outs["steps"]),
            "encoder-decoder": (outs["src_ws"], outs["steps"], outs["ilens"]),
        }
        chosen = {}
        for name in self.guided_modules:
            weights, olens, ilens = plans[name]
            layers = weights[len(weights) - self.guided_layers[name] :]
            chosen[name] = (torch.cat([w[:, : self.guided_heads] for w in layers], dim=1), olens, ilens)
        return chosen

    def guided_attention_loss(self, outs: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``{enc_attn_loss, dec_attn_loss, enc_dec_attn_loss}`` (those of the guided modules):
        :class:`GuidedAttentionLoss` over every guided head (each head weighs the same)."""
        names = {"encoder": "enc_attn_loss", "decoder": "dec_attn_loss", "encoder-decoder": "enc_dec_attn_loss"}
        losses = {}
        for name, (att_ws, olens, ilens) in self.guided_attention_weights(outs).items():
            heads = att_ws.size(1)
            flat = att_ws.reshape(-1, att_ws.size(2), att_ws.size(3))
            losses[names[name]] = self.attn_criterion(
                flat, ilens.repeat_interleave(heads), olens.repeat_interleave(heads)
            )
        return losses

    # ------------------------------------------------------------------------ training
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        emo_labs: torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """Training loss of a padded batch.

        Args:
            text: ``(B, T_text)`` token ids (without ``<sos/eos>``); text_lengths: ``(B,)``.
            feats: ``(B, T_feats, odim)`` normalised; feats_lengths: ``(B,)``.
            spembs: ``(B, spk_embed_dim)``; sids, lids: ``(B, 1)`` or ``(B,)``.
            emo_labs: ``(B,)`` long or ``(B, num_emotions)`` float, or emo_feats ``(B, emo_feat_dim)``,
                when the model has an emotion.
            **kwargs: other batch entries, ignored.

        Returns:
            ``loss``, stats (``loss``, ``l1_loss``, ``mse_loss``, ``bce_loss``, the guided attention
            losses and ``encoder_alpha`` / ``decoder_alpha``) and the batch size as ``weight``.
        """
        outs = self._teacher_forced(text, text_lengths, feats, feats_lengths, spembs, sids, lids, emo_labs, emo_feats)
        l1_loss, mse_loss, bce_loss = self.criterion(
            outs["after_outs"], outs["before_outs"], outs["logits"], outs["ys"], outs["labels"], outs["olens"]
        )
        if self.loss_type == "L1":
            loss = l1_loss + bce_loss
        elif self.loss_type == "L2":
            loss = mse_loss + bce_loss
        else:
            loss = l1_loss + mse_loss + bce_loss
        stats = {"l1_loss": l1_loss.detach(), "mse_loss": mse_loss.detach(), "bce_loss": bce_loss.detach()}
        if self.use_guided_attn_loss:
            for name, value in self.guided_attention_loss(outs).items():
                loss = loss + value
                stats[name] = value.detach()
        stats["loss"] = loss.detach()
        if self.use_scaled_pos_enc:
            stats["encoder_alpha"] = self.encoder.embed[-1].alpha.detach()
            stats["decoder_alpha"] = self.decoder.pos_enc.alpha.detach()
        weight = torch.tensor(float(text.size(0)), dtype=loss.dtype, device=loss.device)
        return loss, stats, weight

    @torch.no_grad()
    def forward_attention(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        emo_labs: torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Teacher-forced source-attention weights for plots: ``{"src_attn.l<i>.h<j>": (B, T_steps,
        T_text + 1)}`` for every decoder layer ``i`` and head ``j``."""
        outs = self._teacher_forced(text, text_lengths, feats, feats_lengths, spembs, sids, lids, emo_labs, emo_feats)
        return {f"src_attn.l{i}.h{j}": w[:, j] for i, w in enumerate(outs["src_ws"]) for j in range(w.size(1))}

    # ----------------------------------------------------------------------- inference
    def duration_heads(self) -> tuple[int, int]:
        """``(layers, heads)``: the source-attention heads that may give durations are the first
        ``heads`` of the last ``layers`` decoder layers: the guided ones (all when the source
        attention is not guided)."""
        if "encoder-decoder" in self.guided_modules:
            return self.guided_layers["encoder-decoder"], self.guided_heads
        return len(self.decoder.decoders), self.decoder.decoders[0].src_attn.h

    def select_attention(self, src_ws: torch.Tensor) -> torch.Tensor:
        """The duration head with the highest focus rate (:func:`select_duration_head`):
        ``(T_steps, T_text)`` of ``src_ws`` ``(dlayers, aheads, T_steps, T_text)``."""
        return select_duration_head(src_ws, *self.duration_heads())

    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        feats: torch.Tensor | None = None,
        spembs: torch.Tensor | None = None,
        sids: int | torch.Tensor | None = None,
        lids: int | torch.Tensor | None = None,
        emo_labs: int | torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
        use_teacher_forcing: bool = False,
        use_cache: bool = True,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Generate features for one utterance.

        Args:
            text: ``(T_text,)`` token ids (without ``<sos/eos>``).
            feats: reference ``(T_feats, odim)``, needed with ``use_teacher_forcing``.
            spembs: ``(spk_embed_dim,)``; sids, lids: an id (int or one-element tensor).
            emo_labs: an id or ``(num_emotions,)`` weights (or already batched); emo_feats: ``(emo_feat_dim,)``.
            threshold: stop when a stop probability reaches it.
            minlenratio, maxlenratio: output length bounds in frames as multiples of ``T_text + 1``.
            use_teacher_forcing: decode with the reference frames as inputs (output of the reference length).
            use_cache: keep each decoder layer's keys/values between steps (False: recompute the prefix).
            **kwargs: other decoding options (Tacotron2's attention constraint), ignored.

        Returns:
            ``feat_gen`` ``(T_feats, odim)``, ``prob`` ``(T_feats,)``, ``att_w`` ``(T_feats, T_text + 1)``
            (the duration head, see :meth:`select_attention`, each step repeated for its frames) and
            ``att_ws`` ``(dlayers, aheads, T_steps, T_text + 1)`` (every source-attention head).
        """
        if kwargs.get("use_att_constraint"):
            raise ValueError("use_att_constraint is a Tacotron2 decoding option; the Transformer has none")
        x = torch.cat([text.view(-1), text.new_tensor([self.eos])]).unsqueeze(0)
        emo_labs, emo_feats = batch_of_one(emo_labs, emo_feats, x.device)
        sids, lids, spembs = speaker_batch_of_one(sids, lids, spembs, x.device)
        r = self.reduction_factor
        if use_teacher_forcing:
            if feats is None:
                raise ValueError("use_teacher_forcing=True needs the reference feats (T_feats, odim)")
            num_frames = feats.size(0)
            outs = self._teacher_forced(
                x[:, :-1],
                torch.tensor([x.size(1) - 1], device=x.device),
                feats.unsqueeze(0).to(self.feat_out.weight.dtype),
                torch.tensor([num_frames], device=x.device),
                spembs,
                sids,
                lids,
                emo_labs,
                emo_feats,
            )
            att_ws = torch.stack([w[0] for w in outs["src_ws"]])
            return {
                "feat_gen": outs["after_outs"][0, :num_frames],
                "prob": torch.sigmoid(outs["logits"][0, :num_frames]),
                "att_w": self.select_attention(att_ws).repeat_interleave(r, dim=0)[:num_frames],
                "att_ws": att_ws,
            }
        ilens = torch.tensor([x.size(1)], device=x.device)
        hs, _, _ = self._encode(x, ilens, spembs, sids, lids, emo_labs, emo_feats)
        before_outs, probs, att_ws = self._free_run(hs, threshold, minlenratio, maxlenratio, use_cache)
        att_w = self.select_attention(att_ws).repeat_interleave(r, dim=0)[: before_outs.size(1)]
        return {"feat_gen": self._postnet(before_outs, None)[0], "prob": probs, "att_w": att_w, "att_ws": att_ws}

    def _free_run(
        self, hs: torch.Tensor, threshold: float, minlenratio: float, maxlenratio: float, use_cache: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Free-running decoding of encoder states ``(1, T_text, adim)`` (:class:`FreeRunDecoder`):
        ``before_outs`` ``(1, T_feats, odim)``, stop probabilities ``(T_feats,)`` and the source-attention
        weights ``(dlayers, aheads, T_steps, T_text)``."""
        minlen, maxlen = length_bounds(hs.size(1), minlenratio, maxlenratio)
        run = FreeRunDecoder(self.decoder, self.feat_out, self.prob_out, self.odim, self.reduction_factor)
        before_outs, probs, att_ws, stopped = run(hs, threshold, minlen, maxlen, use_cache)
        if not stopped:
            logger.warning(
                "reached maxlen (%d frames = maxlenratio %s x %d tokens) without a stop probability >= %s",
                maxlen,
                maxlenratio,
                hs.size(1),
                threshold,
            )
        return before_outs, probs, att_ws
