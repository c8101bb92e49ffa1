"""``ESPnetTTSModel``: feature extraction + normalisation + emotion modules + a TTS model.

Batch keys (made by ``CommonCollateFn``; ``B`` utterances):

============================  ====================  =============================================
key                           shape                 meaning
============================  ====================  =============================================
``text``, ``text_lengths``    ``(B, T_text)``, (B,)  token ids (padded with 0)
``speech``, ``speech_lengths`` ``(B, T_wav)``, (B,)  waveform (or features when no feats_extract)
``emo_labs``                  ``(B,)``              emotion label ids (from ``utt2emo``)
``emo_feats``                 ``(B, D_emo)``        given utterance-level emotion features
``durations``                 ``(B, T_text)``       token durations in frames (optional)
``pitch``/``energy``          ``(B, T_feats, 1)``   precomputed frame pitch/energy (optional)
============================  ====================  =============================================
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

import torch

from espkit.layers.abs_normalize import AbsNormalize
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.emo_classifier import EmotionClassifier
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

#: Where the emotion conditioning of the TTS model comes from.
EMO_SOURCES = ("label", "reference", "none")


def reference_sets_emotion(emo_source: str, has_emo_extract: bool, has_emo_classifier: bool) -> bool:
    """Whether a reference utterance can set the emotion at inference: the TTS model is conditioned on
    the extractor's embedding (``emo_source: reference``), or on labels with an emotion classifier whose
    posterior of the reference becomes the label mix. Also read from a ``config.yaml`` by the recipe."""
    if emo_source == "reference":
        return True
    return emo_source == "label" and has_emo_extract and has_emo_classifier


class ESPnetTTSModel(AbsESPnetModel):
    """The trainable whole: ``forward(**batch) -> (loss, stats, weight)``.

    Args:
        feats_extract: Waveform -> features ``(B, T_feats, odim)`` (None: ``speech`` already is features).
        pitch_extract / energy_extract: Frame-level pitch / energy (None: not used).
        normalize / pitch_normalize / energy_normalize: Normalisers (e.g. ``GlobalMVN``).
        emo_extract: Reference utterance -> emotion embedding ``(B, D_emb)`` (None: not used).
        emo_classifier: Emotion embedding -> logits; adds its weighted cross entropy to the loss.
        tts: The text-to-feature model.
        emo_source: ``label`` (the TTS model is conditioned on ``emo_labs``), ``reference`` (on the
            embedding of ``emo_extract`` / the given ``emo_feats``) or ``none``.
    """

    @typechecked
    def __init__(
        self,
        feats_extract: Optional[AbsFeatsExtract],
        pitch_extract: Optional[AbsFeatsExtract],
        energy_extract: Optional[AbsFeatsExtract],
        normalize: Optional[AbsNormalize],
        pitch_normalize: Optional[AbsNormalize],
        energy_normalize: Optional[AbsNormalize],
        emo_extract: Optional[AbsEmoExtract],
        emo_classifier: Optional[EmotionClassifier],
        tts: AbsTTS,
        emo_source: str = "label",
    ):
        super().__init__()
        if emo_source not in EMO_SOURCES:
            raise ValueError(f"emo_source must be one of {EMO_SOURCES}, got {emo_source!r}")
        if (
            emo_extract is not None
            and emo_extract.needs_pitch_energy()
            and (pitch_extract is None or energy_extract is None)
        ):
            raise ValueError(
                f"{type(emo_extract).__name__} needs frame pitch and energy: set --pitch_extract and --energy_extract "
                "(e.g. pitch_extract_conf: {use_continuous_f0: false, use_log_f0: false})"
            )
        if emo_classifier is not None and emo_extract is None:
            raise ValueError("--emo_classifier needs an --emo_extract to classify")
        self.feats_extract = feats_extract
        self.pitch_extract = pitch_extract
        self.energy_extract = energy_extract
        self.normalize = normalize
        self.pitch_normalize = pitch_normalize
        self.energy_normalize = energy_normalize
        self.emo_extract = emo_extract
        self.emo_classifier = emo_classifier
        self.tts = tts
        self.emo_source = emo_source

    @property
    def emotion_from_reference(self) -> bool:
        """Whether a reference utterance can set the emotion at inference (:func:`reference_sets_emotion`)."""
        return reference_sets_emotion(self.emo_source, self.emo_extract is not None, self.emo_classifier is not None)

    # --- features ------------------------------------------------------------------------------
    def extract_feats(self, speech: torch.Tensor, speech_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, T_wav)`` -> un-normalised features ``(B, T_feats, odim)`` and lengths."""
        if self.feats_extract is None:
            return speech, speech_lengths
        return self.feats_extract(speech, speech_lengths)

    def extract_prosody(
        self, speech, speech_lengths, feats_lengths, durations=None, durations_lengths=None, pitch=None, energy=None
    ) -> Dict[str, torch.Tensor]:
        """Frame pitch/energy ``(B, T_feats, 1)`` (computed unless given), un-normalised."""
        out: Dict[str, torch.Tensor] = {}
        if self.pitch_extract is not None:
            if pitch is None:
                pitch, _ = self.pitch_extract(
                    speech,
                    speech_lengths,
                    feats_lengths=feats_lengths,
                    durations=durations,
                    durations_lengths=durations_lengths,
                )
            out["pitch"] = pitch
        if self.energy_extract is not None:
            if energy is None:
                energy, _ = self.energy_extract(
                    speech,
                    speech_lengths,
                    feats_lengths=feats_lengths,
                    durations=durations,
                    durations_lengths=durations_lengths,
                )
            out["energy"] = energy
        return out

    def emotion_embedding(self, feats_norm, feats_lengths, prosody: Dict[str, torch.Tensor]):
        """Embedding ``(B, D_emb)`` of a reference utterance (normalised mel + pitch/energy)."""
        return self.emo_extract(feats_norm, feats_lengths, pitch=prosody.get("pitch"), energy=prosody.get("energy"))

    def normalized_feats(
        self, speech, speech_lengths, pitch=None, energy=None
    ) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]]:
        """Normalised features ``(B, T_feats, odim)``, their lengths ``(B,)`` and the un-normalised
        pitch/energy ``(B, T_feats, 1)`` (computed unless given) of ``speech`` ``(B, T_wav)``, without grad."""
        with torch.no_grad():
            feats, feats_lengths = self.extract_feats(speech, speech_lengths)
            prosody = self.extract_prosody(speech, speech_lengths, feats_lengths, pitch=pitch, energy=energy)
            feats_norm = feats if self.normalize is None else self.normalize(feats, feats_lengths)[0]
        return feats_norm, feats_lengths, prosody

    @torch.no_grad()
    def encode_reference(self, speech: torch.Tensor, emotion: bool = True) -> Dict[str, torch.Tensor]:
        """What the model takes from one reference utterance ``speech`` ``(T_wav,)``.

        Returns ``feats`` (normalised, ``(1, T_feats, odim)``: teacher forcing) and, when ``emotion``
        is true and the model has an emotion extractor, its ``emo_embed`` ``(1, D_emb)``; with an
        emotion classifier too, the classifier's ``emo_posterior`` ``(num_emotions,)``.
        """
        batch = speech.unsqueeze(0)
        lengths = batch.new_tensor([batch.size(1)], dtype=torch.long)
        feats_norm, feats_lengths, prosody = self.normalized_feats(batch, lengths)
        out = {"feats": feats_norm}
        if emotion and self.emo_extract is not None:
            out["emo_embed"] = self.emotion_embedding(feats_norm, feats_lengths, prosody)
            if self.emo_classifier is not None:
                out["emo_posterior"] = self.emo_classifier.predict(out["emo_embed"])[0]
        return out

    # --- training ------------------------------------------------------------------------------
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        emo_labs: Optional[torch.Tensor] = None,
        emo_feats: Optional[torch.Tensor] = None,
        durations: Optional[torch.Tensor] = None,
        durations_lengths: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        pitch_lengths: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        energy_lengths: Optional[torch.Tensor] = None,
        **kwargs: Any,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss of one batch (see the module docstring for the keys and shapes)."""
        feats_norm, feats_lengths, stats, extra_loss, emo_embed = self._inputs(
            speech, speech_lengths, emo_labs, emo_feats, pitch, energy
        )
        tts_kwargs = self._conditioning(emo_labs, emo_embed)
        loss, tts_stats, weight = self.tts(
            text=text, text_lengths=text_lengths, feats=feats_norm, feats_lengths=feats_lengths, **tts_kwargs
        )
        stats.update(tts_stats)
        if extra_loss is not None:
            loss = loss + extra_loss
            stats["loss"] = loss.detach()
        return loss, stats, weight

    def _inputs(self, speech, speech_lengths, emo_labs, emo_feats, pitch, energy):
        """Normalised features, emotion embedding and the emotion classifier's loss/stats."""
        feats_norm, feats_lengths, prosody = self.normalized_feats(speech, speech_lengths, pitch, energy)
        stats: Dict[str, torch.Tensor] = {}
        extra_loss = None
        emo_embed = emo_feats
        if self.emo_extract is not None:
            emo_embed = self.emotion_embedding(feats_norm, feats_lengths, prosody)
            if self.emo_classifier is not None:
                _, extra_loss, emo_stats = self.emo_classifier(emo_embed, emo_labs)
                stats.update({k: v for k, v in emo_stats.items() if v is not None})
        return feats_norm, feats_lengths, stats, extra_loss, emo_embed

    @torch.no_grad()
    def forward_attention(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        emo_labs: Optional[torch.Tensor] = None,
        emo_feats: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        **kwargs: Any,
    ) -> Dict[str, torch.Tensor]:
        """Teacher-forced attention weights of the TTS model, ``{name: (B, T_out, T_in)}``."""
        feats_norm, feats_lengths, _, _, emo_embed = self._inputs(
            speech, speech_lengths, emo_labs, emo_feats, pitch, energy
        )
        return self.tts.forward_attention(
            text=text,
            text_lengths=text_lengths,
            feats=feats_norm,
            feats_lengths=feats_lengths,
            **self._conditioning(emo_labs, emo_embed),
        )

    def _conditioning(self, emo_labs, emo_embed) -> Dict[str, torch.Tensor]:
        if self.emo_source == "label":
            if self.tts.num_emotions() > 0 and emo_labs is None:
                raise ValueError(
                    "the TTS model is conditioned on emotion labels but the batch has no emo_labs "
                    "(add dump/<set>/utt2emo,emo_labs,text to the data)"
                )
            return {"emo_labs": emo_labs} if emo_labs is not None else {}
        if self.emo_source == "reference":
            if emo_embed is None:
                raise ValueError("emo_source=reference needs an --emo_extract or emo_feats in the data")
            return {"emo_feats": emo_embed}
        return {}

    def collect_feats(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        durations_lengths: Optional[torch.Tensor] = None,
        **kwargs: Any,
    ) -> Dict[str, torch.Tensor]:
        """Un-normalised ``feats`` (and ``pitch``/``energy``) with lengths, for statistics."""
        feats, feats_lengths = self.extract_feats(speech, speech_lengths)
        out = {"feats": feats, "feats_lengths": feats_lengths}
        for key, value in self.extract_prosody(speech, speech_lengths, feats_lengths).items():
            out[key] = value
            out[f"{key}_lengths"] = feats_lengths
        return out

    # --- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        speech: Optional[torch.Tensor] = None,
        emo_labs: Optional[torch.Tensor] = None,
        emo_feats: Optional[torch.Tensor] = None,
        durations: Optional[torch.Tensor] = None,
        use_teacher_forcing: bool = False,
        **decode_config: Any,
    ) -> Dict[str, torch.Tensor]:
        """Synthesise one utterance.

        Args:
            text: Token ids ``(T_text,)``.
            speech: Reference waveform ``(T_wav,)`` (emotion reference and/or teacher forcing).
            emo_labs: Label id ``()`` or mixture weights ``(num_emotions,)``.
            emo_feats: Emotion features/embedding ``(D_emo,)``.
            use_teacher_forcing: Decode with the reference's features as decoder inputs.

        Returns:
            ``feat_gen`` (normalised, ``(T_feats, odim)``), ``feat_gen_denorm``, ``prob``, ``att_w``
            and, when a reference was given, ``emo_posterior`` ``(num_emotions,)``.
        """
        out: Dict[str, torch.Tensor] = {}
        feats_norm = None
        emo_embed = emo_feats.unsqueeze(0) if emo_feats is not None else None
        if speech is not None:
            reference = self.encode_reference(speech, emotion=emo_feats is None)
            feats_norm = reference["feats"]
            emo_embed = reference.get("emo_embed", emo_embed)
            if "emo_posterior" in reference:
                out["emo_posterior"] = reference["emo_posterior"]
        elif use_teacher_forcing:
            raise ValueError("use_teacher_forcing needs the reference speech")
        kwargs: Dict[str, Any] = dict(decode_config)
        if self.emo_source == "label" and emo_labs is not None:
            kwargs["emo_labs"] = emo_labs
        elif self.emo_source == "reference":
            if emo_embed is None:
                raise ValueError("this model is conditioned on a reference: give speech or emo_feats")
            kwargs["emo_feats"] = emo_embed[0]
        if use_teacher_forcing:
            kwargs["feats"] = feats_norm[0]
            kwargs["use_teacher_forcing"] = True
        result = self.tts.inference(text, **kwargs)
        out.update(result)
        feat_gen = result["feat_gen"]
        if self.normalize is not None:
            lengths = feat_gen.new_tensor([feat_gen.size(0)], dtype=torch.long)
            out["feat_gen_denorm"] = self.normalize.inverse(feat_gen.unsqueeze(0), lengths)[0][0]
        else:
            out["feat_gen_denorm"] = feat_gen
        return out
