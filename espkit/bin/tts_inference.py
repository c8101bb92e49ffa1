"""The ``tts_inference`` command (``Text2Speech`` itself lives in ``espkit.tts.text2speech``).

    python -m espkit.bin.tts_inference --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --output_dir exp/tts/decode_test \\
        --data_path_and_name_and_type dump/test/text,text,text --emo_labs happy:0.7,neutral:0.3

With ``--vocoder_file`` (a trained vocoder's weights, from ``espkit.bin.gan_tts_train``) the waveform
comes from that vocoder, and ``--vocoder_config`` is its training ``config.yaml`` (default: the one
beside the weights); its feature settings must be the acoustic model's. A packed model
(``pack_model --vocoder_file``) may carry its vocoder. Otherwise the waveform comes from Griffin-Lim
(``espkit.tts.vocoder.griffin_lim``), built from the feature extractor's STFT/mel parameters, and a
``--vocoder_config`` YAML can set its options (``griffin_lim_iters``, ``momentum``, ...)::

    python -m espkit.bin.tts_inference --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --output_dir exp/tts/decode_test \\
        --data_path_and_name_and_type dump/test/text,text,text --emo_labs happy \\
        --vocoder_file exp/vocoder/train.total_count.best.pth

A duration model (``--tts fastspeech2`` / ``fastspeech``) takes prosody controls for every utterance
(``--speed_control_alpha``, alias ``--alpha``: durations x alpha, > 1 slower; FastSpeech2 also
``--pitch_scale``, ``--pitch_shift_cents``, ``--energy_scale``) and per-utterance overrides as
Kaldi-style text files, one line ``<uid> v_1 ... v_{T_text+1}`` per utterance (the last value for
``<sos/eos>``): ``--durations_file`` (frames per token, e.g. the ``durations/durations`` an earlier
run wrote), ``--pitch_file`` (F0 in Hz per token, 0 unvoiced: ``pitch/pitch``) and ``--energy_file``
(``energy/energy``). Every line is checked against the utterance's token count before anything
is decoded. Uids missing from a file are decoded with the prediction. Tacotron2 refuses them all
(one error line naming the option); a duration model ignores Tacotron2's ``--threshold``,
``--minlenratio``, ``--maxlenratio``, ``--use_att_constraint`` and windows (warning when set away
from their defaults), so that one ``decode.yaml`` serves both::

    python -m espkit.bin.tts_inference --train_config exp/tts_fastspeech2/config.yaml \\
        --model_file exp/tts_fastspeech2/valid.loss.best.pth --output_dir exp/tts_fastspeech2/slow \\
        --data_path_and_name_and_type dump/test/text,text,text --speed_control_alpha 1.3 \\
        --pitch_shift_cents 200

A multi-speaker model takes each utterance's speaker from the data, as in training
(``utt2sid,sids,text_int``, or ``utt2spk,sids,text`` with speaker names of the model's list;
``spembs.scp,spembs,npy`` for a model trained on speaker embeddings), or one speaker for all
utterances from ``--sids`` (a name or an id); every utterance's speaker is checked before anything
is decoded::

    python -m espkit.bin.tts_inference --train_config exp/tts_vctk/config.yaml \\
        --model_file exp/tts_vctk/valid.loss.best.pth --output_dir exp/tts_vctk/decode_p226 \\
        --data_path_and_name_and_type dump/test/text,text,text --sids p226
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence

import numpy as np
import torch

from espkit.bin.tts_inference_writers import InferenceWriters, parse_output_streams
from espkit.fileio.read_text import read_lines_with_numbers
from espkit.tasks.tts import TTSTask
from espkit.torch_utils.host_allocator import keep_freed_memory
from espkit.train.checkpoint import CheckpointError
from espkit.train.dataset import ESPnetDataset
from espkit.tts.decode_options import check_model_options
from espkit.tts.text2speech import DTYPES, Text2Speech  # Text2Speech: ESPnet's import path
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.config_argparse import ArgumentParser
from espkit.utils.errors import ConfigError
from espkit.utils.types import float_or_none, str2bool, str2triple_str, str_or_none

logger = logging.getLogger(__name__)


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
    group.add_argument(
        "--data_path_and_name_and_type",
        type=str2triple_str,
        action="append",
        required=True,
        help="path,name,type like training: text (required), speech (reference / teacher forcing), emo_labs (utt2emo), "
        "sids (utt2sid), spembs (*.npy scp)",
    )
    group.add_argument(
        "--key_file",
        type=str_or_none,
        default=None,
        help="Process only the uids in the first column of this file (one split of --nj jobs)",
    )
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
    group.add_argument(
        "--use_cache",
        type=str2bool,
        default=True,
        help="Transformer: keep each decoder layer's keys/values between steps (false: recompute the prefix)",
    )
    group.add_argument(
        "--use_teacher_forcing",
        type=str2bool,
        default=False,
        help="Decode with the reference speech's features (needs speech data)",
    )
    group.add_argument("--always_fix_seed", type=str2bool, default=False, help="Re-seed before every utterance")
    group.add_argument(
        "--speed_control_alpha",
        "--alpha",
        dest="alpha",
        type=float,
        default=1.0,
        help="Duration models: predicted durations x alpha (> 1: slower speech)",
    )
    group.add_argument(
        "--pitch_scale", type=float, default=1.0, help="FastSpeech2: scale of pitch excursions around the mean (>= 0)"
    )
    group.add_argument(
        "--pitch_shift_cents", type=float, default=0.0, help="FastSpeech2 (log-F0): pitch shift in cents"
    )
    group.add_argument("--energy_scale", type=float, default=1.0, help="FastSpeech2: factor on the energy (>= 0)")
    group.add_argument(
        "--vocoder_f0",
        choices=("model", "vocoder"),
        default="model",
        help="A vocoder driven by F0 (nsf) takes a FastSpeech2's predicted pitch (model) or only its own F0 "
        "predictor (vocoder)",
    )
    group.add_argument(
        "--durations_file",
        type=str_or_none,
        default=None,
        help="Duration models: '<uid> d_1 ... d_{T_text+1}' frames per token replacing the prediction",
    )
    group.add_argument(
        "--pitch_file",
        type=str_or_none,
        default=None,
        help="FastSpeech2: '<uid> f_1 ... f_{T_text+1}' F0 in Hz per token (0: unvoiced) replacing the prediction",
    )
    group.add_argument(
        "--energy_file",
        type=str_or_none,
        default=None,
        help="FastSpeech2: '<uid> e_1 ... e_{T_text+1}' energy per token replacing the prediction",
    )
    group.add_argument(
        "--emo_labs",
        type=str_or_none,
        default=None,
        help="Emotion for all utterances: a name (happy), an id, or a mix happy:0.7,neutral:0.3; "
        "overrides emo_labs data",
    )
    group.add_argument(
        "--sids",
        type=str_or_none,
        default=None,
        help="Speaker for all utterances of a multi-speaker model: a name of its speaker list or an id; "
        "overrides sids data",
    )
    group = parser.add_argument_group("vocoder related")
    group.add_argument(
        "--vocoder_config",
        type=str_or_none,
        default=None,
        help="With --vocoder_file: the vocoder's training config.yaml (default: the one beside it); "
        "without: a YAML of Griffin-Lim options",
    )
    group.add_argument(
        "--vocoder_file",
        type=str_or_none,
        default=None,
        help="Trained vocoder weights (gan_tts_train); none: the packed model's vocoder, else Griffin-Lim",
    )
    group = parser.add_argument_group("output related")
    group.add_argument(
        "--output_streams",
        type=str_or_none,
        default=None,
        help="NSF-style streams name:dim:ext, e.g. mel:80:.mel,f0:1:.f0 (names: "
        "mel, mel_norm, f0, wav); raw <f4 files <output_dir>/streams/<uid><ext>, WAV for .wav",
    )
    group.add_argument("--plot_att_ws", type=str2bool, default=True, help="Write att_ws/<uid>.png")
    group.add_argument(
        "--write_wav",
        type=str2bool,
        default=True,
        help="false: run no vocoder and write no wav/ (e.g. teacher durations: --use_teacher_forcing true)",
    )
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


class OutputError(OSError):
    """Writing under ``--output_dir`` failed (disk full, read-only, not a directory...)."""


@contextlib.contextmanager
def output_errors(output_dir: str | Path, uid: Optional[str] = None) -> Iterator[None]:
    """Turn an ``OSError`` of the block into an :class:`OutputError` naming ``--output_dir`` (and ``uid``)."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        what = f"the outputs of {uid!r}" if uid is not None else "the outputs"
        raise OutputError(f"cannot write {what} under --output_dir {output_dir}: {exc}") from exc


def check_speakers(dataset: ESPnetDataset, uids: Sequence[str], preprocess: Any) -> None:
    """Check every utterance's ``sids`` / ``lids`` / ``spembs`` data (names, id ranges, sizes) before
    anything is decoded: the first bad one is a ConfigError naming its uid and file."""
    for name in ("sids", "lids", "spembs"):
        if not dataset.has_name(name):
            continue
        loader = dataset.loaders[name]
        for uid in uids:
            try:
                preprocess(uid, {name: loader[uid]})
            except ValueError as exc:
                raise ConfigError(f"{dataset.paths[name]}: {exc}; nothing was decoded") from None


def check_emotion_labels(path: str | Path, emotions: Any) -> None:
    """Check every label of an ``utt2emo`` file (``<uid> <emotion>``) before anything is decoded.

    Raises ConfigError naming ``path:line``, the uid and the known emotions (or saying the model
    has none), for the first unknown label, with the number of such lines.
    """

    problems = []
    for lineno, uid, label in read_lines_with_numbers(path):
        if not label:
            continue  # the data reader has already rejected lines without a value
        if emotions is None:
            problems.append(
                f"{path}:{lineno}: uid {uid!r} has emotion label {label!r} but the model has no "
                "emotion list (it was trained without --emo_list); drop the emo_labs data"
            )
            continue
        try:
            emotions.name2id(label)
        except ValueError as exc:
            problems.append(f"{path}:{lineno}: uid {uid!r}: {exc}")
    if problems:
        more = f" ({len(problems)} line(s) in all)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more + "; nothing was decoded")


#: Per-token override files: option -> (Text2Speech keyword, whether the values are frame counts).
OVERRIDE_FILES = {
    "durations_file": ("durations", True),
    "pitch_file": ("pitch", False),
    "energy_file": ("energy", False),
}


def read_token_values(path: str | Path, option: str, integer: bool) -> Dict[str, tuple[int, np.ndarray]]:
    """``uid -> (line number, values (N,))`` of a ``<uid> v_1 ... v_N`` file given as ``--<option>``.

    Values must be numbers, finite and >= 0 (with ``integer``: whole numbers); a uid may appear once.
    Errors are ConfigErrors naming ``--option path:line`` and the uid.
    """
    table: Dict[str, tuple[int, np.ndarray]] = {}
    for lineno, uid, rest in read_lines_with_numbers(path):
        where = f"--{option} {path}:{lineno}: uid {uid!r}"
        if uid in table:
            raise ConfigError(f"{where} is given twice (also line {table[uid][0]})")
        try:
            values = np.array([float(v) for v in rest.split()], dtype=np.float64)
        except ValueError:
            raise ConfigError(f"{where}: values must be numbers, got {rest!r}") from None
        if values.size == 0:
            raise ConfigError(f"{where} has no values")
        if not np.isfinite(values).all() or (values < 0).any():
            raise ConfigError(f"{where}: values must be finite and >= 0, got {rest!r}")
        if integer and not np.equal(values, np.round(values)).all():
            raise ConfigError(f"{where}: durations must be whole frame counts, got {rest!r}")
        table[uid] = (lineno, values.astype(np.int64) if integer else values.astype(np.float32))
    if not table:
        raise ConfigError(f"--{option} {path} holds no utterance")
    return table


def read_overrides(
    args: argparse.Namespace, dataset: ESPnetDataset, uids: Sequence[str], preprocess: Any
) -> Dict[str, Dict[str, np.ndarray]]:
    """``{keyword: {uid: values}}`` of the ``--*_file`` overrides, each checked to hold
    ``T_text + 1`` values for its uid (and uids of the data) before anything is decoded."""
    overrides: Dict[str, Dict[str, np.ndarray]] = {}
    num_tokens: Dict[str, int] = {}
    for option, (keyword, integer) in OVERRIDE_FILES.items():
        path = getattr(args, option)
        if path is None:
            continue
        if keyword == "durations" and dataset.has_name("durations"):
            raise ConfigError(
                f"--durations_file {path} and durations data ({dataset.paths['durations']}) are both given; keep one"
            )
        table = read_token_values(path, option, integer)
        unknown = sorted(set(table) - set(dataset.uids))
        if unknown:
            raise ConfigError(f"--{option} {path}: {len(unknown)} uid(s) not in the data, e.g. {unknown[:3]}")
        for uid in uids:
            if uid not in table:
                continue
            if uid not in num_tokens:
                num_tokens[uid] = len(preprocess(uid, {"text": dataset.loaders["text"][uid]})["text"])
            lineno, values = table[uid]
            if values.size != num_tokens[uid] + 1:
                raise ConfigError(
                    f"--{option} {path}:{lineno}: uid {uid!r} has {values.size} values but its text has "
                    f"{num_tokens[uid]} tokens: give T_text + 1 = {num_tokens[uid] + 1} (the last for <sos/eos>); "
                    "nothing was decoded"
                )
        overrides[keyword] = {uid: values for uid, (_, values) in table.items()}
    return overrides


def inference(args: argparse.Namespace) -> None:
    """Run the command described by parsed ``args`` (see :func:`get_parser`)."""
    from tqdm import tqdm

    if args.ngpu > 1:
        raise ConfigError("--ngpu: inference uses one device; split the data with --key_file for more jobs")
    if args.ngpu < 0:
        raise ConfigError(f"--ngpu {args.ngpu}: give 0 (CPU) or 1 (the first GPU)")
    if args.ngpu == 1 and not torch.cuda.is_available():
        raise ConfigError("--ngpu 1: CUDA is not available on this machine; use --ngpu 0 to decode on the CPU")
    device = "cuda" if args.ngpu > 0 else "cpu"
    model_file = args.model_file
    if model_file is None:
        raise ConfigError("--model_file is required (weights .pth or a packed model .zip)")
    # a .pth is a zip archive too: a packed model is told by its suffix, as Text2Speech does
    if args.train_config is None and Path(model_file).suffix != ".zip":
        raise ConfigError(f"--train_config is required unless --model_file is a packed model .zip (got {model_file})")
    streams = parse_output_streams(args.output_streams)
    text2speech = Text2Speech(
        train_config=args.train_config,
        model_file=model_file,
        vocoder_config=args.vocoder_config,
        vocoder_file=args.vocoder_file,
        device=device,
        threshold=args.threshold,
        minlenratio=args.minlenratio,
        maxlenratio=args.maxlenratio,
        use_teacher_forcing=args.use_teacher_forcing,
        use_att_constraint=args.use_att_constraint,
        backward_window=args.backward_window,
        forward_window=args.forward_window,
        use_cache=args.use_cache,
        seed=args.seed,
        always_fix_seed=args.always_fix_seed,
        dtype=args.dtype,
        alpha=args.alpha,
        pitch_scale=args.pitch_scale,
        pitch_shift_cents=args.pitch_shift_cents,
        energy_scale=args.energy_scale,
        vocoder_f0=args.vocoder_f0,
    )
    if not args.write_wav:
        if any(s.name in ("f0", "wav") for s in streams):
            raise ConfigError("--output_streams f0/wav need a waveform: drop them or set --write_wav true")
        text2speech.vocoder = None  # features, durations and focus rates only
    names = {name for _, name, _ in args.data_path_and_name_and_type}
    if "text" not in names:
        raise ConfigError("--data_path_and_name_and_type needs a text entry, e.g. dump/test/text,text,text")
    allowed = set(TTSTask.required_data_names(inference=True)) | set(TTSTask.optional_data_names(inference=True))
    if not args.allow_variable_data_keys and names - allowed:
        raise ConfigError(f"unknown data name(s) {sorted(names - allowed)}; valid: {', '.join(sorted(allowed))}")
    dataset = ESPnetDataset(args.data_path_and_name_and_type, preprocess=text2speech.preprocess_fn, fs=text2speech.fs)
    uids = list(dataset.uids)
    if args.key_file is not None:
        keys = _read_keys(args.key_file)
        missing = [k for k in keys if k not in set(uids)]
        if missing:
            raise ConfigError(f"--key_file {args.key_file}: {len(missing)} uid(s) not in the data, e.g. {missing[:3]}")
        uids = keys
    if dataset.has_name("emo_labs") and dataset.types["emo_labs"] == "text":
        check_emotion_labels(dataset.paths["emo_labs"], text2speech.emotions)
    check_speakers(dataset, uids, text2speech.preprocess_fn)
    num_speakers = text2speech.model.tts.num_speakers()
    if num_speakers and args.sids is None and not dataset.has_name("sids"):
        raise ConfigError(
            f"the model has {num_speakers} speakers ({', '.join(text2speech.speaker_names())}): give --sids "
            "NAME|ID or the speakers as data (--data_path_and_name_and_type <dir>/utt2sid,sids,text_int)"
        )
    if args.sids is not None:
        try:
            text2speech.resolve_speaker(args.sids)
        except ValueError as exc:
            raise ConfigError(f"--sids {args.sids}: {exc}") from None
    overrides = read_overrides(args, dataset, uids, text2speech.preprocess_fn)
    if overrides:  # a model that cannot honour them is refused before anything is decoded
        check_model_options(text2speech.decode_conf, text2speech.model.tts, text2speech.model_name, list(overrides))
    with output_errors(args.output_dir):
        writers = InferenceWriters(
            Path(args.output_dir),
            text2speech,
            streams,
            plot_att_ws=args.plot_att_ws,
            f0min=args.f0min,
            f0max=args.f0max,
        )
    totals = {"acoustic_s": 0.0, "vocoder_s": 0.0, "audio_s": 0.0}
    finished = False
    try:
        for uid in tqdm(uids, desc="tts_inference", unit="utt", file=sys.stderr, mininterval=1.0):
            _, data = dataset[uid]
            emo_labs: Any = args.emo_labs
            if emo_labs is None and "emo_labs" in data:
                emo_labs = int(data["emo_labs"])
            given = {keyword: table[uid] for keyword, table in overrides.items() if uid in table}
            out = text2speech(
                data["text"],
                speech=data.get("speech"),
                durations=given.get("durations", data.get("durations")),
                emo_labs=emo_labs,
                emo_feats=data.get("emo_feats"),
                pitch=given.get("pitch"),
                energy=given.get("energy"),
                sids=args.sids if args.sids is not None else data.get("sids"),
                spembs=data.get("spembs"),
                lids=data.get("lids"),
            )
            for key in totals:
                totals[key] += text2speech.last_timing[key]
            with output_errors(args.output_dir, uid):
                writers.write(uid, out)
        finished = True
    finally:
        try:
            with output_errors(args.output_dir):
                writers.close()
        except OutputError:
            if finished:
                raise
            logger.debug("closing the outputs failed too", exc_info=True)  # the first error is reported
    audio_s = totals["audio_s"]
    if audio_s > 0:
        logger.info(
            "real-time factor (synthesis time / audio duration) over %d utterances, %.2f s of audio: "
            "acoustic model %.4f, vocoder %.4f, total %.4f",
            len(uids),
            audio_s,
            totals["acoustic_s"] / audio_s,
            totals["vocoder_s"] / audio_s,
            (totals["acoustic_s"] + totals["vocoder_s"]) / audio_s,
        )


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Entry point: user mistakes and unusable files (a bad option or input, a corrupt model file,
    an output directory that cannot be written) end with one ``error:`` line and exit code 2;
    ``--log_level DEBUG`` also logs the traceback."""
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    keep_freed_memory()  # process tuning belongs to the command: Griffin-Lim re-allocates the same spectra
    with exit_on_error((ConfigError, ValueError, CheckpointError, OSError), logger):
        inference(args)


if __name__ == "__main__":
    main()
