"""``TTSTask``: the text-to-speech task — options, data handling and ``ESPnetTTSModel`` building."""

from __future__ import annotations

import argparse
import inspect
import logging
from pathlib import Path
from typing import Callable, Optional

from espkit.layers.abs_normalize import AbsNormalize
from espkit.layers.global_mvn import GlobalMVN
from espkit.layers.utterance_mvn import UtteranceMVN
from espkit.tasks.abs_task import AbsTask
from espkit.train.class_choices import ClassChoices
from espkit.train.collate_fn import CommonCollateFn
from espkit.train.preprocessor import TTSPreprocessor
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.emo_classifier import EmotionClassifier, LinearEmotionClassifier
from espkit.tts.emotion.emo_list import load_emo_list
from espkit.tts.emotion.graph_emotion import GraphEmotionClassifier, GraphReferenceEncoder
from espkit.tts.emotion.prosody import ProsodyEmoExtract
from espkit.tts.emotion.reference_encoder import ReferenceEncoder
from espkit.tts.espnet_model import EMO_SOURCES, ESPnetTTSModel, missing_durations_error
from espkit.tts.fastspeech.fastspeech import FastSpeech
from espkit.tts.fastspeech2.fastspeech2 import FastSpeech2
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.tts.feats_extract.energy import Energy
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.linear_spectrogram import LinearSpectrogram
from espkit.tts.feats_extract.pitch import Pitch
from espkit.tts.speaker.spk_list import load_spk_list
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable
from espkit.tts.transformer.transformer import Transformer
from espkit.utils.errors import ConfigError
from espkit.utils.types import int_or_none, parse_sampling_rate, str_or_none

logger = logging.getLogger(__name__)

feats_extract_choices = ClassChoices(
    "feats_extract",
    {"fbank": LogMelFbank, "linear_spectrogram": LinearSpectrogram},
    type_check=AbsFeatsExtract,
    default="fbank",
    optional=True,
)
# "dio" is ESPnet2's name for its pitch extractor (WORLD's DIO, via pyworld); espkit's is a YIN tracker
# with the same arguments (fs, n_fft, hop_length, f0min, f0max, use_*_f0, reduction_factor), so an
# ESPnet2 config loads (docs/espnet_compat.md).
pitch_extract_choices = ClassChoices(
    "pitch_extract", {"pitch": Pitch, "dio": Pitch}, type_check=AbsFeatsExtract, optional=True
)
energy_extract_choices = ClassChoices("energy_extract", {"energy": Energy}, type_check=AbsFeatsExtract, optional=True)
normalize_choices = ClassChoices(
    "normalize",
    {"global_mvn": GlobalMVN, "utterance_mvn": UtteranceMVN},
    type_check=AbsNormalize,
    default="global_mvn",
    optional=True,
)
pitch_normalize_choices = ClassChoices(
    "pitch_normalize", {"global_mvn": GlobalMVN, "utterance_mvn": UtteranceMVN}, type_check=AbsNormalize, optional=True
)
energy_normalize_choices = ClassChoices(
    "energy_normalize", {"global_mvn": GlobalMVN, "utterance_mvn": UtteranceMVN}, type_check=AbsNormalize, optional=True
)
emo_extract_choices = ClassChoices(
    "emo_extract",
    {"prosody": ProsodyEmoExtract, "reference_encoder": ReferenceEncoder, "graph": GraphReferenceEncoder},
    type_check=AbsEmoExtract,
    optional=True,
)
emo_classifier_choices = ClassChoices(
    "emo_classifier",
    {"mlp": EmotionClassifier, "linear": LinearEmotionClassifier, "graph": GraphEmotionClassifier},
    type_check=EmotionClassifier,
    optional=True,
)
# "emocontrl" is the registry name of the original design's emotion-controllable Tacotron2: kept so
# that its configs still load; "tacotron2_controllable" is the same class.
tts_choices = ClassChoices(
    "tts",
    {
        "tacotron2": Tacotron2,
        "tacotron2_controllable": Tacotron2Controllable,
        "emocontrl": Tacotron2Controllable,
        "fastspeech2": FastSpeech2,
        "fastspeech": FastSpeech,
        "transformer": Transformer,
    },
    type_check=AbsTTS,
    default="tacotron2",
)

# ESPnet2's variable names for the same registries (espnet2/tasks/tts.py).
feats_extractor_choices = feats_extract_choices
pitch_extractor_choices = pitch_extract_choices
energy_extractor_choices = energy_extract_choices

#: ``normalize`` option -> the statistics file that stats collection writes for it.
STATS_FILES = {
    "normalize": "feats_stats.npz",
    "pitch_normalize": "pitch_stats.npz",
    "energy_normalize": "energy_stats.npz",
}


def _positive(value):
    """An ``spks`` / ``langs`` option as a table size to check ids against (None or <= 0: None)."""
    return value if isinstance(value, int) and value > 0 else None


def read_token_list(token_list: str | Path | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """``--token_list`` as a list: a file (one token per line, blank lines skipped) is read; a list is kept.

    Raises:
        ConfigError: the file does not exist.
    """
    if token_list is None or isinstance(token_list, (list, tuple)):
        return None if token_list is None else list(token_list)
    path = Path(token_list)
    if not path.is_file():
        raise ConfigError(f"--token_list: file not found: {path} (make it with python -m espkit.bin.tokenize_text)")
    return [line.rstrip("\n") for line in path.open(encoding="utf-8") if line.strip()]


def check_normalize_invertible(args: argparse.Namespace) -> None:
    """Refuse ``--normalize utterance_mvn``: synthesis must denormalise the features it predicts, and
    per-utterance statistics are gone by then (ESPnet2 fails only at synthesis, after training)."""
    if getattr(args, "normalize", None) == "utterance_mvn":
        raise ConfigError(
            "--normalize utterance_mvn: a TTS model's predicted features cannot be denormalised with "
            "per-utterance statistics; use --normalize global_mvn (or none)"
        )


def upgrade_linear_classifier(args: argparse.Namespace) -> None:
    """Read ``emo_classifier: linear`` as configs meant it before ``linear`` was a linear classifier.

    It built ``EmotionClassifier``, whose ``hidden_units`` (written into every config.yaml) made it an
    MLP unless 0. With ``hidden_units: 0`` it was linear: the MLP's options are dropped and
    :class:`LinearEmotionClassifier` loads the same weights. Otherwise it was an MLP: the choice
    becomes ``mlp`` (with a warning), which is what the weights are.
    """
    conf = args.emo_classifier_conf or {}
    if args.emo_classifier != "linear" or "hidden_units" not in conf:
        return
    if conf["hidden_units"] == 0:
        args.emo_classifier_conf = {k: v for k, v in conf.items() if k not in ("hidden_units", "dropout_rate")}
        return
    logger.warning(
        "emo_classifier: linear with hidden_units: %s is the MLP that 'linear' built before it became "
        "a linear classifier: building emo_classifier: mlp (write that in the config)",
        conf["hidden_units"],
    )
    args.emo_classifier = "mlp"


def apply_spk_list(args: argparse.Namespace) -> None:
    """``--spk_list`` sets the model's ``spks`` (``tts_conf``): its length. ConfigError when the chosen
    ``--tts`` takes no speaker ids or ``tts_conf`` gives another positive ``spks``."""
    if not getattr(args, "spk_list", None):
        return
    num_speakers = len(args.spk_list)
    tts_class = tts_choices.get_class(args.tts)
    if "spks" not in inspect.signature(tts_class.__init__).parameters:
        raise ConfigError(f"--spk_list: --tts {args.tts} takes no speaker ids (spks)")
    conf = dict(args.tts_conf or {})
    given = conf.get("spks")
    if isinstance(given, int) and given > 0 and given != num_speakers:
        raise ConfigError(
            f"--tts_conf spks={given} but --spk_list has {num_speakers} speakers: drop spks (the list sets it)"
        )
    conf["spks"] = num_speakers
    args.tts_conf = conf


def check_speaker_data(args: argparse.Namespace, tts: AbsTTS) -> None:
    """ConfigError when training/validation data and the model disagree on speaker inputs: ``sids``
    (``lids``, ``spembs``) data for a model without ``spks`` (``langs``, ``spk_embed_dim``), or such a
    model without the data."""
    needs = {
        "sids": (
            tts.num_speakers() > 0,
            "--spk_list (or tts_conf spks)",
            "utt2sid,sids,text_int (tts.sh --use_sid true)",
        ),
        "lids": (tts.num_languages() > 0, "tts_conf langs", "utt2lid,lids,text_int"),
        "spembs": (
            tts.spembs_dim() is not None,
            "tts_conf spk_embed_dim",
            "spembs.scp,spembs,npy (tts.sh --use_spembs true)",
        ),
    }
    for option in ("train_data_path_and_name_and_type", "valid_data_path_and_name_and_type"):
        entries = getattr(args, option, None)
        if not entries:
            continue
        names = {entry[1] for entry in entries}
        for name, (model_has, model_option, data_hint) in needs.items():
            if name in names and not model_has:
                raise ConfigError(f"--{option}: {name} data given but the model takes no {name}: set {model_option}")
            if model_has and name not in names:
                raise ConfigError(f"--{option}: the model takes {name} but the data has none: add {data_hint}")


def check_durations_data(args: argparse.Namespace, tts: AbsTTS) -> None:
    """ConfigError when a model that needs durations is given training/validation data without them
    (checked where data options are given: training and statistics, not inference)."""
    if not tts.needs_durations:
        return
    for option in ("train_data_path_and_name_and_type", "valid_data_path_and_name_and_type"):
        entries = getattr(args, option, None)
        if entries and not any(entry[1] == "durations" for entry in entries):
            raise ConfigError(f"--{option}: {missing_durations_error(tts)}")


class TTSTask(AbsTask):
    """Text-to-speech: ``text`` (+ ``speech``, ``emo_labs``...) -> ``ESPnetTTSModel``."""

    config_kind = "tts"
    stats_files = STATS_FILES
    class_choices_list = [
        feats_extract_choices,
        pitch_extract_choices,
        energy_extract_choices,
        normalize_choices,
        pitch_normalize_choices,
        energy_normalize_choices,
        emo_extract_choices,
        emo_classifier_choices,
        tts_choices,
    ]
    # Filled in by build_model (from the token list, features and emotion list), not by the user.
    task_supplied_args = {
        **AbsTask.task_supplied_args,
        "pitch_extract": ("fs", "n_fft", "hop_length", "win_length", "window"),
        "energy_extract": ("fs", "n_fft", "hop_length", "win_length", "window"),
        "emo_extract": ("idim", "fs", "hop_length"),
        "emo_classifier": ("idim", "num_emotions"),
        "tts": ("idim", "odim", "num_emotions", "emo_feat_dim"),
    }

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("task related")
        group.add_argument("--token_list", type=str_or_none, default=None, help="Token list file (or list in a config)")
        group.add_argument("--odim", type=int_or_none, default=None, help="Feature size when there is no feats_extract")
        group.add_argument(
            "--emo_list",
            type=str_or_none,
            default=None,
            help="Emotion labels: a file (one per line) or comma-separated, e.g. neutral,happy,sad,angry",
        )
        group.add_argument(
            "--spk_list",
            type=str_or_none,
            default=None,
            help="Speaker names: a file (one per line) or comma-separated; sets the model's spks and lets "
            "sids data and Text2Speech name speakers",
        )
        group.add_argument(
            "--emo_source",
            type=str,
            default="label",
            choices=EMO_SOURCES,
            help="What conditions the TTS model: emotion labels, a reference embedding, or nothing",
        )
        group = parser.add_argument_group("preprocess related")
        group.add_argument(
            "--token_type", type=str_or_none, default="phn", choices=("char", "phn", "word", None), help="Text unit"
        )
        group.add_argument("--cleaner", type=str_or_none, default="english", help="Text cleaner (english, none)")
        group.add_argument("--g2p", type=str_or_none, default="espeak_ng_english", help="g2p for token_type phn")
        group.add_argument(
            "--non_linguistic_symbols", type=str_or_none, default=None, help="File of symbols kept whole"
        )
        group = parser.add_argument_group("model parts")
        for choices in cls.class_choices_list:
            choices.add_arguments(group)

    @classmethod
    def resolve_args(cls, args: argparse.Namespace) -> argparse.Namespace:
        """Also reads ``--token_list``/``--emo_list``/``--spk_list`` files into lists (so config.yaml is
        self-contained; the speaker list sets ``tts_conf`` ``spks``: :func:`apply_spk_list`) and reads
        an older config's ``emo_classifier: linear`` (:func:`upgrade_linear_classifier`)."""
        upgrade_linear_classifier(args)
        check_normalize_invertible(args)
        super().resolve_args(args)
        args.token_list = read_token_list(args.token_list)
        if args.emo_list is not None and not isinstance(args.emo_list, list):
            try:
                args.emo_list = load_emo_list(args.emo_list)
            except (ValueError, FileNotFoundError) as exc:
                raise ConfigError(f"--emo_list: {exc}") from None
        if args.spk_list is not None and not isinstance(args.spk_list, list):
            try:
                args.spk_list = load_spk_list(args.spk_list)
            except (ValueError, FileNotFoundError) as exc:
                raise ConfigError(f"--spk_list: {exc}") from None
        apply_spk_list(args)
        return args

    # --- data ---------------------------------------------------------------------------------------
    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        return ("text",) if inference else ("text", "speech")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> tuple:
        return ("speech", "emo_labs", "emo_feats", "durations", "pitch", "energy", "sids", "lids", "spembs")

    @classmethod
    def shape_data_names(cls) -> tuple:
        """Batches are sorted by speech length first (the bulk of every batch), then text."""
        return ("speech", "text")

    @classmethod
    def expected_fs(cls, args: argparse.Namespace) -> Optional[int]:
        if args.feats_extract is None:
            return None
        fs = args.feats_extract_conf.get("fs")
        return None if fs is None else parse_sampling_rate(fs, "--feats_extract_conf fs")

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        tts_conf = getattr(args, "tts_conf", None) or {}
        return TTSPreprocessor(
            token_type=args.token_type if args.token_list is not None else None,
            token_list=args.token_list,
            cleaner=args.cleaner,
            g2p_type=args.g2p,
            non_linguistic_symbols=args.non_linguistic_symbols,
            emo_list=args.emo_list,
            speech_name="speech" if args.feats_extract is not None else None,  # else features, not a waveform
            frame_grid=cls.frame_grid(args),
            spk_list=getattr(args, "spk_list", None),
            spks=_positive(tts_conf.get("spks")),
            langs=_positive(tts_conf.get("langs")),
            spk_embed_dim=tts_conf.get("spk_embed_dim"),
        )

    @classmethod
    def frame_grid(cls, args: argparse.Namespace):
        """The features' STFT (``n_frames(num_samples)``: what teacher durations must add up to), or
        None without a feats_extract."""
        if args.feats_extract is None:
            return None
        return feats_extract_choices.build(args.feats_extract, args.feats_extract_conf).stft

    @classmethod
    def prepare_dataset(cls, args: argparse.Namespace, dataset) -> None:
        """Phonemise every text of the data set in one g2p batch (later lookups hit the cache)."""
        if args.token_type == "phn" and dataset.has_name("text") and dataset.types["text"] == "text":
            dataset.preprocess.warm_up(dataset.loaders["text"].values())

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        return CommonCollateFn(
            float_pad_value=0.0, int_pad_value=0, not_sequence=("emo_labs", "emo_feats", "sids", "lids", "spembs")
        )

    # --- model ----------------------------------------------------------------------------------------
    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ESPnetTTSModel:
        """The model of ``args``; ``args.token_list`` may be a list or, as in ESPnet2, a file path."""
        check_normalize_invertible(args)
        args.token_list = read_token_list(args.token_list)
        apply_spk_list(args)
        if args.token_list is None:
            raise ConfigError("--token_list is required to build a TTS model")
        if not args.token_list or args.token_list[-1] != "<sos/eos>":
            last = repr(args.token_list[-1]) if args.token_list else "nothing (the list is empty)"
            raise ConfigError(
                f"--token_list: the last token must be '<sos/eos>' (the model's end-of-sentence id is the "
                f"last id), got {last}; make the list with tokenize_text --add_symbol '<sos/eos>:-1'"
            )
        vocab_size = len(args.token_list)
        feats_extract = feats_extract_choices.build(args.feats_extract, args.feats_extract_conf)
        if feats_extract is not None:
            odim = feats_extract.output_size()
            feats_params = feats_extract.get_parameters()
        elif args.odim is not None:
            odim, feats_params = args.odim, {}
        else:
            raise ConfigError("--odim is required when --feats_extract is none")
        prosody_params = {
            k: feats_params[k]
            for k in ("fs", "n_fft", "hop_length", "win_length", "window")
            if feats_params.get(k) is not None
        }
        pitch_extract = pitch_extract_choices.build(args.pitch_extract, args.pitch_extract_conf, **prosody_params)
        energy_extract = energy_extract_choices.build(args.energy_extract, args.energy_extract_conf, **prosody_params)
        if args.collect_stats:  # statistics are what the normalisers will be made from
            normalize = pitch_normalize = energy_normalize = None
        else:
            normalize = normalize_choices.build(args.normalize, args.normalize_conf)
            pitch_normalize = pitch_normalize_choices.build(args.pitch_normalize, args.pitch_normalize_conf)
            energy_normalize = energy_normalize_choices.build(args.energy_normalize, args.energy_normalize_conf)

        num_emotions = len(args.emo_list) if args.emo_list else 0
        emo_extract = emo_extract_choices.build(args.emo_extract, args.emo_extract_conf, idim=odim, **prosody_params)
        emo_classifier = None
        if args.emo_classifier is not None:
            if emo_extract is None or num_emotions < 2:
                raise ConfigError("--emo_classifier needs --emo_extract and an --emo_list of at least 2 labels")
            emo_classifier = emo_classifier_choices.build(
                args.emo_classifier, args.emo_classifier_conf, idim=emo_extract.output_size(), num_emotions=num_emotions
            )
        tts_kwargs = {"idim": vocab_size, "odim": odim}
        if num_emotions and args.emo_source == "label":
            tts_kwargs["num_emotions"] = num_emotions
        elif args.emo_source != "label":
            tts_kwargs["num_emotions"] = 0  # no label table that nothing would train
        if args.emo_source == "reference":
            if emo_extract is None:
                raise ConfigError("--emo_source reference needs an --emo_extract")
            tts_kwargs["emo_feat_dim"] = emo_extract.output_size()
        tts = tts_choices.build(args.tts, args.tts_conf, **tts_kwargs)
        if tts.num_emotions() and args.emo_source == "label" and tts.num_emotions() != num_emotions:
            raise ConfigError(
                f"--tts {args.tts} is emotion-controllable: set --emo_list (e.g. neutral,happy,sad,angry)"
            )
        check_durations_data(args, tts)
        check_speaker_data(args, tts)
        try:
            return ESPnetTTSModel(
                feats_extract=feats_extract,
                pitch_extract=pitch_extract,
                energy_extract=energy_extract,
                normalize=normalize,
                pitch_normalize=pitch_normalize,
                energy_normalize=energy_normalize,
                emo_extract=emo_extract,
                emo_classifier=emo_classifier,
                tts=tts,
                emo_source=args.emo_source,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
