"""Synthesise speech with a trained TTS model: ``Text2Speech`` and the ``tts_inference`` command.

>>> tts = Text2Speech("exp/tts/config.yaml", "exp/tts/valid.loss.best.pth")  # doctest: +SKIP
>>> out = tts("the birch canoe", emo_labs={"happy": 0.7, "neutral": 0.3})  # doctest: +SKIP
>>> out["wav"].shape, out["feat_gen"].shape, out["emotion"]["label"]  # doctest: +SKIP
(torch.Size([20992]), torch.Size([83, 80]), {'neutral': 0.3, 'happy': 0.7})

    python -m espkit.bin.tts_inference --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --output_dir exp/tts/decode_test \\
        --data_path_and_name_and_type dump/test/text,text,text --emo_labs happy:0.7,neutral:0.3

Without a neural vocoder the waveform comes from Griffin-Lim (``espkit.tts.vocoder.griffin_lim``),
built from the feature extractor's STFT/mel parameters; a ``--vocoder_config`` YAML can set its
options (``griffin_lim_iters``, ``momentum``, ...).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch
from typeguard import typechecked

from espkit.tasks.tts import TTSTask
from espkit.torch_utils.seeding import set_all_random_seed
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.tts.vocoder.griffin_lim import GriffinLim
from espkit.utils.config_argparse import ArgumentParser, ConfigError, load_yaml_config
from espkit.utils.types import float_or_none, str2bool, str2triple_str, str_or_none

logger = logging.getLogger(__name__)

DTYPES = ("float16", "float32", "float64")
#: Decoding options of Tacotron2 inference (``decode_conf`` keys).
DECODE_OPTIONS = ("threshold", "minlenratio", "maxlenratio", "use_teacher_forcing", "use_att_constraint",
                  "backward_window", "forward_window")


def build_vocoder(feats_params: Dict[str, Any], vocoder_config: Optional[str | Path] = None) -> GriffinLim:
    """Griffin-Lim for features described by ``AbsFeatsExtract.get_parameters()``.

    ``vocoder_config`` is a YAML of ``GriffinLim`` options (``griffin_lim_iters: 32``,
    ``momentum: 0.99``...), flat or under ``vocoder_conf:``; ``vocoder: griffin_lim`` may be given.
    """
    conf: Dict[str, Any] = {"griffin_lim_iters": 32}
    if vocoder_config is not None:
        data = load_yaml_config(vocoder_config)
        kind = data.pop("vocoder", "griffin_lim")
        if kind != "griffin_lim":
            raise ConfigError(f"{vocoder_config}: vocoder {kind!r} is not available; valid: griffin_lim")
        data = {**data.pop("vocoder_conf", {}), **data}
        valid = [p for p in inspect.signature(GriffinLim.__init__).parameters if p != "self"]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"{vocoder_config}: unknown Griffin-Lim option(s) {unknown}; valid: {', '.join(valid)}")
        conf.update(data)
    return GriffinLim.from_feats_extract_params(feats_params, **conf)


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
        model_file: weights (``*.pth``), or a packed model zip (then ``train_config`` may be None).
        vocoder_config: YAML of Griffin-Lim options (see :func:`build_vocoder`).
        vocoder_file: weights of a neural vocoder (none is available yet: pass ``vocoder``).
        device: ``cpu`` or ``cuda[:N]``.
        threshold, minlenratio, maxlenratio, use_att_constraint, backward_window, forward_window:
            Tacotron2 decoding options (see ``Tacotron2.inference``).
        use_teacher_forcing: decode with the reference ``speech``'s features as decoder inputs.
        seed: seeds every RNG at construction (the prenet dropout stays on at inference).
        always_fix_seed: re-seed before every call, so that a text always gives the same output.
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
        seed: int = 777,
        always_fix_seed: bool = False,
        dtype: str = "float32",
        vocoder: Optional[AbsVocoder] = None,
    ):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if model_file is not None and Path(model_file).suffix == ".zip":
            from espkit.utils.model_pack import unpack_model

            if train_config is not None:
                logger.info("%s is a packed model: its own config.yaml is used, not %s", model_file, train_config)
            unpacked = unpack_model(model_file)
            train_config, model_file = unpacked["train_config"], unpacked["model_file"]
        if train_config is None:
            raise ValueError("Text2Speech needs train_config (config.yaml) or a packed model zip as model_file")
        set_all_random_seed(seed)
        self.device = device
        self.dtype = dtype
        self.seed = seed
        self.always_fix_seed = always_fix_seed
        start = time.perf_counter()
        model, args = TTSTask.build_model_from_file(train_config, model_file, device)
        self.model = model.to(dtype=getattr(torch, dtype)).eval()
        self.train_args = args
        self.preprocess_fn = TTSTask.build_preprocess_fn(args, train=False)
        self.emotions = self.preprocess_fn.emotions
        self.decode_conf: Dict[str, Any] = dict(
            threshold=threshold, minlenratio=minlenratio, maxlenratio=maxlenratio,
            use_teacher_forcing=use_teacher_forcing, use_att_constraint=use_att_constraint,
            backward_window=backward_window, forward_window=forward_window,
        )
        if vocoder_file is not None:
            raise ValueError(
                f"vocoder_file={vocoder_file}: espkit has no neural vocoder yet; pass a vocoder object "
                "(Text2Speech(..., vocoder=...)) or leave vocoder_file unset for Griffin-Lim"
            )
        if vocoder is None and self.model.feats_extract is not None:
            vocoder = build_vocoder(self.model.feats_extract.get_parameters(), vocoder_config)
        elif vocoder is None:
            logger.warning("the model has no feats_extract: no Griffin-Lim vocoder, outputs carry no 'wav'")
        self.vocoder = None if vocoder is None else vocoder.to(device).eval()
        self.load_time_s = time.perf_counter() - start
        self.last_timing: Dict[str, float] = {}
        logger.info("loaded %s in %.2f s (emo_source=%s, emotions=%s)", model_file, self.load_time_s,
                    self.model.emo_source, None if self.emotions is None else self.emotions.emo_list)

    @classmethod
    def from_pretrained(cls, model_path: str | Path, unpack_dir: Optional[str | Path] = None,
                        **kwargs: Any) -> "Text2Speech":
        """Load a packed model zip (from ``espkit.bin.pack_model``) from a local path.

        Args:
            model_path: the zip.
            unpack_dir: where to extract it (default: a per-zip cache directory, see
                ``espkit.utils.model_pack.default_unpack_dir``).
            **kwargs: the other constructor options.
        """
        from espkit.utils.model_pack import unpack_model

        model_path = Path(model_path)
        if not model_path.exists():
            raise FileNotFoundError(f"packed model not found: {model_path} (no download: give a local path)")
        unpacked = unpack_model(model_path, unpack_dir)
        return cls(train_config=unpacked["train_config"], model_file=unpacked["model_file"], **kwargs)

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
    def token_ids(self, text: str | np.ndarray | torch.Tensor) -> torch.Tensor:
        """Token ids ``(T_text,)`` (long, on the device) of a string or of given ids."""
        if isinstance(text, str):
            text = self.preprocess_fn.text_to_ids(text)
        ids = torch.as_tensor(np.asarray(text) if not isinstance(text, torch.Tensor) else text)
        if ids.dim() != 1 or ids.is_floating_point():
            raise ValueError(f"text must be a string or token ids (T_text,) of integers, got {tuple(ids.shape)} {ids.dtype}")
        if ids.numel() == 0:
            raise ValueError("text is empty (no tokens)")
        return ids.to(self.device, torch.long)

    def _reference(self, speech: Any) -> Optional[torch.Tensor]:
        if speech is None:
            return None
        if isinstance(speech, (str, Path)):
            from espkit.fileio.sound_scp import read_wav

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
                emo_labs = {name: float(w) for name, w in zip(self.emotions.emo_list, array) if w > 0}
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

    def _reference_posterior(self, speech: torch.Tensor) -> torch.Tensor:
        """Emotion classifier posterior ``(num_emotions,)`` of a reference waveform ``(T_wav,)``."""
        model = self.model
        batch = speech.unsqueeze(0)
        lengths = torch.tensor([batch.size(1)], device=batch.device)
        feats, feats_lengths = model.extract_feats(batch, lengths)
        prosody = model.extract_prosody(batch, lengths, feats_lengths)
        feats_norm = feats if model.normalize is None else model.normalize(feats, feats_lengths)[0]
        embed = model.emotion_embedding(feats_norm, feats_lengths, prosody)
        return model.emo_classifier.predict(embed)[0]

    # --- synthesis --------------------------------------------------------------------------------
    def __call__(
        self,
        text: str | np.ndarray | torch.Tensor,
        speech: Any = None,
        durations: Any = None,
        emo_labs: Any = None,
        emo_feats: Any = None,
        decode_conf: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Synthesise one utterance.

        Args:
            text: a string, or token ids ``(T_text,)``.
            speech: reference waveform ``(T_wav,)`` (array/tensor) or a WAV path at :attr:`fs`;
                used as the emotion reference and for teacher forcing.
            durations: token durations (passed on; Tacotron2 ignores them).
            emo_labs: an emotion name (``"happy"``), id (``1``), mixture (``{"happy": 0.7,
                "neutral": 0.3}`` or ``"happy:0.7,neutral:0.3"``) or weights ``(num_emotions,)``.
                Without it, a label-conditioned model with an emotion classifier uses the
                classifier's posterior of ``speech`` as the mixture.
            emo_feats: emotion features ``(D_emo,)`` (for ``emo_source: reference`` models).
            decode_conf: overrides of the decoding options (:data:`DECODE_OPTIONS`).

        Returns:
            ``wav`` ``(T_wav,)`` (when there is a vocoder), ``feat_gen`` ``(T_feats, odim)``
            (normalised), ``feat_gen_denorm``, ``prob`` ``(T_feats,)``, ``att_w`` ``(T_feats,
            T_text + 1)``, ``duration`` ``(T_text + 1,)`` (frames per token incl. ``<sos/eos>``,
            summing to ``T_feats``), ``focus_rate`` ``()`` and ``emotion``: ``{"label": name, mix
            dict or None, "weights": (num_emotions,) or None}`` plus ``"posterior"`` when a
            reference was given to a model with an emotion classifier.
        """
        conf = dict(self.decode_conf)
        for key, value in (decode_conf or {}).items():
            if key not in DECODE_OPTIONS:
                raise ValueError(f"decode_conf: unknown option {key!r}; valid: {', '.join(DECODE_OPTIONS)}")
            conf[key] = value
        with torch.inference_mode():
            if self.always_fix_seed:
                set_all_random_seed(self.seed)
            ids = self.token_ids(text)
            reference = self._reference(speech)
            use_teacher_forcing = conf.pop("use_teacher_forcing")
            if use_teacher_forcing and reference is None:
                raise ValueError("use_teacher_forcing needs the reference speech (speech=...)")
            emotion: Dict[str, Any] = {"label": None, "weights": None}
            model_emo = None
            has_classifier = self.model.emo_classifier is not None and reference is not None
            if emo_labs is not None:
                model_emo, emotion["label"], emotion["weights"] = self.resolve_emotion(emo_labs)
            elif self.model.emo_source == "label" and self.model.tts.num_emotions() > 0:
                if not has_classifier:
                    names = ", ".join(self.emotions.emo_list) if self.emotions is not None else "none"
                    raise ValueError(f"this model is conditioned on an emotion: pass emo_labs (one of: {names}, "
                                     "an id, or a {name: weight} mix) or a reference speech")
                posterior = self._reference_posterior(reference).float().cpu()
                model_emo, emotion["label"], emotion["weights"] = self.resolve_emotion(posterior.numpy())
            if emo_feats is not None:
                emo_feats = torch.as_tensor(np.asarray(emo_feats) if not isinstance(emo_feats, torch.Tensor)
                                            else emo_feats).to(self.device, getattr(torch, self.dtype))
            if durations is not None:
                durations = torch.as_tensor(np.asarray(durations) if not isinstance(durations, torch.Tensor)
                                            else durations).to(self.device)
            start = time.perf_counter()
            out = self.model.inference(text=ids, speech=reference, emo_labs=model_emo, emo_feats=emo_feats,
                                       durations=durations, use_teacher_forcing=use_teacher_forcing, **conf)
            acoustic_s = time.perf_counter() - start
            if "emo_posterior" in out:
                emotion["posterior"] = out.pop("emo_posterior").float().cpu()
                if emotion["weights"] is None:
                    emotion["weights"] = emotion["posterior"]
            out["emotion"] = emotion
            if out.get("att_w") is not None:
                out["duration"], out["focus_rate"] = attention_durations(out["att_w"])
            vocoder_s = 0.0
            if self.vocoder is not None:
                start = time.perf_counter()
                if out["feat_gen_denorm"].size(0) < 2:
                    logger.warning("only %d frame generated (stop token at once; raise minlenratio?): empty wav",
                                   out["feat_gen_denorm"].size(0))
                    out["wav"] = torch.zeros(0, device=out["feat_gen_denorm"].device)
                else:
                    out["wav"] = self.vocoder(out["feat_gen_denorm"].float())
                vocoder_s = time.perf_counter() - start
        audio_s = out["wav"].numel() / self.fs if "wav" in out and self.fs else 0.0
        self.last_timing = {"acoustic_s": acoustic_s, "vocoder_s": vocoder_s, "audio_s": audio_s}
        return out


# ==================================================================================================
# Command line
# ==================================================================================================
def get_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        description="TTS inference: text (+ emotion / reference) -> features and waveforms",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--output_dir", required=True, help="Where wav/, norm/, denorm/... are written")
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: the first GPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=DTYPES)
    group = parser.add_argument_group("input data related")
    group.add_argument("--data_path_and_name_and_type", type=str2triple_str, action="append", required=True,
                       help="path,name,type like training: text (required), speech (reference / teacher "
                            "forcing), emo_labs (utt2emo)")
    group.add_argument("--key_file", type=str_or_none, default=None,
                       help="Process only the uids in the first column of this file (one split of --nj jobs)")
    group.add_argument("--allow_variable_data_keys", type=str2bool, default=False)
    group = parser.add_argument_group("model related")
    group.add_argument("--train_config", type=str_or_none, default=None, help="config.yaml of the training run")
    group.add_argument("--model_file", type=str_or_none, default=None, help="Weights (.pth) or a packed model (.zip)")
    group = parser.add_argument_group("decoding related")
    group.add_argument("--maxlenratio", type=float, default=10.0, help="Max output frames / input tokens")
    group.add_argument("--minlenratio", type=float, default=0.0, help="Min output frames / input tokens")
    group.add_argument("--threshold", type=float, default=0.5, help="Stop-token probability threshold")
    group.add_argument("--use_att_constraint", type=str2bool, default=False, help="Constrain attention to a window")
    group.add_argument("--backward_window", type=int, default=1)
    group.add_argument("--forward_window", type=int, default=3)
    group.add_argument("--use_teacher_forcing", type=str2bool, default=False,
                       help="Decode with the reference speech's features (needs speech data)")
    group.add_argument("--always_fix_seed", type=str2bool, default=False, help="Re-seed before every utterance")
    group.add_argument("--emo_labs", type=str_or_none, default=None,
                       help="Emotion for all utterances: a name (happy), an id, or a mix happy:0.7,neutral:0.3; "
                            "overrides emo_labs data")
    group = parser.add_argument_group("vocoder related")
    group.add_argument("--vocoder_config", type=str_or_none, default=None, help="YAML of Griffin-Lim options")
    group.add_argument("--vocoder_file", type=str_or_none, default=None, help="Neural vocoder weights (none yet)")
    group = parser.add_argument_group("output related")
    group.add_argument("--output_streams", type=str_or_none, default=None,
                       help="NSF-style streams name:dim:ext, e.g. mel:80:.mel,f0:1:.f0 (names: "
                            "mel, mel_norm, f0, wav); raw <f4 files <output_dir>/streams/<uid><ext>, WAV for .wav")
    group.add_argument("--plot_att_ws", type=str2bool, default=True, help="Write att_ws/<uid>.png")
    group.add_argument("--f0min", type=float_or_none, default=60.0, help="F0 search floor of the f0 stream (Hz)")
    group.add_argument("--f0max", type=float_or_none, default=500.0, help="F0 search ceiling of the f0 stream (Hz)")
    return parser


def _read_keys(key_file: str) -> list[str]:
    path = Path(key_file)
    if not path.is_file():
        raise FileNotFoundError(f"--key_file: no such file: {path}")
    keys = [line.split(maxsplit=1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not keys:
        raise ConfigError(f"--key_file {path} lists no uids")
    return keys


def inference(args: argparse.Namespace) -> None:
    """Run the command described by parsed ``args`` (see :func:`get_parser`)."""
    from tqdm import tqdm

    from espkit.bin.tts_inference_writers import InferenceWriters, parse_output_streams
    from espkit.train.dataset import ESPnetDataset

    if args.ngpu > 1:
        raise ConfigError("--ngpu: inference uses one device; split the data with --key_file for more jobs")
    device = "cuda" if args.ngpu > 0 else "cpu"
    model_file = args.model_file
    if model_file is None:
        raise ConfigError("--model_file is required (weights .pth or a packed model .zip)")
    if args.train_config is None and not zipfile.is_zipfile(model_file):
        raise ConfigError("--train_config is required unless --model_file is a packed model zip")
    streams = parse_output_streams(args.output_streams)
    text2speech = Text2Speech(
        train_config=args.train_config, model_file=model_file, vocoder_config=args.vocoder_config,
        vocoder_file=args.vocoder_file, device=device, threshold=args.threshold, minlenratio=args.minlenratio,
        maxlenratio=args.maxlenratio, use_teacher_forcing=args.use_teacher_forcing,
        use_att_constraint=args.use_att_constraint, backward_window=args.backward_window,
        forward_window=args.forward_window, seed=args.seed, always_fix_seed=args.always_fix_seed, dtype=args.dtype,
    )
    names = {name for _, name, _ in args.data_path_and_name_and_type}
    if "text" not in names:
        raise ConfigError("--data_path_and_name_and_type needs a text entry, e.g. dump/test/text,text,text")
    allowed = set(TTSTask.required_data_names(inference=True)) | set(TTSTask.optional_data_names(inference=True))
    if not args.allow_variable_data_keys and names - allowed:
        raise ConfigError(f"unknown data name(s) {sorted(names - allowed)}; valid: {', '.join(sorted(allowed))}")
    dataset = ESPnetDataset(args.data_path_and_name_and_type, preprocess=text2speech.preprocess_fn,
                            fs=text2speech.fs)
    uids = list(dataset.uids)
    if args.key_file is not None:
        keys = _read_keys(args.key_file)
        missing = [k for k in keys if k not in set(uids)]
        if missing:
            raise ConfigError(f"--key_file {args.key_file}: {len(missing)} uid(s) not in the data, e.g. {missing[:3]}")
        uids = keys
    writers = InferenceWriters(Path(args.output_dir), text2speech, streams, plot_att_ws=args.plot_att_ws,
                               f0min=args.f0min, f0max=args.f0max)
    totals = {"acoustic_s": 0.0, "vocoder_s": 0.0, "audio_s": 0.0}
    with writers:
        for uid in tqdm(uids, desc="tts_inference", unit="utt", file=sys.stderr, mininterval=1.0):
            _, data = dataset[uid]
            emo_labs: Any = args.emo_labs
            if emo_labs is None and "emo_labs" in data:
                emo_labs = int(data["emo_labs"])
            out = text2speech(data["text"], speech=data.get("speech"), durations=data.get("durations"),
                              emo_labs=emo_labs, emo_feats=data.get("emo_feats"))
            for key in totals:
                totals[key] += text2speech.last_timing[key]
            writers.write(uid, out)
    audio_s = totals["audio_s"]
    if audio_s > 0:
        logger.info("real-time factor (synthesis time / audio duration) over %d utterances, %.2f s of audio: "
                    "acoustic model %.4f, vocoder %.4f, total %.4f", len(uids), audio_s,
                    totals["acoustic_s"] / audio_s, totals["vocoder_s"] / audio_s,
                    (totals["acoustic_s"] + totals["vocoder_s"]) / audio_s)


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    try:
        inference(args)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        if logger.isEnabledFor(logging.DEBUG):
            logger.exception("inference failed")
        print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
