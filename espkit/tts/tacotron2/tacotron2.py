"""Tacotron2 (Shen et al., 2018): text -> mel frames with location-sensitive attention.

The constructor takes ESPnet2's option names, so a ``tts_conf`` written for ESPnet2's
``tacotron2`` ports with few edits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch.nn import functional as F

from espkit.nets.graph.conf import ArchitectureConf
from espkit.nets.masks import append_eos
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.emotion.reference_encoder import ReferenceEncoder
from espkit.tts.speaker.conditioning import SpeakerConditioning, speaker_batch_of_one
from espkit.tts.tacotron2.attention import ATTENTION_TYPES, build_attention
from espkit.tts.tacotron2.decoder import Decoder
from espkit.tts.tacotron2.encoder import Encoder
from espkit.tts.tacotron2.loss import GuidedAttentionLoss, Tacotron2Loss
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

LOSS_TYPES = ("L1+L2", "L1", "L2")
#: ``postnet_type``: the ``postnet_*`` convolution stack, or a graph YAML (``postnet_architecture``).
POSTNET_TYPES = ("conv", "graph")


def attach_to_memory(hs: torch.Tensor, vec: torch.Tensor, integration: str) -> torch.Tensor:
    """Encoder states ``(B, T_text, D)`` conditioned on a per-utterance vector ``vec`` ``(B, V)``:
    ``add`` adds it to every state (``V == D``), ``concat`` appends it (``(B, T_text, D + V)``),
    anything else (``none``) leaves the states as they are. Scriptable (the export runs it)."""
    if integration == "add":
        return hs + vec.unsqueeze(1)
    if integration == "concat":
        return torch.cat([hs, vec.unsqueeze(1).expand(-1, hs.size(1), -1)], dim=-1)
    return hs


def check_postnet_options(postnet_type: str, postnet_architecture: str | dict | None) -> None:
    """ValueError unless ``postnet_type`` is known and ``postnet_architecture`` is given exactly for ``graph``."""
    if postnet_type not in POSTNET_TYPES:
        raise ValueError(f"postnet_type must be one of {', '.join(POSTNET_TYPES)}, got {postnet_type!r}")
    if postnet_type == "graph" and postnet_architecture is None:
        raise ValueError("postnet_type: graph needs postnet_architecture (a graph YAML file or the graph inline)")
    if postnet_type == "conv" and postnet_architecture is not None:
        raise ValueError("postnet_architecture is given but postnet_type is conv: set postnet_type: graph")


class Tacotron2(SpeakerConditioning, AbsTTS, ArchitectureConf):
    """Tacotron2 acoustic model.

    Token ids get ``<sos/eos>`` (id ``idim - 1``) appended, as in ESPnet, so that attending
    to the last token tells the decoder to stop. Id 0 is padding.

    Args:
        idim: vocabulary size (including ``<blank>`` = 0 and ``<sos/eos>`` = ``idim - 1``).
        odim: feature size (e.g. 80 mel bins).
        embed_dim: token embedding size.
        elayers, eunits: encoder BLSTM layers and output size.
        econv_layers, econv_chans, econv_filts: encoder convolution stack.
        atype: ``location`` (location-sensitive) or ``forward`` (forward attention).
        adim: attention size.
        aconv_chans, aconv_filts: location convolution channels and half-width.
        cumulate_att_w: feed cumulative attention weights (``location`` only).
        dlayers, dunits: decoder LSTM layers and units.
        prenet_layers, prenet_units: decoder prenet.
        postnet_layers, postnet_chans, postnet_filts: postnet convolution stack.
        postnet_type: ``conv`` (that stack) or ``graph``: the postnet is the graph of
            ``postnet_architecture`` (a YAML file path or the graph inline; docs/graphs.md), built by
            :class:`~espkit.tts.tacotron2.graph_postnet.GraphPostnet`, and ``postnet_layers``,
            ``postnet_chans`` and ``postnet_filts`` are not used.
        postnet_architecture: the postnet's graph when ``postnet_type`` is ``graph``.
        output_activation: None, ``tanh``, ``sigmoid`` or ``relu`` on the output frames.
        use_batch_norm: batch norm in the encoder and postnet convolutions.
        use_concate: project ``cat(decoder state, attention context)`` to frames.
        use_residual: residual connections in the encoder convolutions.
        reduction_factor: frames generated per decoder step.
        spks: speaker-id table size (``sids``, added to every encoder state); None or <= 0: none.
        langs: language-id table size (``lids``, likewise); None or <= 0: none.
        spk_embed_dim: size of a speaker embedding ``spembs`` (None: not used).
        spk_embed_integration_type: ``concat`` to or ``add`` (after a projection) to every
            encoder state (:mod:`espkit.tts.speaker.conditioning`).
        use_masking, use_weighted_masking, bce_pos_weight: see
            :class:`~espkit.tts.tacotron2.loss.Tacotron2Loss`.
        loss_type: ``L1+L2``, ``L1`` or ``L2`` for the feature regression.
        use_guided_attn_loss: add a guided attention loss.
        guided_attn_loss_sigma, guided_attn_loss_lambda: its width and weight.
        dropout_rate: dropout of encoder convolutions, prenet and postnet.
        zoneout_rate: zoneout of the decoder LSTMs.
        use_gst: add a global-style-token embedding of the target (training) or of the reference
            ``feats`` (inference) to every encoder state, as ESPnet2's ``use_gst``
            (:class:`~espkit.tts.emotion.reference_encoder.ReferenceEncoder`, style size ``eunits``).
        gst_tokens, gst_heads: style tokens and attention heads.
        gst_conv_layers, gst_conv_chans_list, gst_conv_kernel_size, gst_conv_stride: its 2-D
            convolution stack.
        gst_gru_layers, gst_gru_units: its GRU.
        decoder_impl: ``auto`` (default: the fused decoder loops where they cover the set-up, else
            the step loops), ``stepwise`` or ``fused`` (an error, saying why, where they do not
            cover it); see :class:`~espkit.tts.tacotron2.decoder.Decoder`.
    """

    architecture_options = ("postnet_architecture",)

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
        decoder_impl: str = "auto",
        postnet_type: str = "conv",
        postnet_architecture: str | dict | None = None,
        use_gst: bool = False,
        gst_tokens: int = 10,
        gst_heads: int = 4,
        gst_conv_layers: int = 6,
        gst_conv_chans_list: Sequence[int] = (32, 32, 64, 64, 128, 128),
        gst_conv_kernel_size: int = 3,
        gst_conv_stride: int = 2,
        gst_gru_layers: int = 1,
        gst_gru_units: int = 128,
    ):
        super().__init__()
        check_postnet_options(postnet_type, postnet_architecture)
        if idim < 3:
            raise ValueError(f"idim must count <blank>, tokens and <sos/eos> (>= 3), got {idim}")
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
        if atype not in ATTENTION_TYPES:
            raise ValueError(f"atype must be one of {ATTENTION_TYPES}, got {atype!r}")
        if atype == "forward" and cumulate_att_w:
            logger.info("atype=forward uses the previous attention weights: cumulate_att_w ignored")
            cumulate_att_w = False
        self.idim = idim
        self.odim = odim
        self.eos = idim - 1
        self.padding_idx = 0
        self.reduction_factor = reduction_factor
        self.loss_type = loss_type
        self.use_guided_attn_loss = use_guided_attn_loss

        self.enc = Encoder(
            idim=idim,
            embed_dim=embed_dim,
            elayers=elayers,
            eunits=eunits,
            econv_layers=econv_layers,
            econv_chans=econv_chans,
            econv_filts=econv_filts,
            use_batch_norm=use_batch_norm,
            use_residual=use_residual,
            dropout_rate=dropout_rate,
            padding_idx=self.padding_idx,
        )
        self.gst: ReferenceEncoder | None = None
        if use_gst:
            self.gst = ReferenceEncoder(
                idim=odim,
                conv_layers=gst_conv_layers,
                conv_chans_list=gst_conv_chans_list,
                conv_kernel_size=gst_conv_kernel_size,
                conv_stride=gst_conv_stride,
                gru_layers=gst_gru_layers,
                gru_units=gst_gru_units,
                use_gst=True,
                gst_tokens=gst_tokens,
                gst_heads=gst_heads,
                gst_token_dim=self.enc.output_size(),
            )
        memory_dim = self.build_speaker_conditioning(
            self.enc.output_size(), spks, langs, spk_embed_dim, spk_embed_integration_type, project_concat=False
        )
        memory_dim, cond_dim = self._build_extra_conditioning(memory_dim)
        att = build_attention(atype, memory_dim, dunits, adim, aconv_chans, aconv_filts)
        self.dec = Decoder(
            eprojs=memory_dim,
            odim=odim,
            att=att,
            dlayers=dlayers,
            dunits=dunits,
            prenet_layers=prenet_layers,
            prenet_units=prenet_units,
            postnet_layers=postnet_layers,
            postnet_chans=postnet_chans,
            postnet_filts=postnet_filts,
            output_activation=output_activation,
            cumulate_att_w=cumulate_att_w,
            use_batch_norm=use_batch_norm,
            use_concate=use_concate,
            dropout_rate=dropout_rate,
            zoneout_rate=zoneout_rate,
            reduction_factor=reduction_factor,
            cond_dim=cond_dim,
            decoder_impl=decoder_impl,
            postnet_architecture=postnet_architecture,
        )
        self.taco2_loss = Tacotron2Loss(
            use_masking=use_masking,
            use_weighted_masking=use_weighted_masking,
            bce_pos_weight=bce_pos_weight,
        )
        self.attn_loss = GuidedAttentionLoss(sigma=guided_attn_loss_sigma, alpha=guided_attn_loss_lambda)

    # ----------------------------------------------------------------- conditioning hooks
    def _build_extra_conditioning(self, memory_dim: int) -> tuple[int, int]:
        """Build modules of extra global conditioning (none here).

        Returns the size of the attention memory after the conditioning and the size of the
        per-utterance vector appended to the decoder LSTM input.
        """
        return memory_dim, 0

    def _condition(
        self,
        hs: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """Add global conditioning to the encoder states ``(B, T_text, D)``: the speaker's
        (:meth:`~espkit.tts.speaker.conditioning.SpeakerConditioning.condition_on_speaker`) here.

        Returns the conditioned states ``(B, T_text, memory_dim)``, the decoder vector
        ``(B, cond_dim)`` (None here) and extra outputs for :meth:`inference`'s dict.
        """
        return self.condition_on_speaker(hs, sids, lids, spembs), None, {}

    # ------------------------------------------------------------------------ training
    def _append_eos(self, text: torch.Tensor, text_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T_text)`` -> ``(B, T_text + 1)`` with ``<sos/eos>`` after each text."""
        return append_eos(text, text_lengths, self.eos, self.padding_idx)

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """Training loss of a padded batch.

        Args:
            text: ``(B, T_text)`` token ids (without ``<sos/eos>``).
            text_lengths: ``(B,)``.
            feats: ``(B, T_feats, odim)``.
            feats_lengths: ``(B,)``.
            spembs: ``(B, spk_embed_dim)`` when the model has ``spk_embed_dim``.
            sids, lids: ``(B, 1)`` speaker / language ids when the model has ``spks`` / ``langs``.
            **kwargs: conditioning inputs of subclasses; other keys are ignored.

        Returns:
            ``loss``, stats (``loss``, ``l1_loss``, ``mse_loss``, ``bce_loss`` and, with
            ``use_guided_attn_loss``, ``attn_loss``) and the batch size as ``weight``.
        """
        outs = self._teacher_forced(text, text_lengths, feats, feats_lengths, spembs, sids, lids, **kwargs)
        after_outs, before_outs, logits, att_ws, ys, labels, olens, hlens = outs
        batch_size = text.size(0)
        r = self.reduction_factor

        l1_loss, mse_loss, bce_loss = self.taco2_loss(after_outs, before_outs, logits, ys, labels, olens)
        if self.loss_type == "L1+L2":
            loss = l1_loss + mse_loss + bce_loss
        elif self.loss_type == "L1":
            loss = l1_loss + bce_loss
        else:
            loss = mse_loss + bce_loss
        stats = {
            "l1_loss": l1_loss.detach(),
            "mse_loss": mse_loss.detach(),
            "bce_loss": bce_loss.detach(),
        }
        if self.use_guided_attn_loss:
            steps = torch.div(olens + r - 1, r, rounding_mode="floor")
            attn_loss = self.attn_loss(att_ws, hlens, steps)
            loss = loss + attn_loss
            stats["attn_loss"] = attn_loss.detach()
        stats["loss"] = loss.detach()
        weight = torch.tensor(float(batch_size), dtype=loss.dtype, device=loss.device)
        return loss, stats, weight

    def _teacher_forced(self, text, text_lengths, feats, feats_lengths, spembs=None, sids=None, lids=None, **kwargs):
        """Teacher-forced decoder pass shared by :meth:`forward` and :meth:`forward_attention`.

        Returns ``(after_outs, before_outs, logits, att_ws (B, T_feats // r, T_text + 1), ys, labels,
        olens, hlens)`` with ``ys`` the targets padded to a multiple of ``r``.
        """
        text_lengths = text_lengths.to(text.device)
        feats_lengths = feats_lengths.to(feats.device)
        text = text[:, : int(text_lengths.max())]
        feats = feats[:, : int(feats_lengths.max())]
        xs, ilens = self._append_eos(text, text_lengths)

        # Pad the targets to a multiple of r: the padded frames are masked in the loss.
        r = self.reduction_factor
        ys = F.pad(feats, (0, 0, 0, (-feats.size(1)) % r))
        olens = feats_lengths
        frames = torch.arange(ys.size(1), device=ys.device)
        labels = (frames[None, :] >= (olens - 1)[:, None]).to(ys.dtype)  # 1 from the last frame

        hs, hlens = self.enc(xs, ilens)
        if self.gst is not None:
            hs = hs + self.gst(feats, feats_lengths).unsqueeze(1)
        hs, cond, _ = self._condition(hs, spembs, sids, lids, **kwargs)
        after_outs, before_outs, logits, att_ws = self.dec(hs, hlens, ys, olens, cond)

        return after_outs, before_outs, logits, att_ws, ys, labels, olens, hlens

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
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Teacher-forced attention weights ``{"att_ws": (B, T_feats // r, T_text + 1)}`` for plots."""
        outs = self._teacher_forced(text, text_lengths, feats, feats_lengths, spembs, sids, lids, **kwargs)
        return {"att_ws": outs[3]}

    # ----------------------------------------------------------------------- inference
    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        feats: torch.Tensor | None = None,
        spembs: torch.Tensor | None = None,
        sids: int | torch.Tensor | None = None,
        lids: int | torch.Tensor | None = None,
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
        use_att_constraint: bool = False,
        backward_window: int = 1,
        forward_window: int = 3,
        use_teacher_forcing: bool = False,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Generate features for one utterance.

        Args:
            text: ``(T_text,)`` token ids (without ``<sos/eos>``).
            feats: reference ``(T_feats, odim)``, needed with ``use_teacher_forcing`` and ``use_gst``.
            spembs: ``(spk_embed_dim,)`` when the model has ``spk_embed_dim``.
            sids, lids: a speaker / language id (int or one-element tensor) when the model has
                ``spks`` / ``langs``.
            threshold: stop when a stop probability reaches it.
            minlenratio, maxlenratio: output length bounds as multiples of ``T_text + 1``.
            use_att_constraint: attend only within ``[peak - backward_window,
                peak + forward_window]`` of the previous step's peak.
            use_teacher_forcing: decode with the reference frames as inputs; the output
                then has the reference length.
            **kwargs: conditioning inputs of subclasses (already batched, ``B = 1``).

        Returns:
            ``feat_gen`` ``(T_feats, odim)``, ``prob`` ``(T_feats,)`` and ``att_w``
            ``(T_feats, T_text + 1)`` (plus subclass extras).
        """
        x = torch.cat([text, text.new_tensor([self.eos])])
        hs = self.enc.inference(x).unsqueeze(0)  # (1, T_text + 1, D)
        sids, lids, spembs = speaker_batch_of_one(sids, lids, spembs, hs.device)
        if self.gst is not None:
            if feats is None:
                raise ValueError("a model with use_gst needs the reference feats (T_feats, odim) at inference")
            ref = feats.unsqueeze(0).to(hs.dtype)
            hs = hs + self.gst(ref, ref.new_tensor([ref.size(1)]).long()).unsqueeze(1)
        hs, cond, extras = self._condition(hs, spembs, sids, lids, **kwargs)
        if use_teacher_forcing:
            if feats is None:
                raise ValueError("use_teacher_forcing=True needs the reference feats (T_feats, odim)")
            r = self.reduction_factor
            num_frames = feats.size(0)
            ys = F.pad(feats.unsqueeze(0).to(hs.dtype), (0, 0, 0, (-num_frames) % r))
            hlens = torch.tensor([hs.size(1)], device=hs.device)
            olens = torch.tensor([num_frames], device=hs.device)
            after_outs, _, logits, att_ws = self.dec(hs, hlens, ys, olens, cond)
            return {
                "feat_gen": after_outs[0, :num_frames],
                "prob": torch.sigmoid(logits[0, :num_frames]),
                "att_w": att_ws[0].repeat_interleave(r, dim=0)[:num_frames],
                **extras,
            }
        feat_gen, prob, att_w = self.dec.inference(
            hs[0],
            None if cond is None else cond[0],
            threshold=threshold,
            minlenratio=minlenratio,
            maxlenratio=maxlenratio,
            use_att_constraint=use_att_constraint,
            backward_window=backward_window,
            forward_window=forward_window,
        )
        return {"feat_gen": feat_gen, "prob": prob, "att_w": att_w, **extras}
