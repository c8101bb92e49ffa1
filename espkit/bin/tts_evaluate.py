"""Objective evaluation of synthesized speech against reference recordings (recipe stage 7).

    python -m espkit.bin.tts_evaluate --ref_dir dump/raw/eval --train_dir dump/raw/train \\
        --syn_dir exp/tts_train/decode_valid.loss.best/eval \\
        --cross_emotion_dir happy=exp/tts_train/decode_valid.loss.best/eval_as_happy ... \\
        --train_config exp/tts_train/config.yaml --inference_config conf/decode.yaml \\
        --output_dir exp/tts_train/eval

Reads ``<ref_dir>/{wav.scp,text,utt2emo}``, ``<syn_dir>/wav/wav.scp`` and, when present, the
inference side files ``focus_rates/focus_rates``, ``durations/durations`` and
``speech_shape/speech_shape``. Writes ``results.json``, ``results.md``, ``per_utt.tsv`` and
confusion-matrix PNGs into ``--output_dir``.

Metrics (see :mod:`espkit.evaluate.spectral_metrics`): MCD (dB, DTW on mel-cepstra c1..c24),
log-F0 RMSE (cents) and V/UV error on the DTW path, duration ratio (synth / reference samples),
attention failures (focus rate below ``--focus_rate_threshold`` or decoding that hit the
``maxlenratio`` limit), and emotion accuracy of a prosody classifier fitted on
the training references (:mod:`espkit.evaluate.emotion_accuracy`), for the emotions asked in the
eval set and for every ``--cross_emotion_dir`` (eval sentences decoded in one given emotion).

Utterance ids are matched between the reference and each synthesized ``wav.scp``. A reference
utterance without a synthesized one is *missing* (``num_missing``, ``missing_uids``; not an
attention failure), a synthesized one without a reference is left out (``num_not_in_reference``);
both are logged as warnings. A synthesized ``wav.scp`` sharing no id with the reference is an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Collection, Dict, Iterable, List, Optional, Sequence

import numpy as np

from espkit.utils.cli_errors import exit_on_error

logger = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref_dir", type=Path, required=True, help="Reference data dir (wav.scp, text, utt2emo)")
    parser.add_argument("--syn_dir", type=Path, required=True, help="tts_inference output dir of the same utterances")
    parser.add_argument("--train_dir", type=Path, default=None, help="Training data dir to fit the emotion classifier")
    parser.add_argument("--cross_emotion_dir", action="append", default=[], metavar="EMOTION=DIR",
                        help="tts_inference output of eval sentences all decoded in EMOTION (repeatable)")
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--train_config", type=Path, default=None, help="config.yaml of the model (reduction factor)")
    parser.add_argument("--inference_config", type=Path, default=None, help="decode yaml (maxlenratio)")
    parser.add_argument("--maxlenratio", type=float, default=None, help="Overrides the inference config's")
    parser.add_argument("--focus_rate_threshold", type=float, default=0.5,
                        help="An utterance whose attention focus rate is below this counts as a failure")
    parser.add_argument("--max_duration_ratio", type=float, default=3.0,
                        help="Without inference side files, synth/ref duration above this counts as not stopping")
    parser.add_argument("--max_train_utts", type=int, default=400,
                        help="Training references used to fit the classifier (evenly spread; 0: all)")
    parser.add_argument("--fs", type=int, default=22050)
    parser.add_argument("--n_fft", type=int, default=1024)
    parser.add_argument("--n_shift", type=int, default=256)
    parser.add_argument("--mcep_order", type=int, default=24)
    parser.add_argument("--f0_yin_threshold", type=float, default=0.15,
                        help="YIN threshold of the frame-level F0 RMSE / V/UV tracks (0.15: exact on vocoded references)")
    parser.add_argument("--emotion_yin_threshold", type=float, default=0.45,
                        help="YIN threshold of the emotion classifier's prosody statistics (0.45: chosen on dev; "
                             "at 0.15 Griffin-Lim speech has almost no voiced frame)")
    parser.add_argument("--log_level", default="INFO")
    return parser


# --- reading ----------------------------------------------------------------------------------------
def read_table(path: Path, required: bool = True) -> Dict[str, str]:
    """Kaldi 2-column table (empty when ``required`` is false and the file is absent)."""
    from espkit.fileio.read_text import read_2columns_text

    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: not found")
        return {}
    return read_2columns_text(path)


def load_audio(path: str, fs: int) -> np.ndarray:
    from espkit.fileio.sound_scp import read_wav

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


def match_uids(ref_uids: Collection[str], syn_uids: Collection[str], ref_path: Path,
               syn_path: Path) -> tuple[List[str], List[str]]:
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


def read_cross_emotion_dirs(entries: Sequence[str], labels: Sequence[str], ref_wavs: Dict[str, str],
                            ref_scp: Path) -> List[tuple[str, Path, Dict[str, str]]]:
    """``(emotion, wav.scp path, uid -> wav)`` of each ``--cross_emotion_dir EMOTION=DIR``.

    A cross-emotion decoding holds a subset of the reference utterances (their neutral texts), so
    reference uids it lacks are expected; its uids that are not in the reference are dropped with a
    warning (their text, and so the tokens-per-second feature, is unknown), and a decoding sharing no
    uid with the reference is an error.
    """
    cross = []
    for entry in entries:
        emotion, sep, directory = entry.partition("=")
        if not sep or emotion not in labels:
            raise ValueError(f"--cross_emotion_dir {entry!r}: expected EMOTION=DIR with EMOTION in {list(labels)}")
        scp = Path(directory) / "wav" / "wav.scp"
        wavs = read_table(scp)
        _, unknown = match_uids(ref_wavs, wavs, ref_scp, scp)
        if unknown:
            logger.warning("%s: %d synthesized utterances are not in %s (%s); left out", scp, len(unknown),
                           ref_scp, example_uids(unknown))
        cross.append((emotion, scp, {uid: wav for uid, wav in wavs.items() if uid in ref_wavs}))
    return cross


# --- evaluation ---------------------------------------------------------------------------------------
def fit_classifier(train_dir: Path, labels: List[str], args: argparse.Namespace):
    from espkit.evaluate.emotion_accuracy import ProsodyEmotionClassifier, prosody_features

    scp_path = train_dir / "wav.scp"
    wavs, texts, emos = read_table(scp_path), read_table(train_dir / "text"), read_table(train_dir / "utt2emo")
    uids = sorted(set(wavs) & set(emos))
    if args.max_train_utts and len(uids) > args.max_train_utts:
        picks = np.linspace(0, len(uids) - 1, args.max_train_utts).round().astype(int)
        uids = [uids[i] for i in sorted(set(picks))]
    missing_labels = sorted(set(labels) - {emos[u] for u in uids})
    if missing_labels:
        raise ValueError(f"{train_dir}: no training reference for emotion(s) {missing_labels}")
    features = np.stack([
        prosody_features(load_audio(resolve_wav_path(wavs[u], scp_path), args.fs), args.fs,
                         num_letters(texts.get(u, "")), args.n_fft, args.n_shift, args.emotion_yin_threshold)
        for u in uids
    ])
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


def stop_failure(uid: str, side: Dict[str, Dict[str, str]], maxlenratio: Optional[float], reduction_factor: int,
                 duration_ratio: float, max_duration_ratio: float) -> bool:
    """Did decoding run into the ``maxlenratio`` limit instead of stopping?"""
    durations, shape = side["durations"].get(uid), side["speech_shape"].get(uid)
    if maxlenratio and maxlenratio > 0 and durations is not None and shape is not None:
        num_tokens = len(durations.split())
        num_frames = int(shape.split(",")[0])
        return num_frames >= int(num_tokens * maxlenratio) * reduction_factor
    return duration_ratio > max_duration_ratio


def evaluate(args: argparse.Namespace) -> dict:
    from espkit.evaluate.emotion_accuracy import (
        accuracy,
        confusion_matrix,
        plot_confusion_matrix,
        prosody_features,
    )
    from espkit.evaluate.spectral_metrics import FrameConfig, compare_waveforms

    start = time.time()
    train_config = read_yaml(args.train_config)
    inference_config = read_yaml(args.inference_config)
    maxlenratio = args.maxlenratio if args.maxlenratio is not None else inference_config.get("maxlenratio", 10.0)
    reduction_factor = int((train_config.get("tts_conf") or {}).get("reduction_factor", 1))
    frame_config = FrameConfig(fs=args.fs, n_fft=args.n_fft, hop_length=args.n_shift, order=args.mcep_order,
                               yin_threshold=args.f0_yin_threshold)

    ref_scp = args.ref_dir / "wav.scp"
    ref_wavs, ref_texts = read_table(ref_scp), read_table(args.ref_dir / "text")
    utt2emo = read_table(args.ref_dir / "utt2emo", required=False)
    syn_scp = args.syn_dir / "wav" / "wav.scp"
    syn_wavs = read_table(syn_scp)
    side = inference_side_info(args.syn_dir)
    labels = list(train_config.get("emo_list") or sorted(set(utt2emo.values())))
    missing_uids, not_in_reference = match_uids(ref_wavs, syn_wavs, ref_scp, syn_scp)
    if missing_uids:
        logger.warning("%s: %d of the %d reference utterances of %s have no synthesized utterance (%s); "
                       "reported as missing", syn_scp, len(missing_uids), len(ref_wavs), ref_scp,
                       example_uids(missing_uids))
    if not_in_reference:
        logger.warning("%s: %d synthesized utterances are not in %s (%s); left out", syn_scp,
                       len(not_in_reference), ref_scp, example_uids(not_in_reference))
    cross_dirs = read_cross_emotion_dirs(args.cross_emotion_dir, labels, ref_wavs, ref_scp)

    classifier = None
    classifier_info = {}
    if args.train_dir is not None and utt2emo:
        classifier, num_fit, train_acc = fit_classifier(args.train_dir, labels, args)
        classifier_info = {"num_train_utts": num_fit, "train_accuracy": train_acc}

    per_utt: List[dict] = []
    asked, recognised = [], []
    for uid in sorted(ref_wavs):
        row: dict = {"uid": uid, "emotion": utt2emo.get(uid), "missing": uid not in syn_wavs}
        if row["missing"]:
            per_utt.append(row)
            continue
        ref = load_audio(resolve_wav_path(ref_wavs[uid], ref_scp), args.fs)
        syn = load_audio(resolve_wav_path(syn_wavs[uid], syn_scp), args.fs)
        row.update(compare_waveforms(ref, syn, frame_config))
        focus = side["focus_rate"].get(uid)
        row["focus_rate"] = float(focus) if focus is not None else None
        low_focus = row["focus_rate"] is not None and row["focus_rate"] < args.focus_rate_threshold
        not_stopped = stop_failure(uid, side, maxlenratio, reduction_factor, row["duration_ratio"],
                                   args.max_duration_ratio)
        row.update(low_focus_rate=low_focus, not_stopped=not_stopped, attention_failure=low_focus or not_stopped)
        if classifier is not None and row["emotion"] is not None:
            feats = prosody_features(syn, args.fs, num_letters(ref_texts.get(uid, "")), args.n_fft, args.n_shift,
                                         args.emotion_yin_threshold)
            row["recognised"] = classifier.predict(feats[None])[0]
            asked.append(row["emotion"])
            recognised.append(row["recognised"])
        per_utt.append(row)

    def mean_of(key: str) -> float:
        values = [r[key] for r in per_utt if r.get(key) is not None and not math.isnan(r[key])]
        return float(np.mean(values)) if values else float("nan")

    failures = [r["uid"] for r in per_utt if r.get("attention_failure")]
    results: dict = {
        "num_utts": len(per_utt),
        "num_missing": len(missing_uids),
        "missing_uids": missing_uids,
        "num_not_in_reference": len(not_in_reference),
        "mcd_db": mean_of("mcd_db"),
        "f0_rmse_cents": mean_of("f0_rmse_cents"),
        "vuv_error": mean_of("vuv_error"),
        "duration_ratio": mean_of("duration_ratio"),
        "attention_failures": {
            "count": len(failures),
            "low_focus_rate": sum(1 for r in per_utt if r.get("low_focus_rate")),
            "not_stopped": sum(1 for r in per_utt if r.get("not_stopped")),
            "uids": failures,
            "focus_rate_threshold": args.focus_rate_threshold,
            "mean_focus_rate": mean_of("focus_rate"),
        },
        "emotion_labels": labels,
        "emotion_classifier": classifier_info,
        "emotion_accuracy": None,
        "emotion_confusion": None,
        "all_emotions_accuracy": None,
        "all_emotions_confusion": None,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if classifier is not None and asked:
        matrix = confusion_matrix(asked, recognised, labels)
        results["emotion_accuracy"] = accuracy(matrix)
        results["emotion_confusion"] = matrix.tolist()
        plot_confusion_matrix(matrix, labels, args.output_dir / "emotion_confusion.png", "eval: emotion asked")

    if classifier is not None and cross_dirs:
        cross_asked, cross_recognised = [], []
        for emotion, scp, cross_wavs in cross_dirs:
            for uid, value in sorted(cross_wavs.items()):
                syn = load_audio(resolve_wav_path(value, scp), args.fs)
                feats = prosody_features(syn, args.fs, num_letters(ref_texts.get(uid, "")), args.n_fft, args.n_shift,
                                         args.emotion_yin_threshold)
                cross_asked.append(emotion)
                cross_recognised.append(classifier.predict(feats[None])[0])
        matrix = confusion_matrix(cross_asked, cross_recognised, labels)
        results["all_emotions_accuracy"] = accuracy(matrix)
        results["all_emotions_confusion"] = matrix.tolist()
        plot_confusion_matrix(matrix, labels, args.output_dir / "all_emotions_confusion.png",
                              "eval sentences in every emotion")
    results["elapsed_s"] = round(time.time() - start, 1)
    write_outputs(results, per_utt, args.output_dir)
    return results


# --- writing --------------------------------------------------------------------------------------------
def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def write_outputs(results: dict, per_utt: Sequence[dict], output_dir: Path) -> None:
    def clean(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    (output_dir / "results.json").write_text(json.dumps(clean(results), indent=2) + "\n")
    keys = ["uid", "emotion", "recognised", "mcd_db", "f0_rmse_cents", "vuv_error", "duration_ratio", "focus_rate",
            "attention_failure", "missing"]
    with (output_dir / "per_utt.tsv").open("w") as f:
        f.write("\t".join(keys) + "\n")
        for row in per_utt:
            f.write("\t".join(_fmt(row.get(k)) for k in keys) + "\n")
    att = results["attention_failures"]
    lines = [
        "# Objective evaluation", "",
        "| metric | value |", "|---|---|",
        f"| utterances | {results['num_utts']} (missing: {results['num_missing']},"
        f" synthesized but not in the reference: {results['num_not_in_reference']}) |",
        f"| MCD (dB, DTW, c1-c24) | {_fmt(results['mcd_db'], 2)} |",
        f"| log-F0 RMSE (cents) | {_fmt(results['f0_rmse_cents'], 1)} |",
        f"| V/UV error | {_fmt(results['vuv_error'])} |",
        f"| duration ratio (synth/ref) | {_fmt(results['duration_ratio'])} |",
        f"| attention failures | {att['count']} (focus rate < {att['focus_rate_threshold']}: {att['low_focus_rate']},"
        f" not stopped: {att['not_stopped']}) |",
        f"| mean focus rate | {_fmt(att['mean_focus_rate'])} |",
        f"| emotion accuracy (as asked) | {_fmt(results['emotion_accuracy'])} |",
        f"| emotion accuracy (every sentence in all emotions) | {_fmt(results['all_emotions_accuracy'])} |",
    ]
    labels = results["emotion_labels"]
    for key, title in (("emotion_confusion", "as asked"), ("all_emotions_confusion", "every sentence in all emotions")):
        if results.get(key):
            lines += ["", f"Confusion ({title}; rows asked, columns recognised):", "",
                      "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
            lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |" for label, row in zip(labels, results[key])]
    if att["uids"]:
        lines += ["", "Attention failures: " + ", ".join(att["uids"])]
    if results["missing_uids"]:
        lines += ["", "Missing (no synthesized utterance): " + ", ".join(results["missing_uids"])]
    (output_dir / "results.md").write_text("\n".join(lines) + "\n")


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    with exit_on_error((FileNotFoundError, ValueError), logger, prog="tts_evaluate"):
        results = evaluate(args)
    logger.info("MCD %.2f dB, F0 RMSE %.1f cents, emotion accuracy %s, attention failures %d -> %s",
                results["mcd_db"], results["f0_rmse_cents"], results["emotion_accuracy"],
                results["attention_failures"]["count"], args.output_dir / "results.md")


if __name__ == "__main__":
    main()
