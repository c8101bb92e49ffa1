"""Objective evaluation of synthesized speech against reference recordings (recipe stage 7).

    python -m espkit.bin.tts_evaluate --ref_dir dump/raw/eval --train_dir dump/raw/train \\
        --syn_dir exp/tts_train/decode_valid.loss.best/eval \\
        --cross_emotion_dir happy=exp/tts_train/decode_valid.loss.best/eval_as_happy ... \\
        --ref_emotion_dir happy=exp/tts_train/decode_valid.loss.best/eval_ref_happy ... \\
        --train_config exp/tts_train/config.yaml --inference_config conf/decode.yaml \\
        --output_dir exp/tts_train/eval

Reads ``<ref_dir>/{wav.scp,text,utt2emo}``, ``<syn_dir>/wav/wav.scp`` and, when present, the
inference side files ``focus_rates/focus_rates``, ``durations/durations`` and
``speech_shape/speech_shape``. Writes ``results.json``, ``results.md``, ``per_utt.tsv`` (the
system), ``per_utt_copy_synthesis.tsv``, the copy-synthesis WAVs under ``copy_synthesis/wav/`` (with a trained
vocoder also ``per_utt_copy_synthesis_griffin_lim.tsv`` and ``copy_synthesis_griffin_lim/wav/``),
``periodicity.png`` and confusion-matrix PNGs into ``--output_dir``.

Three rows, each figure beside its ceiling:

- ``reference``: the recordings themselves (their voicing, periodicity and emotion accuracy);
- ``copy_synthesis``: each reference through the model's feature extractor and the vocoder in use
  (:mod:`espkit.evaluate.copy_synthesis`), computed in this run: what the vocoder makes of perfect
  features, the bound of every system figure;
- ``copy_synthesis_griffin_lim``, only when the vocoder in use is a trained one (``--vocoder_file``):
  the same through Griffin-Lim (32 iterations), so that what the trained vocoder gains over
  Griffin-Lim is measured apart from the acoustic model, in the same table
  (``vocoder_vs_griffin_lim`` in ``results.json``: the relative reduction of MCD and FFE);
- ``system``: the synthesized utterances of ``--syn_dir``.

``--vocoder_file``/``--vocoder_config`` are given as to ``tts_inference``: the trained vocoder's
weights and its training config.yaml (default: the one beside the weights), or, without
``--vocoder_file``, a YAML of Griffin-Lim options.

Figures (:mod:`espkit.evaluate.spectral_metrics`, :mod:`espkit.evaluate.f0_metrics`): MCD (dB,
DTW on mel-cepstra c1..c24); voiced-frame ratio and the periodicity distribution of each waveform
on its own; against the reference on the DTW path: V/UV error, gross pitch error, F0 frame error
and the log-F0 RMSE (cents) with its coverage (the share of reference-voiced frames it is computed
on); duration ratio (synth / reference samples); attention failures (focus rate below
``--focus_rate_threshold`` or decoding that hit the ``maxlenratio`` limit) or, for models without
attention (FastSpeech2, FastSpeech), length failures (see below); and the emotion
accuracy of a prosody classifier fitted on the training references
(:mod:`espkit.evaluate.emotion_accuracy`), for the emotions asked in the eval set, for every
``--cross_emotion_dir`` (eval sentences decoded in one given emotion) and every
``--ref_emotion_dir`` (eval sentences decoded with a reference utterance of one emotion). Every
F0 figure and the classifier's features come from one tracker setting, chosen on references and
copy-synthesis only (docs/design.md, "Objective evaluation").

Utterance ids are matched between the reference and each synthesized ``wav.scp``. A reference
utterance without a synthesized one is *missing* (``num_missing``, ``missing_uids``; not an
attention failure), a synthesized one without a reference is left out (``num_not_in_reference``);
both are logged as warnings. A synthesized ``wav.scp`` sharing no id with the reference is an error.

Models without attention have no focus rate and no stop token to miss, so they get no attention
failures: an utterance of theirs is a *length failure* when its duration ratio is outside
``[1 / --max_duration_ratio, --max_duration_ratio]`` (too long or too short, e.g. a badly predicted
duration), reported as ``length_failures`` in ``results.json`` (``attention_failures`` is then
None) and as "length failures" in ``results.md``. Such a decoding is recognised by its side files
(:func:`has_attention`): ``durations`` written without ``focus_rates``, as ``tts_inference`` writes
them for duration models.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Collection, Dict, Iterable, List, Optional, Sequence

import numpy as np

from espkit.evaluate.copy_synthesis import CopySynthesis
from espkit.evaluate.emotion_accuracy import ProsodyEmotionClassifier, accuracy, confusion_matrix, prosody_features
from espkit.evaluate.f0_metrics import GROSS_ERROR, pooled_f0_figures, voicing_figures
from espkit.evaluate.report import plot_periodicity, write_outputs
from espkit.evaluate.spectral_metrics import FrameConfig, analyse, compare_analyses
from espkit.fileio.read_text import read_2columns_text
from espkit.fileio.sound_scp import read_wav
from espkit.train.checkpoint import CheckpointError
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.types import str2bool

logger = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref_dir", type=Path, required=True, help="Reference data dir (wav.scp, text, utt2emo)")
    parser.add_argument("--syn_dir", type=Path, required=True, help="tts_inference output dir of the same utterances")
    parser.add_argument("--train_dir", type=Path, default=None, help="Training data dir to fit the emotion classifier")
    parser.add_argument(
        "--cross_emotion_dir",
        action="append",
        default=[],
        metavar="EMOTION=DIR",
        help="tts_inference output of eval sentences all decoded in EMOTION (repeatable)",
    )
    parser.add_argument(
        "--ref_emotion_dir",
        action="append",
        default=[],
        metavar="EMOTION=DIR",
        help="tts_inference output of eval sentences each decoded with a reference utterance of "
        "EMOTION from another sentence (repeatable)",
    )
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument(
        "--train_config",
        type=Path,
        default=None,
        help="config.yaml of the model (reduction factor; the features of the copy-synthesis)",
    )
    parser.add_argument(
        "--copy_synthesis",
        type=str2bool,
        default=True,
        help="Score the copy-synthesis of the references (needs --train_config)",
    )
    parser.add_argument(
        "--vocoder_config",
        type=Path,
        default=None,
        help="As given to tts_inference: with --vocoder_file the vocoder's training config.yaml (default: "
        "beside it), else a YAML of Griffin-Lim options",
    )
    parser.add_argument(
        "--vocoder_file",
        type=Path,
        default=None,
        help="Trained vocoder weights of the copy-synthesis (as given to tts_inference); a Griffin-Lim "
        "copy-synthesis row is scored beside it",
    )
    parser.add_argument("--inference_config", type=Path, default=None, help="decode yaml (maxlenratio)")
    parser.add_argument("--maxlenratio", type=float, default=None, help="Overrides the inference config's")
    parser.add_argument(
        "--focus_rate_threshold",
        type=float,
        default=0.5,
        help="An utterance whose attention focus rate is below this counts as a failure",
    )
    parser.add_argument(
        "--max_duration_ratio",
        type=float,
        default=3.0,
        help="Without inference side files, synth/ref duration above this counts as not stopping",
    )
    parser.add_argument(
        "--max_train_utts",
        type=int,
        default=400,
        help="Training references used to fit the classifier (evenly spread; 0: all)",
    )
    parser.add_argument("--fs", type=int, default=22050)
    parser.add_argument("--n_fft", type=int, default=1024)
    parser.add_argument("--n_shift", type=int, default=256)
    parser.add_argument("--mcep_order", type=int, default=24)
    parser.add_argument("--log_level", default="INFO")
    return parser


# --- reading ----------------------------------------------------------------------------------------
def read_table(path: Path, required: bool = True) -> Dict[str, str]:
    """Kaldi 2-column table (empty when ``required`` is false and the file is absent)."""

    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: not found")
        return {}
    return read_2columns_text(path)


def load_audio(path: str, fs: int) -> np.ndarray:

    rate, wav = read_wav(path, dtype="float64")
    if wav.ndim == 2:
        wav = wav.mean(axis=1)
    if rate != fs:
        raise ValueError(f"{path}: sampling rate {rate} Hz, expected {fs} (--fs)")
    return wav


def resolve_wav_path(value: str, scp_path: Path) -> str:
    """Absolute paths as they are; relative ones tried as given, then next to the scp file."""
    path = Path(value)
    if path.is_absolute() or path.exists():
        return str(path)
    return str(scp_path.parent / path)


def num_letters(text: str) -> int:
    """Alphabetic characters of ``text``: the token count behind the ``tokens_per_s`` feature."""
    return max(1, sum(ch.isalpha() for ch in text))


def read_yaml(path: Optional[Path]) -> dict:
    if path is None:
        return {}
    import yaml

    if not path.exists():
        raise FileNotFoundError(f"{path}: not found")
    return yaml.safe_load(path.read_text()) or {}


def example_uids(uids: Iterable[str], limit: int = 3) -> str:
    """A few sorted ids for a message: ``'a, b, c, ... (5 in all)'`` (``'none'`` when empty)."""
    uids = sorted(uids)
    if not uids:
        return "none"
    shown = ", ".join(uids[:limit])
    return shown if len(uids) <= limit else f"{shown}, ... ({len(uids)} in all)"


def match_uids(
    ref_uids: Collection[str], syn_uids: Collection[str], ref_path: Path, syn_path: Path
) -> tuple[List[str], List[str]]:
    """``(reference uids not synthesized, synthesized uids not in the reference)``, both sorted.

    Raises:
        ValueError: when the two sets share no uid (wrong ``--syn_dir`` or ``--ref_dir``, or a
            decoding of another data dir); the message names both files and shows ids of each.
    """
    ref_set, syn_set = set(ref_uids), set(syn_uids)
    if not ref_set & syn_set:
        raise ValueError(
            f"{syn_path} and {ref_path} share no utterance id (synthesized: {example_uids(syn_set)}; "
            f"reference: {example_uids(ref_set)}); check that the synthesized dir is the tts_inference "
            "output of this reference's text (decoding keeps its uids)"
        )
    return sorted(ref_set - syn_set), sorted(syn_set - ref_set)


def read_emotion_dirs(
    entries: Sequence[str],
    labels: Sequence[str],
    ref_wavs: Dict[str, str],
    ref_scp: Path,
    option: str = "--cross_emotion_dir",
) -> List[tuple[str, Path, Dict[str, str]]]:
    """``(emotion, wav.scp path, uid -> wav)`` of each ``--cross_emotion_dir`` / ``--ref_emotion_dir``
    ``EMOTION=DIR`` (``option`` names the one for messages).

    Such a decoding holds a subset of the reference utterances (their neutral texts), so
    reference uids it lacks are expected; its uids that are not in the reference are dropped with a
    warning (their text, and so the tokens-per-second feature, is unknown), and a decoding sharing no
    uid with the reference is an error.
    """
    cross = []
    for entry in entries:
        emotion, sep, directory = entry.partition("=")
        if not sep or emotion not in labels:
            raise ValueError(f"{option} {entry!r}: expected EMOTION=DIR with EMOTION in {list(labels)}")
        scp = Path(directory) / "wav" / "wav.scp"
        wavs = read_table(scp)
        _, unknown = match_uids(ref_wavs, wavs, ref_scp, scp)
        if unknown:
            logger.warning(
                "%s: %d synthesized utterances are not in %s (%s); left out",
                scp,
                len(unknown),
                ref_scp,
                example_uids(unknown),
            )
        cross.append((emotion, scp, {uid: wav for uid, wav in wavs.items() if uid in ref_wavs}))
    return cross


# --- evaluation ---------------------------------------------------------------------------------------
def fit_classifier(train_dir: Path, labels: List[str], config, args: argparse.Namespace):
    """The prosody emotion classifier fitted on (up to ``--max_train_utts``) training references."""

    scp_path = train_dir / "wav.scp"
    wavs, texts, emos = read_table(scp_path), read_table(train_dir / "text"), read_table(train_dir / "utt2emo")
    uids = sorted(set(wavs) & set(emos))
    if args.max_train_utts and len(uids) > args.max_train_utts:
        picks = np.linspace(0, len(uids) - 1, args.max_train_utts).round().astype(int)
        uids = [uids[i] for i in sorted(set(picks))]
    missing_labels = sorted(set(labels) - {emos[u] for u in uids})
    if missing_labels:
        raise ValueError(f"{train_dir}: no training reference for emotion(s) {missing_labels}")
    features = np.stack(
        [
            prosody_features(
                load_audio(resolve_wav_path(wavs[u], scp_path), args.fs), num_letters(texts.get(u, "")), config
            )
            for u in uids
        ]
    )
    classifier = ProsodyEmotionClassifier(labels).fit(features, [emos[u] for u in uids])
    train_acc = float(np.mean(np.array(classifier.predict(features)) == np.array([emos[u] for u in uids])))
    logger.info("emotion classifier fitted on %d training references (training accuracy %.3f)", len(uids), train_acc)
    return classifier, len(uids), train_acc


def inference_side_info(syn_dir: Path) -> Dict[str, Dict[str, str]]:
    return {
        "focus_rate": read_table(syn_dir / "focus_rates" / "focus_rates", required=False),
        "durations": read_table(syn_dir / "durations" / "durations", required=False),
        "speech_shape": read_table(syn_dir / "speech_shape" / "speech_shape", required=False),
    }


def has_attention(side: Dict[str, Dict[str, str]]) -> bool:
    """Whether the decoding of :func:`inference_side_info`'s ``side`` came from an attention model:
    ``tts_inference`` writes ``focus_rates`` for those only, and ``durations`` for every model. Without
    either file it is taken to be one (the judgement then rests on the duration ratio, as before)."""
    return bool(side["focus_rate"]) or not side["durations"]


def length_failure(duration_ratio: float, max_duration_ratio: float) -> Optional[str]:
    """``"too_long"`` / ``"too_short"`` when a model without attention made an utterance more than
    ``max_duration_ratio`` times longer / shorter than its reference, else None."""
    if duration_ratio > max_duration_ratio:
        return "too_long"
    if duration_ratio < 1.0 / max_duration_ratio:
        return "too_short"
    return None


def stop_failure(
    uid: str,
    side: Dict[str, Dict[str, str]],
    maxlenratio: Optional[float],
    reduction_factor: int,
    duration_ratio: float,
    max_duration_ratio: float,
) -> bool:
    """Did decoding run into the ``maxlenratio`` limit instead of stopping?"""
    durations, shape = side["durations"].get(uid), side["speech_shape"].get(uid)
    if maxlenratio and maxlenratio > 0 and durations is not None and shape is not None:
        num_tokens = len(durations.split())
        num_frames = int(shape.split(",")[0])
        return num_frames >= int(num_tokens * maxlenratio) * reduction_factor
    return duration_ratio > max_duration_ratio


class EmotionScorer:
    """Classifies waveforms with the fitted classifier and keeps ``(asked, recognised)`` per group."""

    def __init__(self, classifier, labels: List[str], config, texts: Dict[str, str]):
        self.classifier, self.labels, self.config, self.texts = classifier, labels, config, texts
        self.asked: Dict[str, List[str]] = {}
        self.recognised: Dict[str, List[str]] = {}

    def add(self, group: str, uid: str, asked: str, wav: np.ndarray, track=None) -> str:

        feats = prosody_features(wav, num_letters(self.texts.get(uid, "")), self.config, track)
        recognised = self.classifier.predict(feats[None])[0]
        self.asked.setdefault(group, []).append(asked)
        self.recognised.setdefault(group, []).append(recognised)
        return recognised

    def result(self, group: str) -> tuple[Optional[float], Optional[list]]:
        """``(accuracy, confusion matrix as lists)`` of a group (None, None when it is empty)."""

        if not self.asked.get(group):
            return None, None
        matrix = confusion_matrix(self.asked[group], self.recognised[group], self.labels)
        return accuracy(matrix), matrix.tolist()


def score_against_references(
    name: str,
    wavs: Dict[str, str],
    scp: Path,
    refs: dict,
    utt2emo: Dict[str, str],
    config,
    args: argparse.Namespace,
    scorer: Optional[EmotionScorer],
) -> tuple[dict, list, list]:
    """Pooled figures, per-utterance rows and F0 tracks of one synthesized set against the analysed
    references."""

    rows, counts, tracks = [], [], []
    for uid in sorted(uid for uid in refs if uid in wavs):
        wav = load_audio(resolve_wav_path(wavs[uid], scp), args.fs)
        syn = analyse(wav, config)
        metrics = compare_analyses(refs[uid], syn)
        voicing = voicing_figures([syn.track])
        row = {"uid": uid, "emotion": utt2emo.get(uid), "voiced_ratio": voicing["voiced_ratio"], **metrics}
        if scorer is not None and row["emotion"] is not None:
            row["recognised"] = scorer.add(name, uid, row["emotion"], wav, syn.track)
        rows.append(row)
        counts.append(metrics)
        tracks.append(syn.track)
    pooled = pooled_f0_figures(counts) if counts else {"null_reasons": {}}
    voicing = voicing_figures(tracks) if tracks else {"voiced_ratio": None, "periodicity": None, "null_reasons": {}}
    summary = {
        "num_utts": len(rows),
        "mcd_db": float(np.mean([r["mcd_db"] for r in rows])) if rows else None,
        "duration_ratio": float(np.mean([r["duration_ratio"] for r in rows])) if rows else None,
        **{k: v for k, v in pooled.items() if k != "null_reasons"},
        "voiced_ratio": voicing["voiced_ratio"],
        "periodicity": voicing["periodicity"],
        "null_reasons": {**pooled["null_reasons"], **voicing["null_reasons"]},
    }
    if scorer is not None:
        summary["emotion_accuracy"], summary["emotion_confusion"] = scorer.result(name)
    return summary, rows, tracks


def evaluate(args: argparse.Namespace) -> dict:

    start = time.time()
    train_config = read_yaml(args.train_config)
    inference_config = read_yaml(args.inference_config)
    maxlenratio = args.maxlenratio if args.maxlenratio is not None else inference_config.get("maxlenratio", 10.0)
    reduction_factor = int((train_config.get("tts_conf") or {}).get("reduction_factor", 1))
    config = FrameConfig(fs=args.fs, n_fft=args.n_fft, hop_length=args.n_shift, order=args.mcep_order)

    ref_scp = args.ref_dir / "wav.scp"
    ref_wavs, ref_texts = read_table(ref_scp), read_table(args.ref_dir / "text")
    utt2emo = read_table(args.ref_dir / "utt2emo", required=False)
    syn_scp = args.syn_dir / "wav" / "wav.scp"
    syn_wavs = read_table(syn_scp)
    side = inference_side_info(args.syn_dir)
    labels = list(train_config.get("emo_list") or sorted(set(utt2emo.values())))
    missing_uids, not_in_reference = match_uids(ref_wavs, syn_wavs, ref_scp, syn_scp)
    if missing_uids:
        logger.warning(
            "%s: %d of the %d reference utterances of %s have no synthesized utterance (%s); reported as missing",
            syn_scp,
            len(missing_uids),
            len(ref_wavs),
            ref_scp,
            example_uids(missing_uids),
        )
    if not_in_reference:
        logger.warning(
            "%s: %d synthesized utterances are not in %s (%s); left out",
            syn_scp,
            len(not_in_reference),
            ref_scp,
            example_uids(not_in_reference),
        )
    cross_dirs = read_emotion_dirs(args.cross_emotion_dir, labels, ref_wavs, ref_scp, "--cross_emotion_dir")
    ref_emotion_dirs = read_emotion_dirs(args.ref_emotion_dir, labels, ref_wavs, ref_scp, "--ref_emotion_dir")
    copy_syntheses: Dict[str, CopySynthesis] = {}  # row name -> its copy-synthesis
    if args.copy_synthesis:
        if args.train_config is None:
            logger.warning("no --train_config: the copy-synthesis row is left out (it needs the model's features)")
        else:
            copy_syntheses["copy_synthesis"] = CopySynthesis(
                train_config, args.vocoder_config, args.vocoder_file, args.train_config
            )
            if args.vocoder_file is not None:
                copy_syntheses["copy_synthesis_griffin_lim"] = CopySynthesis(
                    train_config, train_config_path=args.train_config
                )
            if copy_syntheses["copy_synthesis"].fs != args.fs:
                raise ValueError(
                    f"--train_config {args.train_config}: the features are at {copy_syntheses['copy_synthesis'].fs} "
                    f"Hz but --fs is {args.fs}"
                )
    elif args.vocoder_file is not None:
        logger.warning("--copy_synthesis false: --vocoder_file %s is not used", args.vocoder_file)

    scorer = None
    classifier_info = {}
    if args.train_dir is not None and utt2emo:
        classifier, num_fit, train_acc = fit_classifier(args.train_dir, labels, config, args)
        classifier_info = {"num_train_utts": num_fit, "train_accuracy": train_acc}
        scorer = EmotionScorer(classifier, labels, config, ref_texts)

    # every reference is read and analysed once
    refs, ref_audio = {}, {}
    for uid in sorted(ref_wavs):
        ref_audio[uid] = load_audio(resolve_wav_path(ref_wavs[uid], ref_scp), args.fs)
        refs[uid] = analyse(ref_audio[uid], config)
        if scorer is not None and uid in utt2emo:
            scorer.add("reference", uid, utt2emo[uid], ref_audio[uid], refs[uid].track)
    reference_voicing = voicing_figures([a.track for a in refs.values()])
    reference_row = {
        "num_utts": len(refs),
        "voiced_ratio": reference_voicing["voiced_ratio"],
        "periodicity": reference_voicing["periodicity"],
        "null_reasons": reference_voicing["null_reasons"],
    }
    if scorer is not None:
        reference_row["emotion_accuracy"], reference_row["emotion_confusion"] = scorer.result("reference")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    copy_results: Dict[str, tuple] = {}  # row name -> (summary, per-utterance rows, tracks)
    for name, copy_synthesis in copy_syntheses.items():
        copy_scp = copy_synthesis.write_dir(ref_audio, args.output_dir / name)
        copy_results[name] = score_against_references(
            name, read_table(copy_scp), copy_scp, refs, utt2emo, config, args, scorer
        )
        copy_results[name][0]["vocoder"] = copy_synthesis.vocoder_name
    copy_row, copy_rows, copy_tracks = copy_results.get("copy_synthesis", (None, [], []))
    griffin_lim_row, griffin_lim_rows, griffin_lim_tracks = copy_results.get(
        "copy_synthesis_griffin_lim", (None, [], [])
    )
    system_row, per_utt, system_tracks = score_against_references(
        "system", syn_wavs, syn_scp, refs, utt2emo, config, args, scorer
    )

    attention = has_attention(side)
    for row in per_utt:
        if not attention:
            kind = length_failure(row["duration_ratio"], args.max_duration_ratio)
            row.update(too_long=kind == "too_long", too_short=kind == "too_short", length_failure=kind is not None)
            row["missing"] = False
            continue
        focus = side["focus_rate"].get(row["uid"])
        row["focus_rate"] = float(focus) if focus is not None else None
        low_focus = row["focus_rate"] is not None and row["focus_rate"] < args.focus_rate_threshold
        not_stopped = stop_failure(
            row["uid"], side, maxlenratio, reduction_factor, row["duration_ratio"], args.max_duration_ratio
        )
        row.update(
            low_focus_rate=low_focus, not_stopped=not_stopped, attention_failure=low_focus or not_stopped, missing=False
        )
    per_utt += [{"uid": uid, "emotion": utt2emo.get(uid), "missing": True} for uid in missing_uids]
    per_utt.sort(key=lambda r: r["uid"])

    focus_rates = [r["focus_rate"] for r in per_utt if r.get("focus_rate") is not None]
    failures = [r["uid"] for r in per_utt if r.get("attention_failure" if attention else "length_failure")]
    results: dict = {
        "num_utts": len(per_utt),
        "num_missing": len(missing_uids),
        "missing_uids": missing_uids,
        "num_not_in_reference": len(not_in_reference),
        "f0_tracker": {
            "method": "yin",
            "yin_threshold": config.yin_threshold,
            "yin_trough_margin": config.yin_trough_margin,
            "f0min": config.f0min,
            "f0max": config.f0max,
            "silence_db": config.silence_db,
            "gross_error": GROSS_ERROR,
        },
        "reference": reference_row,
        "copy_synthesis": copy_row,
        "copy_synthesis_griffin_lim": griffin_lim_row,
        "vocoder_vs_griffin_lim": vocoder_gain(copy_row, griffin_lim_row),
        "system": system_row,
        "attention_failures": {
            "count": len(failures),
            "low_focus_rate": sum(1 for r in per_utt if r.get("low_focus_rate")),
            "not_stopped": sum(1 for r in per_utt if r.get("not_stopped")),
            "uids": failures,
            "focus_rate_threshold": args.focus_rate_threshold,
            "mean_focus_rate": float(np.mean(focus_rates)) if focus_rates else None,
        }
        if attention
        else None,
        **(
            {}
            if attention
            else {
                "length_failures": {
                    "count": len(failures),
                    "too_long": sum(1 for r in per_utt if r.get("too_long")),
                    "too_short": sum(1 for r in per_utt if r.get("too_short")),
                    "uids": failures,
                    "min_duration_ratio": 1.0 / args.max_duration_ratio,
                    "max_duration_ratio": args.max_duration_ratio,
                }
            }
        ),
        "emotion_labels": labels,
        "emotion_classifier": classifier_info,
        "all_emotions_accuracy": None,
        "all_emotions_confusion": None,
        "reference_driven_accuracy": None,
        "reference_driven_confusion": None,
    }
    for key, dirs in (("all_emotions", cross_dirs), ("reference_driven", ref_emotion_dirs)):
        if scorer is None or not dirs:
            continue
        for emotion, scp, wavs in dirs:
            for uid, value in sorted(wavs.items()):
                scorer.add(key, uid, emotion, load_audio(resolve_wav_path(value, scp), args.fs))
        results[f"{key}_accuracy"], results[f"{key}_confusion"] = scorer.result(key)

    plot_periodicity(
        {
            "reference": [a.track for a in refs.values()],
            "copy-synthesis (Griffin-Lim)": griffin_lim_tracks,
            "copy-synthesis": copy_tracks,
            "system": system_tracks,
        },
        args.output_dir / "periodicity.png",
    )
    results["elapsed_s"] = round(time.time() - start, 1)
    write_outputs(results, per_utt, copy_rows, args.output_dir, griffin_lim_rows)
    return results


def vocoder_gain(vocoder_row: Optional[dict], griffin_lim_row: Optional[dict]) -> Optional[dict]:
    """``{"mcd_db": r, "ffe": r}``: the relative reduction ``1 - vocoder / Griffin-Lim`` of each figure
    by the trained vocoder's copy-synthesis (None without a Griffin-Lim row, per figure None where
    either is undefined or Griffin-Lim's is 0)."""
    if vocoder_row is None or griffin_lim_row is None:
        return None
    gain = {}
    for key in ("mcd_db", "ffe"):
        ours, theirs = vocoder_row.get(key), griffin_lim_row.get(key)
        ok = ours is not None and theirs is not None and np.isfinite([ours, theirs]).all() and theirs > 0
        gain[key] = float(1.0 - ours / theirs) if ok else None
    return gain


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    with exit_on_error((FileNotFoundError, ValueError, CheckpointError), logger, prog="tts_evaluate"):
        results = evaluate(args)
    system = results["system"]
    failures = "attention failures" if results["attention_failures"] is not None else "length failures"
    logger.info(
        "system: MCD %s dB, voiced ratio %s (references %s), FFE %s, emotion accuracy %s, %s %d -> %s",
        _short(system["mcd_db"]),
        _short(system["voiced_ratio"]),
        _short(results["reference"]["voiced_ratio"]),
        _short(system["ffe"]),
        _short(system.get("emotion_accuracy")),
        failures,
        (results["attention_failures"] or results.get("length_failures"))["count"],
        args.output_dir / "results.md",
    )


def _short(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
