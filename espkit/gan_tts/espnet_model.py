"""``ESPnetGANVocoderModel``: feature extraction + normalisation + a GAN vocoder (generator, discriminator).

The acoustic model and the vocoder see the same features by construction: the vocoder computes them
on the fly from the waveform with the ``feats_extract`` and ``normalize`` of the TTS model's config
(same settings, same ``feats_stats.npz``).

Batch keys (made by ``CommonCollateFn``; ``B`` utterances):

============================  ====================  =============================================
key                           shape                 meaning
============================  ====================  =============================================
``speech``, ``speech_lengths`` ``(B, T_wav)``, (B,)  waveform
``pitch``, ``pitch_lengths``  ``(B, T_feats, 1)``   frame F0 in Hz, 0 unvoiced (optional; computed
                                                    when the generator needs F0 and it is absent)
``feats``, ``feats_lengths``  ``(B, T_feats, D)``   un-normalised features to use instead of those
                                                    of ``speech`` (optional: fine-tuning on the
                                                    acoustic model's teacher-forced output, which
                                                    has ``speech``'s frame count)
============================  ====================  =============================================

One turn works on segments: one hop-aligned window of ``segment_size`` samples and its
``segment_size / hop_length`` frames is cut per utterance. Their features are those of the whole
utterance: computed from the segment plus the context a centred frame sees (equal by construction,
checked against the whole-utterance path in the tests), and the F0 of just the segment's frames.
In training the start is drawn with torch's global RNG (so an exact resume draws the same windows);
in eval mode it is the centre of the utterance (validation figures that do not depend on a draw).
An utterance shorter than ``segment_size`` is zero-padded (its features are those of the padded
waveform: silence) and counted in the ``padded_segments`` stat.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Dict, Optional, Tuple

import torch

from espkit.evaluate.f0_metrics import YIN_THRESHOLD, YIN_TROUGH_MARGIN
from espkit.gan_tts.abs_gan_espnet_model import AbsGANESPnetModel
from espkit.gan_tts.hifigan.loss import (
    DiscriminatorAdversarialLoss,
    FeatureMatchLoss,
    GeneratorAdversarialLoss,
    MelSpectrogramLoss,
)
from espkit.gan_tts.stft_loss import MultiResolutionSTFTLoss
from espkit.layers.abs_normalize import AbsNormalize
from espkit.layers.stft import center_pad
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.pitch import Pitch
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

#: The feature settings a TTS model and a vocoder must share (:meth:`ESPnetGANVocoderModel.feats_params`).
FEATS_PARAM_KEYS = ("fs", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "log_base", "win_length", "window")

#: The F0 the vocoder is trained on: the evaluation's tracker (espkit.evaluate.f0_metrics), raw Hz.
DEFAULT_PITCH_CONF = {
    "f0min": 60.0,
    "f0max": 500.0,
    "use_continuous_f0": False,
    "use_log_f0": False,
    "yin_threshold": YIN_THRESHOLD,
    "yin_trough_margin": YIN_TROUGH_MARGIN,
}


def _accepted_kwargs(cls: type, params: Dict[str, Any]) -> Dict[str, Any]:
    """The items of ``params`` that ``cls.__init__`` takes by name."""
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in params.items() if k in accepted}


class ESPnetGANVocoderModel(AbsGANESPnetModel):
    """The trainable vocoder: ``forward(forward_generator, adversarial, **batch) -> {"loss", "stats",
    "weight", "optim_idx"}`` (see :class:`~espkit.gan_tts.abs_gan_espnet_model.AbsGANESPnetModel`).

    Generator turn (``optim_idx`` 0): ``lambda_mel * mel L1 + lambda_adv * adversarial +
    lambda_feat_match * feature matching`` (the last two only when ``adversarial``) ``+ lambda_stft *
    (spectral convergence + log magnitude)`` (when ``lambda_stft > 0``) ``+ lambda_aux *`` the sum of
    the generator's ``auxiliary_losses`` (if it has them, e.g. NSF's F0 predictor). Discriminator turn
    (``optim_idx`` 1): least-squares real + fake losses on the generator's output made without grad.

    Args:
        feats_extract: waveform -> log-mel ``(B, T_feats, n_mels)`` (the TTS model's ``fbank``).
        normalize: normaliser of those features (the TTS model's ``global_mvn`` and statistics file);
            None: the generator takes the features as they are.
        generator: ``forward(c (B, n_mels, T_feats), f0 (B, 1, T_feats) | None) -> (B, 1, T_feats *
            hop)``, ``inference(c (T_feats, n_mels), f0) -> (T_feats * hop, 1)``, ``upsample_factor``
            equal to the features' ``hop_length``, class attribute ``requires_f0``.
        discriminator: ``forward(x (B, 1, T_wav)) -> List[List[Tensor]]``.
        segment_size: samples per training segment (a multiple of ``hop_length``).
        lambda_mel, lambda_adv, lambda_feat_match, lambda_stft, lambda_aux: loss weights.
        generator_adv_loss_params, discriminator_adv_loss_params, feat_match_loss_params: keyword
            arguments of ESPnet2's ``GeneratorAdversarialLoss``, ``DiscriminatorAdversarialLoss``,
            ``FeatureMatchLoss``.
        mel_loss_params: of ``MelSpectrogramLoss``; unset keys take the ``feats_extract`` settings.
        stft_loss_params: of ``MultiResolutionSTFTLoss`` (used when ``lambda_stft > 0``).
        pitch_extract_conf: of :class:`~espkit.tts.feats_extract.pitch.Pitch`, used when the generator
            requires F0 and the batch has no ``pitch``; defaults to the evaluation's tracker
            (:data:`DEFAULT_PITCH_CONF`), with ``fs``/``n_fft``/``hop_length`` of the features.
    """

    @typechecked
    def __init__(
        self,
        feats_extract: AbsFeatsExtract,
        normalize: Optional[AbsNormalize],
        generator: torch.nn.Module,
        discriminator: torch.nn.Module,
        segment_size: int = 8192,
        lambda_mel: float = 45.0,
        lambda_adv: float = 1.0,
        lambda_feat_match: float = 2.0,
        lambda_stft: float = 0.0,
        lambda_aux: float = 1.0,
        generator_adv_loss_params: Optional[Dict[str, Any]] = None,
        discriminator_adv_loss_params: Optional[Dict[str, Any]] = None,
        feat_match_loss_params: Optional[Dict[str, Any]] = None,
        mel_loss_params: Optional[Dict[str, Any]] = None,
        stft_loss_params: Optional[Dict[str, Any]] = None,
        pitch_extract_conf: Optional[Dict[str, Any]] = None,
    ):
        super().__init__()
        params = feats_extract.get_parameters()
        self.hop_length = int(params["hop_length"])
        if segment_size <= 0 or segment_size % self.hop_length != 0:
            raise ValueError(
                f"segment_size must be a positive multiple of the features' hop_length {self.hop_length}, "
                f"got {segment_size}"
            )
        upsample_factor = getattr(generator, "upsample_factor", None)
        if upsample_factor != self.hop_length:
            raise ValueError(
                f"the generator ({type(generator).__name__}) makes {upsample_factor} samples per frame but the "
                f"features' hop_length is {self.hop_length} (e.g. the product of upsample_scales)"
            )
        self.feats_extract = feats_extract
        self.normalize = normalize
        self.generator = generator
        self.discriminator = discriminator
        self.segment_size = segment_size
        self.segment_frames = segment_size // self.hop_length
        self.lambda_mel = lambda_mel
        self.lambda_adv = lambda_adv
        self.lambda_feat_match = lambda_feat_match
        self.lambda_stft = lambda_stft
        self.lambda_aux = lambda_aux

        self.generator_adv_loss = GeneratorAdversarialLoss(**(generator_adv_loss_params or {}))
        self.discriminator_adv_loss = DiscriminatorAdversarialLoss(**(discriminator_adv_loss_params or {}))
        self.feat_match_loss = FeatureMatchLoss(**(feat_match_loss_params or {}))
        mel_params = {k: v for k, v in params.items() if v is not None}
        mel_params = {**_accepted_kwargs(MelSpectrogramLoss, mel_params), **(mel_loss_params or {})}
        self.mel_loss = MelSpectrogramLoss(**mel_params)
        self.stft_loss = MultiResolutionSTFTLoss(**(stft_loss_params or {})) if lambda_stft > 0 else None

        #: Samples of context each side of a segment that make its features equal to the whole
        #: utterance's (a centred fbank frame sees n_fft // 2 samples each side); None: no local path.
        self.context_samples: Optional[int] = None
        if isinstance(feats_extract, LogMelFbank) and params.get("center", True):
            half = int(params["n_fft"]) // 2
            self.context_samples = -(-half // self.hop_length) * self.hop_length
        #: True: always compute the features of the whole utterance (the reference path, for tests).
        self.whole_utterance_features = False

        self.pitch_extract: Optional[Pitch] = None
        if self.requires_f0:
            conf = {
                "fs": params["fs"],
                "n_fft": params["n_fft"],
                "hop_length": self.hop_length,
                **DEFAULT_PITCH_CONF,
                **(pitch_extract_conf or {}),
            }
            if conf["use_continuous_f0"] or conf["use_log_f0"]:
                raise ConfigError(
                    "model_conf.pitch_extract_conf: the vocoder's source needs raw F0 in Hz with 0 where "
                    "unvoiced; use_continuous_f0 and use_log_f0 must be false"
                )
            self.pitch_extract = Pitch(**conf)

    @property
    def requires_f0(self) -> bool:
        """Whether the generator is driven by F0 (``generator.requires_f0``)."""
        return bool(getattr(self.generator, "requires_f0", False))

    @torch.no_grad()
    def predict_f0(self, feats: torch.Tensor) -> torch.Tensor:
        """F0 in Hz ``(T_feats,)`` (0 unvoiced) the generator's own F0 predictor reads from un-normalised
        features ``(T_feats, n_mels)``: what drives the source when :meth:`inference` gets no F0."""
        if not self.requires_f0:
            raise ValueError(f"{type(self.generator).__name__} takes no F0 and has no F0 predictor")
        c = self._normalized(feats.unsqueeze(0), None)  # (1, T_feats, n_mels)
        return self.generator.predict_f0(c.transpose(1, 2)).reshape(-1)

    def feats_params(self) -> Dict[str, Any]:
        """The feature settings a TTS model must share with this vocoder (:data:`FEATS_PARAM_KEYS`)."""
        params = self.feats_extract.get_parameters()
        return {key: params.get(key) for key in FEATS_PARAM_KEYS}

    # --- features and segments -------------------------------------------------------------------
    def _normalized(self, feats: torch.Tensor, feats_lengths: Optional[torch.Tensor]) -> torch.Tensor:
        return feats if self.normalize is None else self.normalize(feats, feats_lengths)[0]

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs: Any
    ) -> Dict[str, torch.Tensor]:
        """Un-normalised features ``{"feats": (B, T_feats, n_mels), "feats_lengths": (B,)}`` (statistics)."""
        feats, feats_lengths = self.feats_extract(speech, speech_lengths)
        return {"feats": feats, "feats_lengths": feats_lengths}

    @torch.no_grad()
    def make_segments(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        pitch: Optional[torch.Tensor] = None,
        feats: Optional[torch.Tensor] = None,
        feats_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], int]:
        """Cut one segment per utterance.

        Args:
            speech: ``(B, T_wav)``; speech_lengths: ``(B,)``.
            pitch: ``(B, T_feats, 1)`` F0 in Hz (None: computed if the generator needs F0).
            feats, feats_lengths: ``(B, T_feats, D)`` un-normalised features replacing those of
                ``speech`` (each row must have as many frames as ``speech`` gives); the frames of
                the zero padding of a short utterance stay those of silence.

        Returns:
            ``wav`` ``(B, 1, segment_size)``, normalised features ``c`` ``(B, n_mels, segment_frames)``,
            ``f0`` ``(B, 1, segment_frames)`` Hz (None if the generator does not need F0) and the number
            of utterances that were shorter than ``segment_size`` (zero-padded).
        """
        speech_lengths = speech_lengths.to(speech.device)
        short = speech_lengths < self.segment_size
        num_padded = int(short.sum())
        if num_padded:
            logger.debug("%d utterance(s) shorter than segment_size %d: zero-padded", num_padded, self.segment_size)
            # the padded waveform's features: the padding is silence in both the target and the input
            if speech.size(1) < self.segment_size:
                speech = torch.nn.functional.pad(speech, (0, self.segment_size - speech.size(1)))
            samples = torch.arange(speech.size(1), device=speech.device)
            speech = speech * (samples[None, :] < speech_lengths[:, None]).to(speech.dtype)
            speech_lengths = speech_lengths.clamp(min=self.segment_size)
        last_start = torch.div(speech_lengths - self.segment_size, self.hop_length, rounding_mode="floor")
        if self.training:
            start_frames = (torch.rand(last_start.shape) * (last_start.cpu() + 1)).long().to(speech.device)
        else:
            start_frames = torch.div(last_start, 2, rounding_mode="floor")
        start_frames = start_frames.minimum(last_start)  # guards rand() == 1.0 after rounding
        frame_index = start_frames[:, None] + torch.arange(self.segment_frames, device=speech.device)  # (B, F)
        sample_index = start_frames[:, None] * self.hop_length + torch.arange(self.segment_size, device=speech.device)
        wav = speech.gather(1, sample_index).unsqueeze(1)

        if feats is None and self.context_samples is not None and not self.whole_utterance_features:
            segment_feats = self._local_segment_feats(speech, speech_lengths, start_frames)
        else:  # the reference path: features of the whole utterance, then the segment's frames
            speech_feats, speech_feats_lengths = self.feats_extract(speech, speech_lengths)
            if feats is not None:
                speech_feats = self._replace_feats(speech_feats, speech_feats_lengths, short, feats, feats_lengths)
            segment_feats = speech_feats.gather(1, frame_index[..., None].expand(-1, -1, speech_feats.size(2)))
        c = self._normalized(segment_feats, None).transpose(1, 2)  # (B, n_mels, F)

        f0 = None
        if self.requires_f0:
            if pitch is None:  # only the segment's frames are tracked (same values as tracking it all)
                f0, _ = self.pitch_extract.estimate_f0(speech, speech_lengths, frame_index)
                f0 = f0.to(c.dtype)
            else:
                f0 = pitch.to(c.dtype)[..., 0]  # (B, T_pitch)
                num_frames = int(frame_index.max()) + 1
                if f0.size(1) < num_frames:  # given pitch of the unpadded utterance: pad with unvoiced frames
                    f0 = torch.nn.functional.pad(f0, (0, num_frames - f0.size(1)))
                f0 = f0.gather(1, frame_index)
            f0 = f0.unsqueeze(1)
        return wav, c, f0, num_padded

    def _local_segment_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, start_frames: torch.Tensor
    ) -> torch.Tensor:
        """Un-normalised features ``(B, F, n_mels)`` of each segment, from the segment and
        :attr:`context_samples` around it (reflection-padded at the utterance's own ends, as the
        whole-utterance STFT pads): equal to the whole utterance's frames at a fraction of the cost."""
        context = int(self.context_samples)
        padded = center_pad(speech, speech_lengths, context)
        window = self.segment_size + 2 * context
        index = start_frames[:, None] * self.hop_length + torch.arange(window, device=speech.device)
        window_feats, _ = self.feats_extract(padded.gather(1, index))
        first = context // self.hop_length
        return window_feats[:, first : first + self.segment_frames]

    @staticmethod
    def _replace_feats(
        speech_feats: torch.Tensor,
        speech_feats_lengths: torch.Tensor,
        short: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: Optional[torch.Tensor],
    ) -> torch.Tensor:
        """``speech_feats`` ``(B, T_feats, D)`` with each row's first ``feats_lengths`` frames taken from
        ``feats``; a row must have as many given frames as ``speech`` has (at most as many for the
        zero-padded ``short`` rows, whose padding keeps the features of silence)."""
        if feats_lengths is None:
            raise ValueError("the batch has feats but no feats_lengths")
        feats_lengths = feats_lengths.to(speech_feats_lengths.device)
        wrong = torch.where(short, feats_lengths > speech_feats_lengths, feats_lengths != speech_feats_lengths)
        if wrong.any() or feats.size(2) != speech_feats.size(2):
            rows = wrong.nonzero().flatten().tolist()
            raise ValueError(
                f"feats {tuple(feats.shape)} with {feats_lengths.tolist()} frames do not fit speech's "
                f"{speech_feats_lengths.tolist()} frames of {speech_feats.size(2)} (rows {rows}): feats and "
                "speech must be the same utterances made with the same feats_extract (e.g. teacher-forced)"
            )
        num_frames = speech_feats.size(1)
        feats = torch.nn.functional.pad(feats.to(speech_feats.dtype), (0, 0, 0, max(num_frames - feats.size(1), 0)))
        frames = torch.arange(num_frames, device=speech_feats.device)
        given = (frames[None, :] < feats_lengths[:, None])[..., None]
        return torch.where(given, feats[:, :num_frames], speech_feats)

    # --- training --------------------------------------------------------------------------------
    def forward(
        self,
        forward_generator: bool = True,
        adversarial: bool = True,
        speech: Optional[torch.Tensor] = None,
        speech_lengths: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        pitch_lengths: Optional[torch.Tensor] = None,
        feats: Optional[torch.Tensor] = None,
        feats_lengths: Optional[torch.Tensor] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """One turn on a batch (see the module docstring for the keys and the class for the losses)."""
        if speech is None or speech_lengths is None:
            raise ValueError("the vocoder's batch needs speech and speech_lengths")
        wav, c, f0, num_padded = self.make_segments(speech, speech_lengths, pitch, feats, feats_lengths)
        if forward_generator:
            aux_inputs = None
            if f0 is not None and hasattr(self.generator, "auxiliary_losses"):
                aux_inputs = self.auxiliary_inputs(speech, speech_lengths, pitch, feats, feats_lengths)
            return self._generator_turn(wav, c, f0, num_padded, adversarial, aux_inputs)
        return self._discriminator_turn(wav, c, f0, num_padded)

    def _generate(self, c: torch.Tensor, f0: Optional[torch.Tensor]) -> torch.Tensor:
        wav_hat = self.generator(c, f0)
        if wav_hat.shape[1:] != (1, self.segment_size):
            raise RuntimeError(
                f"{type(self.generator).__name__} returned {tuple(wav_hat.shape)} for {c.size(2)} frames; "
                f"expected (B, 1, {self.segment_size}) (frames x hop_length {self.hop_length})"
            )
        return wav_hat

    @torch.no_grad()
    def auxiliary_inputs(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        pitch: Optional[torch.Tensor] = None,
        feats: Optional[torch.Tensor] = None,
        feats_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the generator's auxiliary losses (NSF's F0 predictor) learn from: the WHOLE utterances,
        not the segments (many more frames per step, and the context the predictor has at synthesis).

        Returns normalised features ``(B, n_mels, T_feats)`` (``feats`` when given, e.g. teacher-forced),
        F0 ``(B, 1, T_feats)`` in Hz (``pitch`` when given, else tracked) and frame counts ``(B,)``.
        """
        if feats is None:
            feats, feats_lengths = self.feats_extract(speech, speech_lengths)
        elif feats_lengths is None:
            raise ValueError("the batch has feats but no feats_lengths")
        feats_lengths = feats_lengths.to(feats.device)
        c = self._normalized(feats, feats_lengths).transpose(1, 2)
        if pitch is None:
            f0, _ = self.pitch_extract.estimate_f0(speech, speech_lengths.to(speech.device))
        else:
            f0 = pitch[..., 0]
        f0 = f0.to(c.dtype)[:, : c.size(2)]
        f0 = torch.nn.functional.pad(f0, (0, c.size(2) - f0.size(1))).unsqueeze(1)
        return c, f0, feats_lengths

    def _generator_turn(
        self,
        wav: torch.Tensor,
        c: torch.Tensor,
        f0: Optional[torch.Tensor],
        num_padded: int,
        adversarial: bool,
        aux_inputs: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None,
    ) -> Dict[str, Any]:
        wav_hat = self._generate(c, f0)
        mel_loss = self.mel_loss(wav_hat, wav)
        loss = self.lambda_mel * mel_loss
        stats: Dict[str, Any] = {"generator_mel_loss": mel_loss.detach()}
        if adversarial:
            outputs_hat = self.discriminator(wav_hat)
            with torch.no_grad():
                outputs = self.discriminator(wav)
            adv_loss = self.generator_adv_loss(outputs_hat)
            feat_match_loss = self.feat_match_loss(outputs_hat, outputs)
            loss = loss + self.lambda_adv * adv_loss + self.lambda_feat_match * feat_match_loss
            stats["generator_adv_loss"] = adv_loss.detach()
            stats["generator_feat_match_loss"] = feat_match_loss.detach()
        if self.stft_loss is not None:
            sc_loss, mag_loss = self.stft_loss(wav_hat.squeeze(1), wav.squeeze(1))
            loss = loss + self.lambda_stft * (sc_loss + mag_loss)
            stats["generator_sc_loss"] = sc_loss.detach()
            stats["generator_mag_loss"] = mag_loss.detach()
        auxiliary_losses = getattr(self.generator, "auxiliary_losses", None)
        if auxiliary_losses is not None and f0 is not None:
            aux = auxiliary_losses(*aux_inputs) if aux_inputs is not None else auxiliary_losses(c, f0)
            if aux:
                loss = loss + self.lambda_aux * sum(aux.values())
                stats.update({f"generator_{name}": value.detach() for name, value in aux.items()})
        stats["generator_loss"] = loss.detach()
        stats["padded_segments"] = float(num_padded)
        return {"loss": loss, "stats": stats, "weight": wav.new_tensor(wav.size(0)), "optim_idx": 0}

    def _discriminator_turn(
        self, wav: torch.Tensor, c: torch.Tensor, f0: Optional[torch.Tensor], num_padded: int
    ) -> Dict[str, Any]:
        with torch.no_grad():
            wav_hat = self._generate(c, f0)
        real_loss, fake_loss = self.discriminator_adv_loss(self.discriminator(wav_hat), self.discriminator(wav))
        loss = real_loss + fake_loss
        stats = {
            "discriminator_loss": loss.detach(),
            "discriminator_real_loss": real_loss.detach(),
            "discriminator_fake_loss": fake_loss.detach(),
            "padded_segments": float(num_padded),
        }
        return {"loss": loss, "stats": stats, "weight": wav.new_tensor(wav.size(0)), "optim_idx": 1}

    # --- synthesis -------------------------------------------------------------------------------
    @torch.no_grad()
    def inference(self, feats: torch.Tensor, f0: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Waveform of features as ``feats_extract`` makes them (or a TTS model outputs them, denormalised).

        Args:
            feats: ``(T_feats, n_mels)`` un-normalised log-mel.
            f0: ``(T_feats,)`` or ``(T_feats, 1)`` F0 in Hz, 0 unvoiced (generators that need F0 and
                get none predict it from the features).

        Returns:
            ``{"wav": (T_feats * hop_length,)}``.
        """
        if feats.dim() != 2:
            raise ValueError(f"feats must be (T_feats, n_mels), got {tuple(feats.shape)}")
        c = self._normalized(feats.unsqueeze(0), None)[0]
        if f0 is not None and f0.numel() != feats.size(0):
            raise ValueError(f"f0 has {f0.numel()} frames, feats {feats.size(0)}")
        if not self.requires_f0:
            f0 = None
        wav = self.generator.inference(c, f0=f0)
        return {"wav": wav.reshape(-1)}
