"""FastSpeech (Ren et al., 2019): text -> features in one pass, with durations from a teacher.

A Transformer encoder reads the tokens (``<sos/eos>`` = ``idim - 1`` appended, as in
Tacotron2); a duration predictor learns each token's frame count (``log(d + 1)``); the
length regulator repeats each token state by its duration; a Transformer decoder (the same
encoder stack without an input layer) and a linear layer make the frames, and the Tacotron2
postnet refines them. Durations come from outside (e.g. a Tacotron2 teacher's attention,
``tts_inference --use_teacher_forcing true``) and must sum to each utterance's frame count
(``T_feats // reduction_factor`` frames with ``reduction_factor > 1``).

The constructor takes ESPnet2's option names and defaults, so an ESPnet2 ``tts_conf`` builds
unchanged. Only the Transformer encoder/decoder is built: ``encoder_type`` /
``decoder_type`` ``conformer`` (and the ``conformer_*`` options, accepted so that configs
parse) raise a ValueError. espkit's own emotion options (``num_emotions``, ``emo_embed_dim``,
``emo_feat_dim``, ``emo_integration``) condition the encoder states on an emotion vector
(:mod:`espkit.tts.emotion.conditioning`) before the predictors; ``num_emotions=0`` without
``emo_feat_dim`` (the default) is ESPnet's model.

:class:`~espkit.tts.fastspeech2.fastspeech2.FastSpeech2` is this model plus token-level pitch
and energy predictors (the :meth:`FastSpeech._adapt` hooks).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from espkit.nets.initialize import initialize
from espkit.nets.masks import append_eos, make_non_pad_mask, make_pad_mask
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
from espkit.tts.fastspeech2.length_regulator import LengthRegulator
from espkit.tts.fastspeech2.loss import FastSpeech2Loss
from espkit.tts.fastspeech2.variance_predictor import DurationPredictor
from espkit.tts.speaker.conditioning import SpeakerConditioning, speaker_batch_of_one
from espkit.tts.tacotron2.decoder import Postnet
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


def _check_block_type(option: str, value: str) -> None:
    if value == "conformer":
        raise ValueError(
            f"{option}=conformer is not built in espkit: only 'transformer' is (set {option}: transformer)"
        )
    if value != "transformer":
        raise ValueError(f"{option} must be 'transformer' (or ESPnet's 'conformer', not built here), got {value!r}")


class FastSpeech(SpeakerConditioning, AbsTTS):
    """FastSpeech acoustic model (``--tts fastspeech``); see the module doc.

    Args:
        idim: vocabulary size (``<blank>`` = 0 ... ``<sos/eos>`` = ``idim - 1``).
        odim: feature size.
        adim, aheads: attention size and heads of encoder and decoder.
        elayers, eunits: encoder layers and feed-forward units.
        dlayers, dunits: decoder layers and feed-forward units.
        postnet_layers, postnet_chans, postnet_filts, postnet_dropout_rate: Tacotron2 postnet
            (``postnet_layers=0``: none).
        positionwise_layer_type: ``linear``, ``conv1d`` or ``conv1d-linear`` feed-forwards.
        positionwise_conv_kernel_size: their kernel (odd).
        use_scaled_pos_enc: positional encodings with a learnable scale ``alpha``.
        use_batch_norm: batch norm in the postnet.
        encoder_normalize_before, decoder_normalize_before: pre-norm layers.
        encoder_concat_after, decoder_concat_after: concat-then-linear attention residuals.
        duration_predictor_layers, duration_predictor_chans, duration_predictor_kernel_size,
            duration_predictor_dropout_rate: the duration predictor.
        reduction_factor: frames per decoder position (durations then count reduced frames).
        encoder_type, decoder_type: ``transformer`` (``conformer``: ValueError).
        transformer_enc_dropout_rate, transformer_enc_positional_dropout_rate,
            transformer_enc_attn_dropout_rate: encoder dropouts (residual branches,
            positional encoding, attention weights); ``transformer_dec_*`` likewise.
        conformer_rel_pos_type, conformer_pos_enc_layer_type, conformer_self_attn_layer_type,
            conformer_activation_type, use_macaron_style_in_conformer, use_cnn_in_conformer,
            conformer_enc_kernel_size, conformer_dec_kernel_size, zero_triu: ESPnet's Conformer
            options, accepted and unused.
        spks: speaker-id table size (``sids``); <= 0 or None: none.
        langs: language-id table size (``lids``); <= 0 or None: none.
        spk_embed_dim: size of speaker embeddings ``spembs`` (None: none).
        spk_embed_integration_type: ``add`` (projected and added) or ``concat`` (appended, then
            projected back to ``adim``); see :mod:`espkit.tts.speaker.conditioning`.
        init_type: ``xavier_uniform``, ``xavier_normal``, ``kaiming_uniform``,
            ``kaiming_normal`` or ``pytorch``.
        init_enc_alpha, init_dec_alpha: initial ``alpha`` of the scaled positional encodings.
        use_masking, use_weighted_masking: see :class:`~espkit.tts.fastspeech2.loss.FastSpeech2Loss`.
        num_emotions: emotion label table size (0: no labels).
        emo_embed_dim: emotion vector size.
        emo_feat_dim: size of given emotion features ``emo_feats`` (None: none).
        emo_integration: ``add`` (projected to ``adim`` and added to every encoder state),
            ``concat`` (appended, then projected back to ``adim``) or ``none``.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 384,
        aheads: int = 4,
        elayers: int = 6,
        eunits: int = 1536,
        dlayers: int = 6,
        dunits: int = 1536,
        postnet_layers: int = 5,
        postnet_chans: int = 512,
        postnet_filts: int = 5,
        postnet_dropout_rate: float = 0.5,
        positionwise_layer_type: str = "conv1d",
        positionwise_conv_kernel_size: int = 1,
        use_scaled_pos_enc: bool = True,
        use_batch_norm: bool = True,
        encoder_normalize_before: bool = True,
        decoder_normalize_before: bool = True,
        encoder_concat_after: bool = False,
        decoder_concat_after: bool = False,
        duration_predictor_layers: int = 2,
        duration_predictor_chans: int = 384,
        duration_predictor_kernel_size: int = 3,
        duration_predictor_dropout_rate: float = 0.1,
        reduction_factor: int = 1,
        encoder_type: str = "transformer",
        decoder_type: str = "transformer",
        transformer_enc_dropout_rate: float = 0.1,
        transformer_enc_positional_dropout_rate: float = 0.1,
        transformer_enc_attn_dropout_rate: float = 0.1,
        transformer_dec_dropout_rate: float = 0.1,
        transformer_dec_positional_dropout_rate: float = 0.1,
        transformer_dec_attn_dropout_rate: float = 0.1,
        conformer_rel_pos_type: str = "legacy",
        conformer_pos_enc_layer_type: str = "rel_pos",
        conformer_self_attn_layer_type: str = "rel_selfattn",
        conformer_activation_type: str = "swish",
        use_macaron_style_in_conformer: bool = True,
        use_cnn_in_conformer: bool = True,
        conformer_enc_kernel_size: int = 7,
        conformer_dec_kernel_size: int = 31,
        zero_triu: bool = False,
        spks: int | None = -1,
        langs: int | None = -1,
        spk_embed_dim: int | None = None,
        spk_embed_integration_type: str = "add",
        init_type: str = "xavier_uniform",
        init_enc_alpha: float = 1.0,
        init_dec_alpha: float = 1.0,
        use_masking: bool = False,
        use_weighted_masking: bool = False,
        num_emotions: int = 0,
        emo_embed_dim: int = 64,
        emo_feat_dim: int | None = None,
        emo_integration: str = "add",
    ):
        super().__init__()
        if idim < 3:
            raise ValueError(f"idim must count <blank>, tokens and <sos/eos> (>= 3), got {idim}")
        _check_block_type("encoder_type", encoder_type)
        _check_block_type("decoder_type", decoder_type)
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {reduction_factor}")
        check_emotion_options(num_emotions, emo_embed_dim, emo_feat_dim, emo_integration, required=False)
        self.idim = idim
        self.odim = odim
        self.eos = idim - 1
        self.padding_idx = 0
        self.reduction_factor = reduction_factor
        self.use_scaled_pos_enc = use_scaled_pos_enc
        self.emo_integration = emo_integration
        pos_enc_class = ScaledPositionalEncoding if use_scaled_pos_enc else PositionalEncoding

        self.encoder = Encoder(
            idim=idim,
            attention_dim=adim,
            attention_heads=aheads,
            linear_units=eunits,
            num_blocks=elayers,
            dropout_rate=transformer_enc_dropout_rate,
            positional_dropout_rate=transformer_enc_positional_dropout_rate,
            attention_dropout_rate=transformer_enc_attn_dropout_rate,
            input_layer="embed",
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

        self.duration_predictor = DurationPredictor(
            idim=adim,
            n_layers=duration_predictor_layers,
            n_chans=duration_predictor_chans,
            kernel_size=duration_predictor_kernel_size,
            dropout_rate=duration_predictor_dropout_rate,
        )
        self._build_adaptor(adim)
        self.length_regulator = LengthRegulator()
        self.decoder = Encoder(
            idim=0,
            attention_dim=adim,
            attention_heads=aheads,
            linear_units=dunits,
            num_blocks=dlayers,
            dropout_rate=transformer_dec_dropout_rate,
            positional_dropout_rate=transformer_dec_positional_dropout_rate,
            attention_dropout_rate=transformer_dec_attn_dropout_rate,
            input_layer=None,
            normalize_before=decoder_normalize_before,
            concat_after=decoder_concat_after,
            positionwise_layer_type=positionwise_layer_type,
            positionwise_conv_kernel_size=positionwise_conv_kernel_size,
            pos_enc_class=pos_enc_class,
        )
        self.feat_out = nn.Linear(adim, odim * reduction_factor)
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
            self.decoder.embed[-1].reset_parameters(init_dec_alpha)
        self.criterion = FastSpeech2Loss(use_masking=use_masking, use_weighted_masking=use_weighted_masking)

    # ------------------------------------------------------------------ interface
    @property
    def needs_durations(self) -> bool:
        """Training needs per-token durations (``durations`` in the batch)."""
        return True

    @property
    def supports_prosody_control(self) -> bool:
        """``alpha`` and duration overrides at inference."""
        return True

    @property
    def has_emotion(self) -> bool:
        """Whether the model is conditioned on an emotion (labels or features)."""
        return self.emo_embed is not None or self.emo_feat_proj is not None

    def num_emotions(self) -> int:
        """Rows of the emotion label table (0: none)."""
        return 0 if self.emo_embed is None else self.emo_embed.num_embeddings

    # --------------------------------------------------------------- adaptor hooks
    def _build_adaptor(self, adim: int) -> None:
        """Build the modules between duration prediction and length regulation (none here)."""

    def _adapt(
        self, hs: torch.Tensor, pad_mask: torch.Tensor, targets: dict[str, torch.Tensor | None]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Training: token states ``(B, T_text, adim)`` -> conditioned states and loss inputs."""
        return hs, {}

    def _adapt_inference(
        self,
        hs: torch.Tensor,
        pitch: torch.Tensor | None,
        energy: torch.Tensor | None,
        use_teacher_forcing: bool,
        controls: dict[str, float],
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Inference: token states ``(1, T_text, adim)`` -> conditioned states and output entries."""
        name = type(self).__name__.lower()
        if pitch is not None or energy is not None:
            given = "pitch" if pitch is not None else "energy"
            raise ValueError(f"{given} needs a model with pitch/energy predictors (fastspeech2); this model is {name}")
        defaults = {"pitch_scale": 1.0, "pitch_shift": 0.0, "energy_scale": 1.0, "energy_shift": 0.0}
        for option, default in defaults.items():
            if controls[option] != default:
                raise ValueError(
                    f"{option} needs a model with pitch/energy predictors (fastspeech2); this model is {name}"
                )
        return hs, {}

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
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids ``(B, T_text)`` -> conditioned states ``(B, T_text, adim)`` and the padding
        mask ``(B, T_text)`` (True at padded tokens)."""
        masks = make_non_pad_mask(ilens, xs.size(1)).unsqueeze(1)
        hs, _ = self.encoder(xs, masks)
        hs = self.condition_on_speaker(hs, sids, lids, spembs)
        if self.has_emotion:
            emo = emotion_vector(self.emo_embed, self.emo_feat_proj, emo_labs, emo_feats, type(self).__name__)
            hs = project_emotion(hs, emo, self.emo_memory_proj, self.emo_integration)
        return hs, ~masks.squeeze(1)

    def _decode(self, frames: torch.Tensor, frame_lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame states ``(B, T, adim)`` -> features before and after the postnet
        ``(B, T * reduction_factor, odim)`` (padded frames zero)."""
        masks = None if frame_lengths is None else make_non_pad_mask(frame_lengths, frames.size(1)).unsqueeze(1)
        zs, _ = self.decoder(frames, masks)
        before_outs = self.feat_out(zs).view(zs.size(0), -1, self.odim)
        pad_mask = None
        if frame_lengths is not None:
            pad_mask = make_pad_mask(frame_lengths * self.reduction_factor, before_outs.size(1)).unsqueeze(-1)
            before_outs = before_outs.masked_fill(pad_mask, 0.0)
        if self.postnet is None:
            return before_outs, before_outs
        return before_outs, self.postnet.refine(before_outs, pad_mask)

    def _check_durations(self, ds: torch.Tensor, feats_lengths: torch.Tensor) -> torch.Tensor:
        """Frames per decoder position ``(B,)``; ValueError unless ``ds`` sums to them."""
        if bool((ds < 0).any()):
            row = int((ds < 0).any(dim=1).nonzero()[0])
            raise ValueError(f"durations must be >= 0: utterance {row} of the batch has {ds[row].tolist()}")
        r = self.reduction_factor
        expected = torch.div(feats_lengths, r, rounding_mode="floor")
        sums = ds.sum(dim=1)
        bad = (sums != expected).nonzero()
        if bad.numel() > 0:
            b = int(bad[0])
            raise ValueError(
                f"durations of utterance {b} of the batch sum to {int(sums[b])} frames but its feats have "
                f"{int(feats_lengths[b])} (reduction_factor {r}: expected {int(expected[b])}); durations must "
                "cover the feats exactly (were they made with the same feats_extract / hop_length?)"
            )
        return expected

    # ------------------------------------------------------------------------ training
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: torch.Tensor | None = None,
        durations_lengths: torch.Tensor | None = None,
        pitch: torch.Tensor | None = None,
        pitch_lengths: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
        energy_lengths: torch.Tensor | None = None,
        emo_labs: torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """Training loss of a padded batch.

        Args:
            text: ``(B, T_text)`` token ids (without ``<sos/eos>``); text_lengths: ``(B,)``.
            feats: ``(B, T_feats, odim)`` normalised; feats_lengths: ``(B,)``.
            durations: ``(B, T_text + 1)`` long frames per token (``<sos/eos>`` included),
                each row summing to its ``feats_lengths // reduction_factor``;
                durations_lengths: ``(B,)`` = ``text_lengths + 1``.
            pitch, energy: ``(B, T_text + 1, 1)`` token-averaged, normalised (FastSpeech2;
                ignored here), with their lengths.
            emo_labs: ``(B,)`` long or ``(B, num_emotions)`` float, or emo_feats
                ``(B, emo_feat_dim)``, when the model has an emotion (ignored otherwise).
            spembs: ``(B, spk_embed_dim)``; sids, lids: ``(B, 1)`` or ``(B,)``, when the model has
                ``spk_embed_dim`` / ``spks`` / ``langs``.
            **kwargs: other batch entries, ignored.

        Returns:
            ``loss``, stats (``loss``, ``l1_loss``, ``duration_loss``, FastSpeech2's
            ``pitch_loss`` / ``energy_loss``, and ``encoder_alpha`` / ``decoder_alpha`` with
            scaled positional encodings) and the batch size as ``weight``.
        """
        if durations is None:
            raise ValueError(
                f"{type(self).__name__} needs durations (B, T_text + 1) in the batch: add the teacher's "
                "durations to the data (tts.sh --teacher_dumpdir)"
            )
        text_lengths = text_lengths.to(text.device)
        feats_lengths = feats_lengths.to(feats.device)
        text = text[:, : int(text_lengths.max())]
        xs, ilens = append_eos(text, text_lengths, self.eos, self.padding_idx)
        if durations_lengths is not None and not torch.equal(durations_lengths.to(ilens.device), ilens):
            raise ValueError(
                f"durations_lengths {durations_lengths.tolist()} != text_lengths + 1 {ilens.tolist()}: "
                "durations need one entry per token plus <sos/eos>"
            )
        if durations.size(1) < xs.size(1):
            raise ValueError(f"durations have {durations.size(1)} entries, need T_text + 1 = {xs.size(1)}")
        token_mask = make_non_pad_mask(ilens, xs.size(1))
        ds = durations[:, : xs.size(1)].long().to(xs.device) * token_mask
        frame_lengths = self._check_durations(ds, feats_lengths)

        hs, pad_mask = self._encode(xs, ilens, spembs, sids, lids, emo_labs, emo_feats)
        d_outs = self.duration_predictor(hs, pad_mask)
        targets = {"pitch": pitch, "energy": energy}
        hs, adaptor_terms = self._adapt(hs, pad_mask, targets)
        frames, _ = self.length_regulator.expand(hs, ds)
        before_outs, after_outs = self._decode(frames, frame_lengths)

        olens = frame_lengths * self.reduction_factor
        ys = feats[:, : before_outs.size(1)]
        losses = self.criterion(
            after_outs if self.postnet is not None else None,
            before_outs,
            d_outs,
            ys,
            ds,
            ilens,
            olens,
            **adaptor_terms,
        )
        loss = sum(losses.values())
        stats = {name: value.detach() for name, value in losses.items()}
        stats["loss"] = loss.detach()
        if self.use_scaled_pos_enc:
            stats["encoder_alpha"] = self.encoder.embed[-1].alpha.detach()
            stats["decoder_alpha"] = self.decoder.embed[-1].alpha.detach()
        weight = torch.tensor(float(text.size(0)), dtype=loss.dtype, device=loss.device)
        return loss, stats, weight

    # ----------------------------------------------------------------------- inference
    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        feats: torch.Tensor | None = None,
        durations: torch.Tensor | None = None,
        pitch: torch.Tensor | None = None,
        energy: torch.Tensor | None = None,
        emo_labs: int | torch.Tensor | None = None,
        emo_feats: torch.Tensor | None = None,
        spembs: torch.Tensor | None = None,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        alpha: float = 1.0,
        use_teacher_forcing: bool = False,
        pitch_scale: float = 1.0,
        pitch_shift: float = 0.0,
        energy_scale: float = 1.0,
        energy_shift: float = 0.0,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor]:
        """Generate features for one utterance (deterministic in eval mode).

        Args:
            text: ``(T_text,)`` token ids (without ``<sos/eos>``).
            feats: unused (kept for the common interface).
            durations: ``(T_text + 1,)`` frames per token, used instead of the predicted ones
                (``alpha`` is not applied to them).
            pitch, energy: ``(T_text + 1, 1)`` normalised token values used instead of the
                predicted ones (FastSpeech2; the controls below are not applied to them).
            emo_labs: an id or ``(num_emotions,)`` weights; emo_feats: ``(emo_feat_dim,)``.
            spembs: ``(spk_embed_dim,)``; sids, lids: an id (int or one-element tensor).
            alpha: predicted durations are multiplied by it, then rounded (> 1: slower).
            use_teacher_forcing: require and use the given durations (and pitch / energy).
            pitch_scale, pitch_shift: predicted normalised pitch ``p`` becomes
                ``mean + pitch_scale * (p - mean) + pitch_shift`` (``mean`` over the
                utterance's tokens); FastSpeech2 only.
            energy_scale, energy_shift: predicted normalised energy ``e`` becomes
                ``energy_scale * e + energy_shift``; FastSpeech2 only.
            **kwargs: other decoding options, ignored.

        Returns:
            ``feat_gen`` ``(T_feats, odim)`` and ``duration`` ``(T_text + 1,)`` (long, the
            durations used: they sum to ``T_feats / reduction_factor``), plus FastSpeech2's
            ``pitch`` and ``energy`` ``(T_text + 1, 1)`` (those used, normalised).
        """
        if not alpha > 0.0:
            raise ValueError(f"alpha (speed control) must be > 0, got {alpha}")
        x = torch.cat([text.view(-1), text.new_tensor([self.eos])]).unsqueeze(0)
        num_tokens = x.size(1)
        ilens = torch.tensor([num_tokens], device=x.device)
        emo_labs, emo_feats = batch_of_one(emo_labs, emo_feats, x.device)
        sids, lids, spembs = speaker_batch_of_one(sids, lids, spembs, x.device)
        hs, _ = self._encode(x, ilens, spembs, sids, lids, emo_labs, emo_feats)
        if use_teacher_forcing and durations is None:
            raise ValueError("use_teacher_forcing=True needs durations (T_text + 1,)")
        if durations is not None:
            ds = durations.to(x.device).long().view(1, -1)
            if ds.size(1) != num_tokens:
                raise ValueError(f"durations have {ds.size(1)} entries, need T_text + 1 = {num_tokens}")
            if bool((ds < 0).any()):
                raise ValueError(f"durations must be >= 0, got {ds[0].tolist()}")
        else:
            ds = self.duration_predictor.inference(hs, None, alpha)
        controls = {
            "pitch_scale": float(pitch_scale),
            "pitch_shift": float(pitch_shift),
            "energy_scale": float(energy_scale),
            "energy_shift": float(energy_shift),
        }
        hs, outputs = self._adapt_inference(hs, pitch, energy, use_teacher_forcing, controls)
        ds = self.length_regulator.fix_empty(ds)
        frames, _ = self.length_regulator.expand(hs, ds)
        _, after_outs = self._decode(frames, None)
        return {"feat_gen": after_outs[0], "duration": ds[0], **outputs}
