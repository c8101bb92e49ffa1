"""FastSpeech2 (Ren et al., 2021) with token-averaged pitch and energy (FastPitch's variant).

:class:`~espkit.tts.fastspeech.fastspeech.FastSpeech` plus two token-level predictors: pitch
and energy are predicted from the (speaker / emotion conditioned) encoder states, and the
target values in training, the predicted (or given) ones at inference, are embedded with a
``Conv1d(1, adim, kernel) + Dropout`` and added to the token states before the length
regulator. Pitch and energy are per token (``T_text + 1`` values, ``<sos/eos>`` included),
averaged over each token's frames and normalised outside the model (ESPnetTTSModel).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from espkit.tts.fastspeech.fastspeech import FastSpeech
from espkit.tts.fastspeech2.variance_predictor import VariancePredictor
from espkit.utils.typecheck import typechecked


@dataclass(frozen=True)
class VarianceOptions:
    """Pitch and energy options of :class:`FastSpeech2` (one of each)."""

    predictor_layers: int
    predictor_chans: int
    predictor_kernel_size: int
    predictor_dropout: float
    embed_kernel_size: int
    embed_dropout: float
    stop_gradient_from_predictor: bool


def _token_embedding(adim: int, kernel_size: int, dropout: float) -> nn.Sequential:
    """``Conv1d(1, adim, kernel_size) -> Dropout`` over ``(B, 1, T_text)`` token values."""
    if kernel_size % 2 == 0:
        raise ValueError(f"pitch/energy embed_kernel_size must be odd so that lengths are kept, got {kernel_size}")
    return nn.Sequential(nn.Conv1d(1, adim, kernel_size, padding=(kernel_size - 1) // 2), nn.Dropout(dropout))


def _embed(embed: nn.Sequential, values: torch.Tensor) -> torch.Tensor:
    """Token values ``(B, T_text, 1)`` -> ``(B, T_text, adim)``."""
    return embed(values.transpose(1, 2)).transpose(1, 2)


def _token_values(name: str, values: torch.Tensor, num_tokens: int, batch: int) -> torch.Tensor:
    """``values`` reshaped to ``(batch, num_tokens, 1)``, ValueError if they do not fit."""
    if values.dim() == 2 and batch == 1 and values.size(-1) == 1:
        values = values.unsqueeze(0)
    elif values.dim() == 1 and batch == 1:
        values = values.view(1, -1, 1)
    elif values.dim() == 2:
        values = values.unsqueeze(-1)
    if values.dim() != 3 or values.size(0) != batch or values.size(1) < num_tokens or values.size(2) != 1:
        raise ValueError(f"{name} must be ({batch}, T_text + 1 = {num_tokens}, 1), got {tuple(values.shape)}")
    return values[:, :num_tokens]


class FastSpeech2(FastSpeech):
    """FastSpeech2 acoustic model (``--tts fastspeech2``).

    Args (besides :class:`~espkit.tts.fastspeech.fastspeech.FastSpeech`'s, ESPnet2's names
    and defaults):
        pitch_predictor_layers, pitch_predictor_chans, pitch_predictor_kernel_size,
            pitch_predictor_dropout: the pitch :class:`VariancePredictor`.
        pitch_embed_kernel_size, pitch_embed_dropout: the pitch embedding convolution.
        stop_gradient_from_pitch_predictor: the pitch predictor reads detached encoder states
            (its loss does not train the encoder).
        energy_*: the same for energy.
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
        zero_triu: bool = False,
        conformer_enc_kernel_size: int = 7,
        conformer_dec_kernel_size: int = 31,
        duration_predictor_layers: int = 2,
        duration_predictor_chans: int = 384,
        duration_predictor_kernel_size: int = 3,
        duration_predictor_dropout_rate: float = 0.1,
        energy_predictor_layers: int = 2,
        energy_predictor_chans: int = 384,
        energy_predictor_kernel_size: int = 3,
        energy_predictor_dropout: float = 0.5,
        energy_embed_kernel_size: int = 9,
        energy_embed_dropout: float = 0.5,
        stop_gradient_from_energy_predictor: bool = False,
        pitch_predictor_layers: int = 2,
        pitch_predictor_chans: int = 384,
        pitch_predictor_kernel_size: int = 3,
        pitch_predictor_dropout: float = 0.5,
        pitch_embed_kernel_size: int = 9,
        pitch_embed_dropout: float = 0.5,
        stop_gradient_from_pitch_predictor: bool = False,
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
        # FastSpeech.__init__ builds the predictors through _build_adaptor(), which reads
        # these options, and initialises every parameter afterwards: set them first (frozen
        # dataclasses, which nn.Module allows before its __init__).
        self.pitch_options = VarianceOptions(
            pitch_predictor_layers,
            pitch_predictor_chans,
            pitch_predictor_kernel_size,
            pitch_predictor_dropout,
            pitch_embed_kernel_size,
            pitch_embed_dropout,
            stop_gradient_from_pitch_predictor,
        )
        self.energy_options = VarianceOptions(
            energy_predictor_layers,
            energy_predictor_chans,
            energy_predictor_kernel_size,
            energy_predictor_dropout,
            energy_embed_kernel_size,
            energy_embed_dropout,
            stop_gradient_from_energy_predictor,
        )
        super().__init__(
            idim=idim,
            odim=odim,
            adim=adim,
            aheads=aheads,
            elayers=elayers,
            eunits=eunits,
            dlayers=dlayers,
            dunits=dunits,
            postnet_layers=postnet_layers,
            postnet_chans=postnet_chans,
            postnet_filts=postnet_filts,
            postnet_dropout_rate=postnet_dropout_rate,
            positionwise_layer_type=positionwise_layer_type,
            positionwise_conv_kernel_size=positionwise_conv_kernel_size,
            use_scaled_pos_enc=use_scaled_pos_enc,
            use_batch_norm=use_batch_norm,
            encoder_normalize_before=encoder_normalize_before,
            decoder_normalize_before=decoder_normalize_before,
            encoder_concat_after=encoder_concat_after,
            decoder_concat_after=decoder_concat_after,
            duration_predictor_layers=duration_predictor_layers,
            duration_predictor_chans=duration_predictor_chans,
            duration_predictor_kernel_size=duration_predictor_kernel_size,
            duration_predictor_dropout_rate=duration_predictor_dropout_rate,
            reduction_factor=reduction_factor,
            encoder_type=encoder_type,
            decoder_type=decoder_type,
            transformer_enc_dropout_rate=transformer_enc_dropout_rate,
            transformer_enc_positional_dropout_rate=transformer_enc_positional_dropout_rate,
            transformer_enc_attn_dropout_rate=transformer_enc_attn_dropout_rate,
            transformer_dec_dropout_rate=transformer_dec_dropout_rate,
            transformer_dec_positional_dropout_rate=transformer_dec_positional_dropout_rate,
            transformer_dec_attn_dropout_rate=transformer_dec_attn_dropout_rate,
            conformer_rel_pos_type=conformer_rel_pos_type,
            conformer_pos_enc_layer_type=conformer_pos_enc_layer_type,
            conformer_self_attn_layer_type=conformer_self_attn_layer_type,
            conformer_activation_type=conformer_activation_type,
            use_macaron_style_in_conformer=use_macaron_style_in_conformer,
            use_cnn_in_conformer=use_cnn_in_conformer,
            conformer_enc_kernel_size=conformer_enc_kernel_size,
            conformer_dec_kernel_size=conformer_dec_kernel_size,
            zero_triu=zero_triu,
            spks=spks,
            langs=langs,
            spk_embed_dim=spk_embed_dim,
            spk_embed_integration_type=spk_embed_integration_type,
            init_type=init_type,
            init_enc_alpha=init_enc_alpha,
            init_dec_alpha=init_dec_alpha,
            use_masking=use_masking,
            use_weighted_masking=use_weighted_masking,
            num_emotions=num_emotions,
            emo_embed_dim=emo_embed_dim,
            emo_feat_dim=emo_feat_dim,
            emo_integration=emo_integration,
        )

    @property
    def needs_pitch_energy(self) -> bool:
        """Training needs token-averaged, normalised ``pitch`` and ``energy``."""
        return True

    def _build_adaptor(self, adim: int) -> None:
        for name, opts in (("pitch", self.pitch_options), ("energy", self.energy_options)):
            predictor = VariancePredictor(
                idim=adim,
                n_layers=opts.predictor_layers,
                n_chans=opts.predictor_chans,
                kernel_size=opts.predictor_kernel_size,
                dropout_rate=opts.predictor_dropout,
            )
            setattr(self, f"{name}_predictor", predictor)
            setattr(self, f"{name}_embed", _token_embedding(adim, opts.embed_kernel_size, opts.embed_dropout))

    def _predict(self, hs: torch.Tensor, pad_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised token pitch and energy ``(B, T_text, 1)`` predicted from ``hs``."""
        p_in = hs.detach() if self.pitch_options.stop_gradient_from_predictor else hs
        e_in = hs.detach() if self.energy_options.stop_gradient_from_predictor else hs
        return self.pitch_predictor(p_in, pad_mask), self.energy_predictor(e_in, pad_mask)

    def _adapt(
        self, hs: torch.Tensor, pad_mask: torch.Tensor, targets: dict[str, torch.Tensor | None]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        for name in ("pitch", "energy"):
            if targets[name] is None:
                raise ValueError(
                    f"FastSpeech2 needs token-averaged {name} (B, T_text + 1, 1) in training: "
                    f"set {name}_extract with use_token_averaged_{name}: true"
                )
        p_outs, e_outs = self._predict(hs, pad_mask)
        keep = (~pad_mask).unsqueeze(-1).to(hs.dtype)
        ps = _token_values("pitch", targets["pitch"].to(hs.device, hs.dtype), hs.size(1), hs.size(0)) * keep
        es = _token_values("energy", targets["energy"].to(hs.device, hs.dtype), hs.size(1), hs.size(0)) * keep
        hs = hs + _embed(self.pitch_embed, ps) + _embed(self.energy_embed, es)
        return hs, {"p_outs": p_outs, "ps": ps, "e_outs": e_outs, "es": es}

    def _adapt_inference(
        self,
        hs: torch.Tensor,
        pitch: torch.Tensor | None,
        energy: torch.Tensor | None,
        use_teacher_forcing: bool,
        controls: dict[str, float],
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if use_teacher_forcing and (pitch is None or energy is None):
            raise ValueError("use_teacher_forcing=True needs pitch and energy (T_text + 1, 1) besides durations")
        p_pred, e_pred = self._predict(hs, None)
        if pitch is None:
            mean = p_pred.mean(dim=1, keepdim=True)
            ps = mean + controls["pitch_scale"] * (p_pred - mean) + controls["pitch_shift"]
        else:
            ps = _token_values("pitch", pitch.to(hs.device, hs.dtype), hs.size(1), 1)
        if energy is None:
            es = controls["energy_scale"] * e_pred + controls["energy_shift"]
        else:
            es = _token_values("energy", energy.to(hs.device, hs.dtype), hs.size(1), 1)
        hs = hs + _embed(self.pitch_embed, ps) + _embed(self.energy_embed, es)
        return hs, {"pitch": ps[0], "energy": es[0]}
