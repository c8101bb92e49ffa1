"""``ESPnetTTSModel``: feature extraction + normalisation + emotion modules + a TTS model.

Batch keys (made by ``CommonCollateFn``; ``B`` utterances):

============================  ====================  =============================================
key                           shape                 meaning
============================  ====================  =============================================
``text``, ``text_lengths``    ``(B, T_text)``, (B,)  token ids (padded with 0)
``speech``, ``speech_lengths`` ``(B, T_wav)``, (B,)  waveform (or features when no feats_extract)
``emo_labs``                  ``(B,)``              emotion label ids (from ``utt2emo``)
``emo_feats``                 ``(B, D_emo)``        given utterance-level emotion features
``durations``                 ``(B, T_text + 1)``   frames per token incl. ``<sos/eos>`` (models
                                                    with ``needs_durations``: FastSpeech2/FastSpeech)
``pitch``/``energy``          ``(B, T_feats, 1)``   precomputed frame pitch/energy (optional); for
                              ``(B, T_text + 1, 1)``  models with ``needs_pitch_energy``: token level
``sids``                      ``(B, 1)``            speaker ids (``utt2sid``; models with ``spks``)
``lids``                      ``(B, 1)``            language ids (``utt2lid``; models with ``langs``)
``spembs``                    ``(B, spk_embed_dim)`` speaker embeddings (``*.npy`` scp; models with
                                                    ``spk_embed_dim``)
============================  ====================  =============================================

Models that need durations (``tts.needs_durations``) get ``durations`` from the data (teacher
durations, ``tts.sh --teacher_dumpdir``); those that need pitch and energy get them averaged over
each token's frames (the ``Pitch``/``Energy`` extractors with ``use_token_averaged_f0`` /
``use_token_averaged_energy``; F0 by YIN) and normalised by ``pitch_normalize``/``energy_normalize``.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, Optional, Tuple

import torch

from espkit.layers.abs_normalize import AbsNormalize
from espkit.layers.global_mvn import GlobalMVN
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.emo_classifier import EmotionClassifier
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

#: Where the emotion conditioning of the TTS model comes from.
EMO_SOURCES = ("label", "reference", "none")

#: How to give a model that needs durations its teacher durations (named by the errors).
DURATIONS_HINT = (
    "add --train_data_path_and_name_and_type <teacher_dumpdir>/<set>/durations,durations,text_int "
    "(and the valid one; in the recipe: tts.sh --teacher_dumpdir, or run.sh --tts_model fastspeech2)"
)


def missing_durations_error(tts: AbsTTS) -> str:
    """The one-line error for a batch or data set without durations for a model that needs them."""
    return f"--tts {type(tts).__name__} needs token durations but the data has none: {DURATIONS_HINT}"


def check_token_prosody_extractors(
    tts: AbsTTS, pitch_extract: Optional[AbsFeatsExtract], energy_extract: Optional[AbsFeatsExtract]
) -> None:
    """ValueError unless a model that needs pitch/energy has token-averaging pitch and energy extractors."""
    if not tts.needs_pitch_energy:
        return
    name = type(tts).__name__
    if pitch_extract is None or not pitch_extract.get_parameters().get("use_token_averaged_f0", False):
        raise ValueError(
            f"--tts {name} needs token-averaged pitch: set --pitch_extract pitch and "
            "--pitch_extract_conf use_token_averaged_f0=true"
        )
    if energy_extract is None or not energy_extract.get_parameters().get("use_token_averaged_energy", False):
        raise ValueError(
            f"--tts {name} needs token-averaged energy: set --energy_extract energy and "
            "--energy_extract_conf use_token_averaged_energy=true"
        )


def normalizer_mean_std(normalize: Optional[AbsNormalize], option: str) -> Tuple[float, float]:
    """``(mean, std)`` of a one-dimensional global normaliser (``(0, 1)`` for none): ``x_norm =
    (x - mean) / std``. Other normalisers (utterance_mvn) have no global affine map: ValueError."""
    if normalize is None:
        return 0.0, 1.0
    if not isinstance(normalize, GlobalMVN):
        raise ValueError(
            f"--{option} {type(normalize).__name__}: prosody controls need global statistics (global_mvn or none)"
        )
    mean = float(normalize.mean.reshape(-1)[0]) if normalize.norm_means else 0.0
    std = float(normalize.std.reshape(-1)[0]) if normalize.norm_vars else 1.0
    return mean, std


def speaker_inputs(sids: Any = None, lids: Any = None, spembs: Any = None) -> Dict[str, Any]:
    """The given speaker inputs as keyword arguments of the TTS model (absent ones left out, so that
    a model without speaker conditioning is called as before)."""
    given = {"sids": sids, "lids": lids, "spembs": spembs}
    return {name: value for name, value in given.items() if value is not None}


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
        check_token_prosody_extractors(tts, pitch_extract, energy_extract)
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
        """Un-normalised ``pitch``/``energy`` with their ``*_lengths`` (computed unless given): frame
        level ``(B, T_feats, 1)``, or token level ``(B, T_text + 1, 1)`` when ``durations`` are given
        to a token-averaging extractor."""
        out: Dict[str, torch.Tensor] = {}
        for key, extract, given in (("pitch", self.pitch_extract, pitch), ("energy", self.energy_extract, energy)):
            if extract is None:
                continue
            if given is None:
                given, lengths = extract(
                    speech,
                    speech_lengths,
                    feats_lengths=feats_lengths,
                    durations=durations,
                    durations_lengths=durations_lengths,
                )
            else:
                lengths = durations_lengths if durations is not None else feats_lengths
            out[key] = given
            out[f"{key}_lengths"] = lengths
        return out

    @property
    def _needs_frame_prosody(self) -> bool:
        """Whether frame-level pitch/energy are used (by the emotion extractor, or kept for models
        that do not take token-level prosody, as before)."""
        if not self.tts.needs_pitch_energy:
            return True
        return self.emo_extract is not None and self.emo_extract.needs_pitch_energy()

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
            prosody = {}
            if self._needs_frame_prosody:
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
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        **kwargs: Any,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss of one batch (see the module docstring for the keys and shapes)."""
        token_level = self.tts.needs_pitch_energy
        feats_norm, feats_lengths, stats, extra_loss, emo_embed = self._inputs(
            speech,
            speech_lengths,
            emo_labs,
            emo_feats,
            None if token_level else pitch,
            None if token_level else energy,
        )
        tts_kwargs = {**self._conditioning(emo_labs, emo_embed), **speaker_inputs(sids, lids, spembs)}
        if self.tts.needs_durations:
            tts_kwargs.update(
                self.duration_inputs(
                    text_lengths, speech, speech_lengths, feats_lengths, durations, durations_lengths, pitch, energy
                )
            )
        loss, tts_stats, weight = self.tts(
            text=text, text_lengths=text_lengths, feats=feats_norm, feats_lengths=feats_lengths, **tts_kwargs
        )
        stats.update(tts_stats)
        if extra_loss is not None:
            loss = loss + extra_loss
            stats["loss"] = loss.detach()
        return loss, stats, weight

    def duration_inputs(
        self,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: Optional[torch.Tensor],
        durations_lengths: Optional[torch.Tensor],
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """The duration-model inputs of a batch: ``durations`` ``(B, T_text + 1)`` and their lengths
        and, for models with ``needs_pitch_energy``, token-averaged normalised ``pitch``/``energy``
        ``(B, T_text + 1, 1)`` with lengths (given token-level ``pitch``/``energy`` are used as is).

        Raises ValueError when the batch has no durations or a row does not have ``T_text + 1`` of them.
        """
        if durations is None:
            raise ValueError(missing_durations_error(self.tts))
        if durations_lengths is None:
            durations_lengths = torch.full_like(text_lengths, durations.size(1))
        durations_lengths = durations_lengths.to(text_lengths.device)
        wrong = (durations_lengths != text_lengths + 1).nonzero().flatten().tolist()
        if wrong:
            i = wrong[0]
            raise ValueError(
                f"durations: batch row {i} has {int(durations_lengths[i])} durations for {int(text_lengths[i])} "
                "tokens; they need one per token plus one for <sos/eos> (made with another token list?)"
            )
        out = {"durations": durations.long(), "durations_lengths": durations_lengths}
        if not self.tts.needs_pitch_energy:
            return out
        with torch.no_grad():
            prosody = self.extract_prosody(
                speech, speech_lengths, feats_lengths, durations, durations_lengths, pitch=pitch, energy=energy
            )
        for key, normalize in (("pitch", self.pitch_normalize), ("energy", self.energy_normalize)):
            value, lengths = prosody[key], prosody[f"{key}_lengths"]
            if normalize is not None:
                value = normalize(value, lengths)[0]
            out[key], out[f"{key}_lengths"] = value, lengths
        return out

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
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
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
            **speaker_inputs(sids, lids, spembs),
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
        """Un-normalised ``feats`` (and ``pitch``/``energy``) with lengths, for statistics.

        With ``durations`` (teacher durations in the data) token-averaging extractors give token-level
        pitch/energy ``(B, T_text + 1, 1)``, so that ``pitch_stats.npz``/``energy_stats.npz`` describe
        what a FastSpeech2 model is trained on; otherwise frame level ``(B, T_feats, 1)``."""
        feats, feats_lengths = self.extract_feats(speech, speech_lengths)
        out = {"feats": feats, "feats_lengths": feats_lengths}
        if durations is not None and durations_lengths is None:
            durations_lengths = torch.full_like(text_lengths, durations.size(1))
        out.update(self.extract_prosody(speech, speech_lengths, feats_lengths, durations, durations_lengths))
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
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        use_teacher_forcing: bool = False,
        alpha: float = 1.0,
        pitch_scale: float = 1.0,
        pitch_shift_cents: float = 0.0,
        energy_scale: float = 1.0,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        **decode_config: Any,
    ) -> Dict[str, torch.Tensor]:
        """Synthesise one utterance.

        Args:
            text: Token ids ``(T_text,)``.
            speech: Reference waveform ``(T_wav,)`` (emotion reference and/or teacher forcing).
            emo_labs: Label id ``()`` or mixture weights ``(num_emotions,)``.
            emo_feats: Emotion features/embedding ``(D_emo,)``.
            durations: Frames per token ``(T_text + 1,)`` (ints): replace the predicted durations of a
                duration model (``alpha`` does not apply to them); the teacher forcing of such a model
                needs them. Ignored by other models.
            pitch: F0 in Hz per token ``(T_text + 1,)`` or ``(T_text + 1, 1)`` (0: unvoiced), replacing
                the prediction (models with ``needs_pitch_energy``).
            energy: Energy per token, in the energy extractor's linear units, likewise.
            use_teacher_forcing: Decode with the reference's features (a duration model: with the
                given ``durations`` and the reference's token-averaged pitch/energy).
            alpha: Duration scale of a duration model (> 1: slower).
            pitch_scale: Scale of the log-F0 (linear F0 without ``use_log_f0``) excursions around the
                utterance's mean.
            pitch_shift_cents: Pitch shift in cents (needs ``use_log_f0``).
            energy_scale: Factor on the (linear) energy.
            sids, lids: Speaker / language id (an int or a one-element long tensor) of a model with
                ``spks`` / ``langs``.
            spembs: Speaker embedding ``(spk_embed_dim,)`` of a model with ``spk_embed_dim``.

        Returns:
            ``feat_gen`` (normalised, ``(T_feats, odim)``), ``feat_gen_denorm`` and the model's other
            outputs (Tacotron2: ``prob``, ``att_w``; duration models: ``duration`` ``(T_text + 1,)``
            and, with pitch/energy, normalised ``pitch``/``energy`` ``(T_text + 1, 1)`` plus
            ``pitch_denorm`` (Hz per token, 0 = unvoiced) and ``energy_denorm`` ``(T_text + 1,)``); when
            a reference was given, ``emo_posterior`` ``(num_emotions,)``.
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
        kwargs: Dict[str, Any] = {**decode_config, **speaker_inputs(sids, lids, spembs)}
        if self.emo_source == "label" and emo_labs is not None:
            kwargs["emo_labs"] = emo_labs
        elif self.emo_source == "reference":
            if emo_embed is None:
                raise ValueError("this model is conditioned on a reference: give speech or emo_feats")
            kwargs["emo_feats"] = emo_embed[0]
        if use_teacher_forcing:
            kwargs["feats"] = feats_norm[0]
            kwargs["use_teacher_forcing"] = True
        kwargs.update(
            self.prosody_controls(
                text,
                speech,
                durations,
                pitch,
                energy,
                use_teacher_forcing,
                alpha,
                pitch_scale,
                pitch_shift_cents,
                energy_scale,
            )
        )
        result = self.tts.inference(text, **kwargs)
        out.update(result)
        feat_gen = result["feat_gen"]
        if self.normalize is not None:
            lengths = feat_gen.new_tensor([feat_gen.size(0)], dtype=torch.long)
            out["feat_gen_denorm"] = self.normalize.inverse(feat_gen.unsqueeze(0), lengths)[0][0]
        else:
            out["feat_gen_denorm"] = feat_gen
        if self.tts.needs_pitch_energy:
            out["pitch_denorm"] = self.pitch_to_hz(result["pitch"])
            out["energy_denorm"] = self.energy_to_linear(result["energy"])
        return out

    def prosody_controls(
        self,
        text: torch.Tensor,
        speech: Optional[torch.Tensor],
        durations: Optional[torch.Tensor],
        pitch: Optional[torch.Tensor],
        energy: Optional[torch.Tensor],
        use_teacher_forcing: bool,
        alpha: float = 1.0,
        pitch_scale: float = 1.0,
        pitch_shift_cents: float = 0.0,
        energy_scale: float = 1.0,
    ) -> Dict[str, Any]:
        """The keyword arguments of ``tts.inference`` for the user-level duration/pitch/energy options
        (see :meth:`inference`): overrides normalised, controls mapped to the model's normalised token
        domain (``pitch_shift = cents * ln 2 / 1200 / std``; ``energy_shift = (s - 1) * mean / std``).
        Empty for models without duration control (which ignore ``durations``)."""
        name = type(self.tts).__name__
        pitch_options = {
            "pitch": pitch is not None,
            "energy": energy is not None,
            "pitch_scale": pitch_scale != 1.0,
            "pitch_shift_cents": pitch_shift_cents != 0.0,
            "energy_scale": energy_scale != 1.0,
        }
        if not self.tts.supports_prosody_control:
            given = [k for k, v in {"alpha": alpha != 1.0, **pitch_options}.items() if v]
            if given:
                raise ValueError(
                    f"{given[0]} needs a model with duration control (fastspeech2, fastspeech); this is {name}"
                )
            return {}
        if not self.tts.needs_pitch_energy:
            given = [k for k, v in pitch_options.items() if v]
            if given:
                raise ValueError(
                    f"{given[0]} needs a model with a pitch and energy predictor (fastspeech2); this is {name}"
                )
        kwargs: Dict[str, Any] = {"alpha": alpha}
        num_tokens = text.numel() + 1
        if durations is not None:
            durations = torch.as_tensor(durations, device=text.device).reshape(-1)
            if (
                durations.numel() != num_tokens
                or durations.is_floating_point()
                and not torch.equal(durations, durations.round())
            ):
                raise ValueError(
                    f"durations: need {num_tokens} whole frame counts (T_text + 1, <sos/eos> included), "
                    f"got {durations.numel()} values"
                )
            if (durations < 0).any():
                raise ValueError(f"durations must be >= 0, got {durations.tolist()}")
            kwargs["durations"] = durations.long()
        elif use_teacher_forcing:
            raise ValueError(f"use_teacher_forcing with {name} needs the token durations (durations data)")
        if not self.tts.needs_pitch_energy:
            return kwargs
        if use_teacher_forcing and (pitch is None or energy is None):
            lengths = torch.tensor([speech.numel()], device=speech.device)
            _, feats_lengths = self.extract_feats(speech.unsqueeze(0), lengths)
            dur = kwargs["durations"].unsqueeze(0)
            prosody = self.extract_prosody(
                speech.unsqueeze(0), lengths, feats_lengths, dur, torch.tensor([num_tokens], device=dur.device)
            )
            kwargs["pitch"] = self._normalize(self.pitch_normalize, prosody["pitch"][0])
            kwargs["energy"] = self._normalize(self.energy_normalize, prosody["energy"][0])
        if pitch is not None:
            kwargs["pitch"] = self.pitch_from_hz(self._per_token(pitch, num_tokens, "pitch").to(text.device))
        if energy is not None:
            kwargs["energy"] = self.energy_from_linear(self._per_token(energy, num_tokens, "energy").to(text.device))
        _, pitch_std = normalizer_mean_std(self.pitch_normalize, "pitch_normalize")
        if pitch_shift_cents != 0.0 and not self.pitch_extract.get_parameters().get("use_log_f0", False):
            raise ValueError("pitch_shift_cents needs a model trained on log-F0 (pitch_extract_conf use_log_f0: true)")
        energy_mean, energy_std = normalizer_mean_std(self.energy_normalize, "energy_normalize")
        kwargs.update(
            pitch_scale=pitch_scale,
            pitch_shift=pitch_shift_cents * math.log(2.0) / 1200.0 / pitch_std,
            energy_scale=energy_scale,
            energy_shift=(energy_scale - 1.0) * energy_mean / energy_std,
        )
        return kwargs

    @staticmethod
    def _per_token(value: Any, num_tokens: int, name: str) -> torch.Tensor:
        tensor = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
        if tensor.numel() != num_tokens:
            raise ValueError(f"{name}: need {num_tokens} values (T_text + 1, <sos/eos> included), got {tensor.numel()}")
        if not torch.isfinite(tensor).all() or (tensor < 0).any():
            raise ValueError(f"{name}: values must be finite and >= 0, got {tensor.tolist()}")
        return tensor.unsqueeze(-1)

    @staticmethod
    def _normalize(normalize: Optional[AbsNormalize], value: torch.Tensor) -> torch.Tensor:
        """Normalise one utterance's ``(T, 1)`` values."""
        return value if normalize is None else normalize(value.unsqueeze(0))[0][0]

    @staticmethod
    def _denormalize(normalize: Optional[AbsNormalize], value: torch.Tensor) -> torch.Tensor:
        return value if normalize is None else normalize.inverse(value.unsqueeze(0))[0][0]

    def pitch_from_hz(self, hz: torch.Tensor) -> torch.Tensor:
        """F0 in Hz per token ``(T, 1)`` (0: unvoiced) -> the model's normalised pitch ``(T, 1)``."""
        if self.pitch_extract.get_parameters().get("use_log_f0", False):
            hz = torch.where(hz > 0, torch.log(hz.clamp(min=1e-8)), torch.zeros_like(hz))
        return self._normalize(self.pitch_normalize, hz)

    def pitch_to_hz(self, pitch: torch.Tensor) -> torch.Tensor:
        """The model's normalised pitch ``(T, 1)`` -> F0 in Hz per token ``(T,)``; values under half the
        extractor's ``f0min`` are unvoiced (0), as token averages of unvoiced frames are 0."""
        params = self.pitch_extract.get_parameters()
        value = self._denormalize(self.pitch_normalize, pitch.float()).reshape(-1)
        hz = torch.exp(value) if params.get("use_log_f0", False) else value
        return torch.where(hz >= 0.5 * float(params.get("f0min", 0.0)), hz, torch.zeros_like(hz))

    def energy_from_linear(self, energy: torch.Tensor) -> torch.Tensor:
        """Energy per token ``(T, 1)`` in the extractor's units -> the model's normalised energy ``(T, 1)``."""
        return self._normalize(self.energy_normalize, energy)

    def energy_to_linear(self, energy: torch.Tensor) -> torch.Tensor:
        """The model's normalised energy ``(T, 1)`` -> energy per token ``(T,)`` (>= 0)."""
        return self._denormalize(self.energy_normalize, energy.float()).reshape(-1).clamp(min=0.0)
