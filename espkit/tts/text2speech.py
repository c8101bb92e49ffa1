"""``Text2Speech``: synthesise speech with a trained TTS model (ESPnet2's interface).

>>> tts = Text2Speech("exp/tts/config.yaml", "exp/tts/valid.loss.best.pth")  # doctest: +SKIP
>>> out = tts("the birch canoe", emo_labs={"happy": 0.7, "neutral": 0.3})  # doctest: +SKIP
>>> out["wav"].shape, out["feat_gen"].shape, out["emotion"]["label"]  # doctest: +SKIP
(torch.Size([20992]), torch.Size([83, 80]), {'neutral': 0.3, 'happy': 0.7})

The waveform comes from a trained vocoder given as ``vocoder_file`` (``espkit.bin.gan_tts_train``'s
weights; ``vocoder_config`` is then that run's ``config.yaml``, by default the one beside the
weights), or else from Griffin-Lim (``espkit.tts.vocoder.griffin_lim``), built from the feature
extractor's STFT/mel parameters; without ``vocoder_file``, ``vocoder_config`` is a YAML of
Griffin-Lim options (``griffin_lim_iters``, ``momentum``, ...), as before. ESPnet2 reads the two
options the same way. The two meanings cannot be mixed up: a vocoder training config has a
``generator`` key, and one given without its weights is refused (:func:`build_vocoder`).

>>> tts = Text2Speech("exp/tts/config.yaml", "exp/tts/valid.loss.best.pth",  # doctest: +SKIP
...                   vocoder_file="exp/vocoder/train.total_count.best.pth")
>>> tts("the birch canoe", emo_labs="happy")["wav"].shape  # doctest: +SKIP
torch.Size([21248])

A packed model (``pack_model --vocoder_file``) may carry its vocoder, which is then used unless
``vocoder_file`` names another one or a Griffin-Lim ``vocoder_config`` is given.
``espkit.bin.tts_inference`` is the command line around it.

Duration models (FastSpeech2, FastSpeech: ``tts.supports_prosody_control``) take prosody
controls instead of Tacotron2's decoding options: ``alpha`` (ESPnet's ``speed_control_alpha``;
the predicted durations are multiplied by it, > 1 is slower), and for FastSpeech2
``pitch_scale`` (excursions around the utterance's mean), ``pitch_shift_cents`` and
``energy_scale``; per call also per-token overrides ``durations`` (frames), ``pitch`` (Hz, 0:
unvoiced) and ``energy`` (the energy extractor's units), ``T_text + 1`` values each (the last for
``<sos/eos>``), as the outputs ``duration``, ``pitch_denorm`` and ``energy_denorm`` give them:

>>> tts = Text2Speech("exp/tts_fastspeech2/config.yaml", "exp/tts_fastspeech2/valid.loss.best.pth",  # doctest: +SKIP
...                   alpha=1.2, pitch_shift_cents=200)
>>> out = tts("the birch canoe", emo_labs="happy")  # doctest: +SKIP
>>> again = tts("the birch canoe", emo_labs="happy", durations=out["duration"] * 2)  # doctest: +SKIP

A multi-speaker model (trained with ``--spk_list``, or ``spks`` / ``spk_embed_dim`` in its
``tts_conf``) takes the speaker per call: ``sids`` as a name of its speaker list or an id, and
``spembs``, a speaker embedding ``(spk_embed_dim,)``, for a model trained on given vectors:

>>> tts = Text2Speech("exp/tts_vctk/config.yaml", "exp/tts_vctk/valid.loss.best.pth")  # doctest: +SKIP
>>> out = tts("the birch canoe", sids="p226")  # doctest: +SKIP
>>> out["speaker"], tts.speakers.spk_list[:2]  # doctest: +SKIP
('p226', ['p225', 'p226'])

A control a model cannot honour (any of them for Tacotron2; pitch/energy for FastSpeech) is a
ValueError naming the option and the model. Tacotron2's decoding options (``threshold``,
``minlenratio``, ``maxlenratio``, ``use_att_constraint``, the windows) mean nothing to a duration
model (no stop token, no attention): they are ignored, with a warning when one is set away from its
default (:func:`~espkit.tts.decode_options.check_model_options`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch

from espkit.fileio.sound_scp import read_wav
from espkit.tasks.tts import TTSTask
from espkit.torch_utils.seeding import LocalRandomState, get_rng_states, set_rng_states
from espkit.tts.decode_options import (
    ATTENTION_OPTIONS,
    DECODE_DEFAULTS,
    check_decode_conf,
    check_model_options,
)
from espkit.tts.inference_model import build_model_for_inference
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.tts.vocoder.build_vocoder import build_vocoder
from espkit.tts.vocoder.token_f0 import frame_f0_from_token_pitch
from espkit.utils.errors import ConfigError
from espkit.utils.model_pack import unpack_model
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

DTYPES = ("float16", "float32", "float64")
#: A text to synthesise: a string, or token ids ``(T_text,)`` as an array, a tensor or a list.
TextInput = Union[str, np.ndarray, torch.Tensor, Sequence[int]]


def packed_vocoder(
    unpacked: Dict[str, str], vocoder_config: Optional[str | Path], vocoder_file: Optional[str | Path]
) -> tuple[Optional[str | Path], Optional[str | Path]]:
    """``(vocoder_config, vocoder_file)`` for an unpacked model (:func:`unpack_model`'s dict).

    The packed vocoder, if any, unless the caller chose otherwise: another ``vocoder_file``, or a
    ``vocoder_config`` without one (Griffin-Lim options: Griffin-Lim was asked for).
    """
    if "vocoder_file" not in unpacked:
        return vocoder_config, vocoder_file
    if vocoder_file is not None or vocoder_config is not None:
        logger.info(
            "the packed model carries the vocoder %s; %s is used instead",
            unpacked["vocoder_file"],
            vocoder_file if vocoder_file is not None else f"Griffin-Lim ({vocoder_config})",
        )
        return vocoder_config, vocoder_file
    return unpacked["vocoder_config"], unpacked["vocoder_file"]


def check_device(device: str) -> torch.device:
    """``device`` as a ``torch.device``; ValueError when it is not ``cpu``/``cuda[:N]`` or is absent here.

    Checked before any file is read, so that a missing GPU is not reported as a broken model file.
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device={device!r} is not a device; use 'cpu' or 'cuda[:N]'") from None
    if parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r}: Text2Speech runs on 'cpu' or 'cuda[:N]', not {parsed.type}")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r}: CUDA is not available on this machine; use device='cpu' (tts_inference: --ngpu 0)"
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})"
            )
    return parsed


def attention_durations(att_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token durations ``(T_text,)`` (frames whose attention peak is the token; they sum to
    ``T_feats``) and the focus rate ``()`` (mean over frames of the peak weight) of
    attention weights ``att_w`` ``(T_feats, T_text)``."""
    peaks = att_w.argmax(dim=-1)
    durations = torch.bincount(peaks, minlength=att_w.size(-1))
    return durations, att_w.max(dim=-1).values.mean()


class Text2Speech:
    """Text (and optionally an emotion or a reference utterance) -> features and waveform.

    Args:
        train_config: ``config.yaml`` of the training run (or of an unpacked model).
        model_file: weights (``*.pth``), or a packed model zip (then ``train_config`` may be None);
            normalisation statistics missing from their configured place are taken from it
            (see :func:`espkit.tts.inference_model.build_model_for_inference`).
        vocoder_config: with ``vocoder_file``, the vocoder's training ``config.yaml`` (default: the one
            beside ``vocoder_file``); without it, a YAML of Griffin-Lim options (see :func:`build_vocoder`).
        vocoder_file: weights of a trained vocoder (``espkit.bin.gan_tts_train``); its feature settings
            must be the acoustic model's. None: the packed model's vocoder if ``model_file`` is a zip
            that carries one (and ``vocoder_config`` is no Griffin-Lim YAML), else Griffin-Lim.
        device: ``cpu`` or ``cuda[:N]`` (checked by :func:`check_device` before any file is read).
        threshold, minlenratio, maxlenratio, use_att_constraint, backward_window, forward_window:
            Tacotron2 decoding options (see ``Tacotron2.inference``; ranges:
            :func:`~espkit.tts.decode_options.check_decode_conf`).
            Ignored by duration models (FastSpeech2, FastSpeech), with a warning when not the default.
        use_cache: Transformer: keep each decoder layer's keys/values between decoding steps (default;
            False recomputes the whole prefix at every step, the reference path: same output, slower).
            False is an error for models without such a cache.
        use_teacher_forcing: decode with the reference ``speech``'s features as decoder inputs (a
            duration model: with the given ``durations`` and the reference's pitch/energy).
        alpha: duration scale of a duration model (> 1: slower); ``speed_control_alpha`` is
            ESPnet's name for it (give one of them).
        pitch_scale: FastSpeech2: scale of the pitch excursions around the utterance's mean (>= 0;
            0: monotone).
        pitch_shift_cents: FastSpeech2 trained on log-F0: pitch shift in cents (1200: an octave up).
        energy_scale: FastSpeech2: factor on the energy (>= 0).
        vocoder_f0: with a vocoder driven by F0 (NSF): ``"model"`` (default) drives it with a
            FastSpeech2's predicted pitch (the level of each token; the vocoder's predictor gives the
            voicing and the contour within it: :func:`frame_f0_from_token_pitch`), ``"vocoder"`` with
            its own F0 predictor only. Models without predicted pitch always use the latter.
        seed: seed of this object's own torch random stream (:attr:`random_state`), which the prenet
            dropout (on at inference) draws from; successive calls continue it. The process's global
            RNG state is neither used nor changed.
        always_fix_seed: restart the stream from ``seed`` before every call, so that a text always
            gives the same output.
        dtype: ``float32``, ``float16`` or ``float64`` of the acoustic model.
        vocoder: an ``AbsVocoder`` to use instead of Griffin-Lim.
    """

    @typechecked
    def __init__(
        self,
        train_config: Optional[str | Path] = None,
        model_file: Optional[str | Path] = None,
        vocoder_config: Optional[str | Path] = None,
        vocoder_file: Optional[str | Path] = None,
        device: str = "cpu",
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
        use_teacher_forcing: bool = False,
        use_att_constraint: bool = False,
        backward_window: int = 1,
        forward_window: int = 3,
        use_cache: bool = True,
        seed: int = 777,
        always_fix_seed: bool = False,
        dtype: str = "float32",
        vocoder: Optional[AbsVocoder] = None,
        alpha: float = 1.0,
        pitch_scale: float = 1.0,
        pitch_shift_cents: float = 0.0,
        energy_scale: float = 1.0,
        speed_control_alpha: Optional[float] = None,
        vocoder_f0: str = "model",
    ):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        check_device(device)  # before loading: a missing GPU is not a corrupt model file
        if vocoder_f0 not in ("model", "vocoder"):
            raise ValueError(f"vocoder_f0 must be 'model' or 'vocoder', got {vocoder_f0!r}")
        self.vocoder_f0 = vocoder_f0
        if speed_control_alpha is not None:
            if alpha != 1.0 and alpha != speed_control_alpha:
                raise ValueError(
                    f"alpha={alpha} and speed_control_alpha={speed_control_alpha} are one option: give one of them"
                )
            alpha = speed_control_alpha
        decode_conf: Dict[str, Any] = check_decode_conf(
            dict(
                threshold=threshold,
                minlenratio=minlenratio,
                maxlenratio=maxlenratio,
                use_teacher_forcing=use_teacher_forcing,
                use_att_constraint=use_att_constraint,
                backward_window=backward_window,
                forward_window=forward_window,
                use_cache=use_cache,
                alpha=alpha,
                pitch_scale=pitch_scale,
                pitch_shift_cents=pitch_shift_cents,
                energy_scale=energy_scale,
            )
        )
        if model_file is not None and Path(model_file).suffix == ".zip":
            if train_config is not None:
                logger.info("%s is a packed model: its own config.yaml is used, not %s", model_file, train_config)
            unpacked = unpack_model(model_file)
            train_config, model_file = unpacked["train_config"], unpacked["model_file"]
            if vocoder is None:
                vocoder_config, vocoder_file = packed_vocoder(unpacked, vocoder_config, vocoder_file)
        if train_config is None:
            raise ValueError("Text2Speech needs train_config (config.yaml) or a packed model zip as model_file")
        self.device = device
        self.dtype = dtype
        self.seed = seed
        self.always_fix_seed = always_fix_seed
        self.random_state = LocalRandomState(seed, device)
        start = time.perf_counter()
        # Building the model draws its (then overwritten) initial weights first from the stream, as it did
        # from the globally seeded RNG: a seed decodes to what it always decoded to.
        with self.random_state.activate():
            model, args = build_model_for_inference(train_config, model_file, device)
        self.model = model.to(dtype=getattr(torch, dtype)).eval()
        self.train_args = args
        self.preprocess_fn = TTSTask.build_preprocess_fn(args, train=False)
        self.emotions = self.preprocess_fn.emotions
        #: the speaker names (``--spk_list``) of a multi-speaker model, None without a list
        self.speakers = self.preprocess_fn.speakers
        self.vocab_size = len(args.token_list)
        #: how messages call the acoustic model: its ``--tts`` choice
        self.model_name: str = str(getattr(args, "tts", None) or type(self.model.tts).__name__.lower())
        self.decode_conf: Dict[str, Any] = self._model_decode_conf(decode_conf)
        if vocoder is None and self.model.feats_extract is not None:
            # a trained vocoder's initial (then overwritten) weights are drawn from a global state
            # restored afterwards: neither the process's RNG nor this object's stream moves
            global_states = get_rng_states()
            try:
                vocoder = build_vocoder(
                    self.model.feats_extract.get_parameters(),
                    vocoder_config,
                    vocoder_file,
                    device,
                    feats_source=f"{model_file} ({train_config})",
                )
            finally:
                set_rng_states(global_states)
        elif vocoder is None and vocoder_file is not None:
            raise ConfigError(
                f"{train_config}: the model has no feats_extract, so no feature settings to check the vocoder "
                f"{vocoder_file} against; pass the vocoder object (vocoder=...) instead"
            )
        elif vocoder is None:
            logger.warning("the model has no feats_extract: no Griffin-Lim vocoder, outputs carry no 'wav'")
        self.vocoder = None if vocoder is None else vocoder.to(device).eval()
        #: the trained vocoder's weights in use (None: Griffin-Lim or a given ``vocoder`` object)
        self.vocoder_file = None if vocoder_file is None or self.vocoder is None else str(vocoder_file)
        self.load_time_s = time.perf_counter() - start
        self.last_timing: Dict[str, float] = {}
        logger.info(
            "loaded %s in %.2f s (emo_source=%s, emotions=%s, speakers=%s)",
            model_file,
            self.load_time_s,
            self.model.emo_source,
            None if self.emotions is None else self.emotions.emo_list,
            self.speaker_names() or None,
        )

    @classmethod
    def from_pretrained(
        cls, model_path: str | Path, unpack_dir: Optional[str | Path] = None, **kwargs: Any
    ) -> "Text2Speech":
        """Load a packed model zip (from ``espkit.bin.pack_model``) from a local path.

        Args:
            model_path: the zip.
            unpack_dir: where to extract it (default: a per-zip cache directory, see
                ``espkit.utils.model_pack.default_unpack_dir``).
            **kwargs: the other constructor options.
        """

        model_path = Path(model_path)
        if not model_path.exists():
            raise FileNotFoundError(f"packed model not found: {model_path} (no download: give a local path)")
        unpacked = unpack_model(model_path, unpack_dir)
        if kwargs.get("vocoder") is None:
            kwargs["vocoder_config"], kwargs["vocoder_file"] = packed_vocoder(
                unpacked, kwargs.get("vocoder_config"), kwargs.get("vocoder_file")
            )
        return cls(train_config=unpacked["train_config"], model_file=unpacked["model_file"], **kwargs)

    def _model_decode_conf(self, conf: Dict[str, Any]) -> Dict[str, Any]:
        """The checked options ``conf`` that this model uses (ValueError for controls it cannot honour)."""
        tts = self.model.tts
        used = check_model_options(conf, tts, self.model_name)
        if tts.supports_prosody_control:
            ignored = [key for key in ATTENTION_OPTIONS if conf[key] != DECODE_DEFAULTS[key]]
            if ignored:
                logger.warning(
                    "%s is a duration model (no stop token, no attention): %s ignored",
                    self.model_name,
                    ", ".join(f"{key}={conf[key]}" for key in ignored),
                )
        if used.get("pitch_shift_cents", 0.0) != 0.0:
            pitch_extract = self.model.pitch_extract
            if pitch_extract is None or not pitch_extract.get_parameters().get("use_log_f0", False):
                raise ValueError(
                    f"pitch_shift_cents needs a model trained on log-F0 (pitch_extract_conf use_log_f0: true); "
                    f"this {self.model_name} is not"
                )
        return used

    # --- properties -------------------------------------------------------------------------------
    @property
    def fs(self) -> Optional[int]:
        """Sampling rate of the produced (and of reference) waveforms."""
        if self.vocoder is not None:
            return self.vocoder.fs
        if self.model.feats_extract is not None:
            return self.model.feats_extract.get_parameters().get("fs")
        return None

    @property
    def use_speech(self) -> bool:
        """Whether calls need ``speech`` (teacher forcing, or a reference-conditioned model)."""
        return bool(self.decode_conf["use_teacher_forcing"]) or self.model.emo_source == "reference"

    # --- inputs -----------------------------------------------------------------------------------
    def token_ids(self, text: TextInput) -> torch.Tensor:
        """Token ids ``(T_text,)`` (long, on the device) of a string or of given ids.

        Given ids must be integers in ``[0, vocab_size)`` (the token list of the model);
        anything other than a string, an array, a tensor or a list of ids is a TypeError.
        """
        if isinstance(text, str):
            text = self.preprocess_fn.text_to_ids(text)
        elif not isinstance(text, (np.ndarray, torch.Tensor, list, tuple)):
            raise TypeError(
                f"text must be a string or token ids (T_text,) as an array, tensor or list of "
                f"integers, got {type(text).__name__}"
            )
        array = text.detach().cpu().numpy() if isinstance(text, torch.Tensor) else np.asarray(text)
        if array.ndim != 1 or (array.size > 0 and array.dtype.kind not in "iu"):
            raise ValueError(
                f"text must be a string or token ids (T_text,) of integers, got {array.shape} {array.dtype}"
            )
        if array.size == 0:
            raise ValueError("text is empty (no tokens)")
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= self.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"token id {bad} is out of range: valid ids are 0 to {self.vocab_size - 1} "
                f"(the model's token list has {self.vocab_size} tokens)"
            )
        return torch.as_tensor(array.astype(np.int64)).to(self.device)

    def _reference(self, speech: Any) -> Optional[torch.Tensor]:
        if speech is None:
            return None
        if isinstance(speech, (str, Path)):
            _, array = read_wav(speech, expected_fs=self.fs, dtype="float32")
            if array.ndim != 1:
                raise ValueError(f"{speech}: reference must be mono, got {array.shape[1]} channels")
            speech = array
        tensor = torch.as_tensor(speech)
        return tensor.to(self.device, getattr(torch, self.dtype))

    def resolve_emotion(self, emo_labs: Any) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """An emotion name, id, mix or weights -> ``(model input, label, weights (num_emotions,))``.

        The model input is a long id ``()`` for a single name/id, else float weights; the label
        is the name or the normalised ``{name: weight}`` mix. Unknown names raise ValueError
        listing the known emotions.
        """
        if self.emotions is None:
            raise ValueError("emo_labs given but this model has no emotion list (it was trained without --emo_list)")
        if isinstance(emo_labs, (torch.Tensor, np.ndarray)):
            array = np.asarray(emo_labs.cpu() if isinstance(emo_labs, torch.Tensor) else emo_labs)
            if array.ndim == 0 and array.dtype.kind in "iu":
                emo_labs = int(array)
            elif array.ndim == 1 and array.dtype.kind == "f":
                emo_labs = self._weights_to_mix(array)
            else:
                raise ValueError(f"emo_labs must be an id () or weights ({len(self.emotions)},), got {array.shape}")
        weights = self.emotions.mix_to_weights(emo_labs)
        weights_t = torch.as_tensor(weights, dtype=torch.float32)
        is_single = isinstance(emo_labs, int) or (isinstance(emo_labs, str) and ":" not in emo_labs)
        if is_single:
            emo_id = int(weights.argmax())
            return torch.tensor(emo_id, dtype=torch.long, device=self.device), self.emotions.id2name(emo_id), weights_t
        label = {name: float(w) for name, w in zip(self.emotions.emo_list, weights) if w > 0}
        return weights_t.to(self.device, getattr(torch, self.dtype)), label, weights_t

    def speaker_names(self) -> list[str]:
        """The names of the model's speakers in id order: its speaker list, or the ids as strings
        (``"0"``, ``"1"``...) when it has ``spks`` but no list; empty for a single-speaker model."""
        if self.speakers is not None:
            return list(self.speakers.spk_list)
        return [str(i) for i in range(self.model.tts.num_speakers())]

    def resolve_speaker(self, sids: Any) -> tuple[Optional[torch.Tensor], Optional[str]]:
        """A speaker -> ``(model input (1,) long, the speaker's name)``; ``(None, None)`` for a model
        without speaker ids when ``sids`` is None.

        Args:
            sids: a name of the speaker list (case-insensitive), an id (int, a one-element array or
                tensor, or a decimal string that names no speaker).

        Raises:
            ValueError: no speaker for a multi-speaker model, a speaker for another model, an
                unknown name or an id out of range (listing the speakers).
        """
        num_speakers = self.model.tts.num_speakers()
        if sids is None:
            if num_speakers:
                raise ValueError(
                    f"this model has {num_speakers} speakers: pass sids (a name: {', '.join(self.speaker_names())}; "
                    f"or an id in [0, {num_speakers}))"
                )
            return None, None
        if num_speakers == 0:
            raise ValueError("sids given but this model has no speaker ids (it was trained without --spk_list / spks)")
        if isinstance(sids, (torch.Tensor, np.ndarray)):
            array = np.asarray(sids.cpu() if isinstance(sids, torch.Tensor) else sids)
            if array.size != 1 or array.dtype.kind not in "iu":
                raise ValueError(f"sids must be one speaker id or name, got {array.tolist()!r}")
            sids = int(array.reshape(-1)[0])
        if self.speakers is not None:
            sid = self.speakers.to_id(sids)
        else:
            text = sids.strip() if isinstance(sids, str) else None
            if text is not None and not text.isdigit():
                raise ValueError(
                    f"speaker {sids!r}: this model has no speaker list (trained with tts_conf spks, not "
                    f"--spk_list), so speakers are ids in [0, {num_speakers})"
                )
            sid = int(text) if text is not None else sids
            if isinstance(sid, bool) or not isinstance(sid, int) or not 0 <= sid < num_speakers:
                raise ValueError(f"speaker id {sids!r} out of range [0, {num_speakers})")
        name = self.speaker_names()[sid]
        return torch.tensor([sid], dtype=torch.long, device=self.device), name

    def _speaker_vector(self, spembs: Any) -> Optional[torch.Tensor]:
        """``spembs`` ``(spk_embed_dim,)`` as a tensor on the device; ValueError when the model needs
        one and none is given, takes none, or the size differs."""
        dim = self.model.tts.spembs_dim()
        if spembs is None:
            if dim is not None:
                raise ValueError(f"this model takes a speaker embedding: pass spembs ({dim},)")
            return None
        if dim is None:
            raise ValueError("spembs given but this model takes no speaker embedding (spk_embed_dim)")
        tensor = self._tensor(spembs, getattr(torch, self.dtype))
        if tuple(tensor.shape) != (dim,) or not torch.isfinite(tensor).all():
            raise ValueError(f"spembs must be ({dim},) finite values, got {tuple(tensor.shape)}")
        return tensor

    def _language(self, lids: Any) -> Optional[torch.Tensor]:
        """A language id as ``(1,)`` long (None when the model takes none and none is given)."""
        num_languages = self.model.tts.num_languages()
        if lids is None:
            if num_languages:
                raise ValueError(f"this model has {num_languages} languages: pass lids (an id in [0, {num_languages}))")
            return None
        if num_languages == 0:
            raise ValueError("lids given but this model has no language ids (tts_conf langs)")
        array = np.asarray(lids.cpu() if isinstance(lids, torch.Tensor) else lids)
        if array.size != 1 or array.dtype.kind not in "iu" or not 0 <= int(array.reshape(-1)[0]) < num_languages:
            raise ValueError(f"lids must be one language id in [0, {num_languages}), got {array.tolist()!r}")
        return torch.tensor([int(array.reshape(-1)[0])], dtype=torch.long, device=self.device)

    def _weights_to_mix(self, weights: np.ndarray) -> Dict[str, float]:
        """``{name: weight}`` of weights ``(num_emotions,)``; ValueError unless they are one finite
        value >= 0 per emotion with a positive sum (as the mapping and string forms require)."""
        names = self.emotions.emo_list
        if weights.shape != (len(names),):
            raise ValueError(
                f"emo_labs weights must have one value per emotion, {len(names)} ({', '.join(names)}), "
                f"got {weights.shape[0]}: {weights.tolist()}"
            )
        if not np.isfinite(weights).all():
            raise ValueError(f"emo_labs weights must be finite, got {weights.tolist()} (emotions: {', '.join(names)})")
        if (weights < 0).any():
            raise ValueError(f"emo_labs weights must be >= 0, got {weights.tolist()} (emotions: {', '.join(names)})")
        if weights.sum() <= 0:
            raise ValueError(
                f"emo_labs weights must have a positive sum, got {weights.tolist()} (emotions: {', '.join(names)})"
            )
        return {name: float(w) for name, w in zip(names, weights) if w > 0}

    def _emotion(
        self, emo_labs: Any, reference: Optional[torch.Tensor], use_teacher_forcing: bool
    ) -> tuple[Optional[torch.Tensor], Dict[str, Any]]:
        """The model's emotion input (see :meth:`resolve_emotion`; None when it takes none) and the
        output's ``emotion`` dict, from ``emo_labs`` or else the classifier's posterior of ``reference``."""
        model = self.model
        if reference is not None and not use_teacher_forcing and not model.emotion_from_reference:
            raise ValueError(
                "a reference speech was given, but this model cannot take an emotion from it: it was trained "
                f"with emo_source={model.emo_source} and without an emotion extractor and classifier "
                "(--emo_extract, --emo_classifier); pass emo_labs instead, or use the speech for teacher forcing "
                "(use_teacher_forcing=True)"
            )
        emotion: Dict[str, Any] = {"label": None, "weights": None}
        if emo_labs is None and (model.emo_source != "label" or model.tts.num_emotions() == 0):
            return None, emotion
        if emo_labs is None:
            if reference is None or not model.emotion_from_reference:
                names = ", ".join(self.emotions.emo_list) if self.emotions is not None else "none"
                how = "emo_labs (one of: " + names + ", an id, or a {name: weight} mix)"
                if model.emotion_from_reference:
                    how += " or a reference speech (speech=...) whose emotion the model's classifier recognises"
                else:
                    how += "; it cannot take an emotion from a reference (no emotion extractor and classifier)"
                raise ValueError(f"this model is conditioned on an emotion: pass {how}")
            emo_labs = model.encode_reference(reference)["emo_posterior"].float().cpu().numpy()
        model_emo, emotion["label"], emotion["weights"] = self.resolve_emotion(emo_labs)
        return model_emo, emotion

    def _tensor(self, value: Any, dtype: Optional[torch.dtype] = None) -> Optional[torch.Tensor]:
        """``value`` (array, tensor or list) as a tensor on the device (in ``dtype`` when given); None stays None."""
        if value is None:
            return None
        tensor = torch.as_tensor(value if isinstance(value, torch.Tensor) else np.asarray(value))
        return tensor.to(self.device) if dtype is None else tensor.to(self.device, dtype)

    # --- synthesis --------------------------------------------------------------------------------
    def prepare(
        self,
        text: TextInput,
        speech: Any = None,
        durations: Any = None,
        emo_labs: Any = None,
        emo_feats: Any = None,
        use_teacher_forcing: bool = False,
        pitch: Any = None,
        energy: Any = None,
        sids: Any = None,
        spembs: Any = None,
        lids: Any = None,
    ) -> tuple[Dict[str, Any], Dict[str, Any]]:
        """Check and convert the inputs of one call (see :meth:`__call__`).

        Returns:
            the keyword arguments of ``ESPnetTTSModel.inference`` (tensors on the device) and the
            output's ``emotion`` dict (``label`` and ``weights``).
        """
        ids = self.token_ids(text)
        reference = self._reference(speech)
        if use_teacher_forcing and reference is None:
            raise ValueError("use_teacher_forcing needs the reference speech (speech=...)")
        model_emo, emotion = self._emotion(emo_labs, reference, use_teacher_forcing)
        model_sid, _ = self.resolve_speaker(sids)
        inputs = dict(
            text=ids,
            speech=reference,
            emo_labs=model_emo,
            emo_feats=self._tensor(emo_feats, getattr(torch, self.dtype)),
            durations=self._tensor(durations),
            use_teacher_forcing=use_teacher_forcing,
            sids=model_sid,
            lids=self._language(lids),
            spembs=self._speaker_vector(spembs),
        )
        if pitch is not None or energy is not None:  # models without them take no such keywords
            inputs.update(pitch=self._tensor(pitch, torch.float32), energy=self._tensor(energy, torch.float32))
        return inputs, emotion

    def infer(self, inputs: Dict[str, Any], emotion: Dict[str, Any], decode_conf: Dict[str, Any]) -> Dict[str, Any]:
        """The acoustic model's outputs for :meth:`prepare`'s ``inputs`` and ``emotion``, decoded with
        ``decode_conf`` (checked options the model uses, without ``use_teacher_forcing``): those of
        ``ESPnetTTSModel.inference``, the ``emotion`` dict (given a reference, with the classifier's
        ``posterior``, which is also the ``weights`` when there were none) and, from the attention,
        ``duration`` and ``focus_rate``. Called alone it draws from the global RNG; :meth:`__call__`
        runs it on :attr:`random_state`."""
        out = self.model.inference(**inputs, **decode_conf)
        if "emo_posterior" in out:
            emotion["posterior"] = out.pop("emo_posterior").float().cpu()
            if emotion["weights"] is None:
                emotion["weights"] = emotion["posterior"]
        out["emotion"] = emotion
        if out.get("att_w") is not None:
            out["duration"], out["focus_rate"] = attention_durations(out["att_w"])
        return out

    def vocode(
        self,
        feat_gen_denorm: torch.Tensor,
        token_f0: Optional[torch.Tensor] = None,
        durations: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Waveform ``(T_wav,)`` of denormalised features ``(T_feats, odim)``: ``T_feats * hop`` samples
        from a trained vocoder, ``(T_feats - 1) * hop`` from Griffin-Lim; empty below 2 frames.

        ``token_f0`` ``(T_text + 1,)`` (Hz, a duration model's ``pitch_denorm``) with its ``durations``
        drive a vocoder that takes F0 (:func:`frame_f0_from_token_pitch`); other vocoders ignore them."""
        if feat_gen_denorm.size(0) < 2:
            why = (
                "durations too short; raise alpha?"
                if self.model.tts.supports_prosody_control
                else "stop token at once; raise minlenratio?"
            )
            logger.warning("only %d frame generated (%s): empty wav", feat_gen_denorm.size(0), why)
            return torch.zeros(0, device=feat_gen_denorm.device)
        if token_f0 is not None and durations is not None and self.vocoder.requires_f0:
            feats = feat_gen_denorm.float()
            f0 = frame_f0_from_token_pitch(self.vocoder.predict_f0(feats), token_f0.float(), durations)
            return self.vocoder(feats, f0=f0)
        return self.vocoder(feat_gen_denorm.float())

    def __call__(
        self,
        text: TextInput,
        speech: Any = None,
        durations: Any = None,
        emo_labs: Any = None,
        emo_feats: Any = None,
        decode_conf: Optional[Dict[str, Any]] = None,
        pitch: Any = None,
        energy: Any = None,
        sids: Any = None,
        spembs: Any = None,
        lids: Any = None,
    ) -> Dict[str, Any]:
        """Synthesise one utterance.

        Args:
            text: a string, or token ids ``(T_text,)`` in ``[0, vocab_size)`` (array, tensor or list).
            speech: reference waveform ``(T_wav,)`` (array/tensor) or a WAV path at :attr:`fs`;
                used as the emotion reference and for teacher forcing.
            durations: frames per token ``(T_text + 1,)`` (``<sos/eos>`` last) replacing a duration
                model's prediction (``alpha`` does not apply to them); a ValueError for Tacotron2.
            emo_labs: an emotion name (``"happy"``), id (``1``), mixture (``{"happy": 0.7,
                "neutral": 0.3}`` or ``"happy:0.7,neutral:0.3"``) or weights ``(num_emotions,)``.
                Without it, a label-conditioned model with an emotion classifier uses the
                classifier's posterior of ``speech`` as the mixture.
            emo_feats: emotion features ``(D_emo,)`` (for ``emo_source: reference`` models).
            decode_conf: overrides of the decoding options
                (:data:`~espkit.tts.decode_options.DECODE_OPTIONS` and
                :data:`~espkit.tts.decode_options.PROSODY_OPTIONS`), checked with the
                constructor's values by :func:`~espkit.tts.decode_options.check_decode_conf` and
                :func:`~espkit.tts.decode_options.check_model_options`.
            pitch: FastSpeech2: F0 in Hz per token ``(T_text + 1,)`` (0: unvoiced) replacing the
                prediction (``pitch_scale``/``pitch_shift_cents`` do not apply to it).
            energy: FastSpeech2: energy per token ``(T_text + 1,)`` in the energy extractor's units,
                likewise.
            sids: a multi-speaker model's speaker: a name of its speaker list or an id
                (:meth:`resolve_speaker`); required by such a model, refused by others.
            spembs: speaker embedding ``(spk_embed_dim,)`` of a model trained on given vectors.
            lids: language id of a model with ``langs``.

        Returns:
            ``wav`` ``(T_wav,)`` (when there is a vocoder), ``feat_gen`` ``(T_feats, odim)``
            (normalised), ``feat_gen_denorm``, ``prob`` ``(T_feats,)``, ``att_w`` ``(T_feats,
            T_text + 1)``, ``duration`` ``(T_text + 1,)`` (frames per token incl. ``<sos/eos>``,
            summing to ``T_feats``), ``focus_rate`` ``()`` and ``emotion``: ``{"label": name, mix
            dict or None, "weights": (num_emotions,) or None}`` plus ``"posterior"`` when a
            reference was given to a model with an emotion classifier. Duration models give no
            ``prob``/``att_w``/``focus_rate``: their ``duration`` is the one used (summing to
            ``T_feats / reduction_factor``), and FastSpeech2 adds ``pitch``/``energy`` ``(T_text + 1,
            1)`` (normalised) and ``pitch_denorm`` (Hz) / ``energy_denorm`` ``(T_text + 1,)``.
            ``speaker`` is the speaker's name (None for a model without speaker ids).
        """
        overrides = [
            name
            for name, value in (("durations", durations), ("pitch", pitch), ("energy", energy))
            if value is not None
        ]
        conf = check_decode_conf({**self.decode_conf, **(decode_conf or {})})
        conf = check_model_options(conf, self.model.tts, self.model_name, overrides)
        use_teacher_forcing = conf.pop("use_teacher_forcing")
        if self.always_fix_seed:
            self.random_state.reseed(self.seed)
        with self.random_state.activate(), torch.inference_mode():
            inputs, emotion = self.prepare(
                text, speech, durations, emo_labs, emo_feats, use_teacher_forcing, pitch, energy, sids, spembs, lids
            )
            start = time.perf_counter()
            out = self.infer(inputs, emotion, conf)
            out["speaker"] = None if inputs["sids"] is None else self.speaker_names()[int(inputs["sids"])]
            acoustic_s = time.perf_counter() - start
            vocoder_s = 0.0
            if self.vocoder is not None:
                start = time.perf_counter()
                driven = self.vocoder_f0 == "model" and "pitch_denorm" in out
                out["wav"] = self.vocode(
                    out["feat_gen_denorm"],
                    out["pitch_denorm"] if driven else None,
                    out["duration"] if driven else None,
                )
                vocoder_s = time.perf_counter() - start
        audio_s = out["wav"].numel() / self.fs if "wav" in out and self.fs else 0.0
        self.last_timing = {"acoustic_s": acoustic_s, "vocoder_s": vocoder_s, "audio_s": audio_s}
        return out
