"""Export the acoustic model's inference as TorchScript, check it against eager, time both.

    python -m espkit.bin.tts_export --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --outpath exp/tts/tts.pt --text "hello world"

The scripted module is :class:`espkit.tts.tacotron2.export.Tacotron2Inference`:
``module(text_ids (T_text,) long, emotion (D,) float) -> (feat_gen (T_feats, odim) normalised,
prob (T_feats,), att_w (T_feats, T_text + 1))`` with the decoding options fixed at export.
``torch.jit.load(path, _extra_files={"espkit.json": ""})`` also returns a JSON with the token
list, the emotion list and input kind, the feature parameters and the normalisation mean/std
(``feat_gen * std + mean`` gives what the vocoder reads).

Transformer-TTS models (``--tts transformer``) are exported as
:class:`espkit.tts.transformer.export.TransformerInference`, with the same inputs and outputs as the
Tacotron2's (its cached decoding loop, prenet dropout on: checked from the same seed as below).

FastSpeech2 and FastSpeech models (``--tts fastspeech2`` / ``fastspeech``) are exported as
:class:`espkit.tts.fastspeech2.export.FastSpeechInference`: ``module(text_ids (T_text,) long,
emotion (D,) float) -> (feat_gen (T_feats, odim) normalised, duration (T_text + 1,) long, pitch
(T_text + 1, 1), energy (T_text + 1, 1))`` (FastSpeech: empty pitch/energy), with the prosody
controls (``--speed_control_alpha``, ``--pitch_scale``, ``--pitch_shift_cents``, ``--energy_scale``;
default: none) fixed at export, mapped to the model's normalised domain as ``ESPnetTTSModel`` maps
them. Inference is deterministic, so scripted and eager outputs must agree (atol 1e-5, durations
exactly).

Equality check (Tacotron2): the prenet dropout stays on at inference (as in Tacotron2), so the eager and
scripted runs each start from the same seed (``torch.manual_seed(seed)``) and must then
give the same frames (``allclose``, atol 1e-5) and the same length for every sample text.

With ``--vocoder_file`` (and ``--vocoder_config``, as for tts_inference) the trained vocoder is exported
too, to ``--vocoder_outpath`` (default ``<outpath stem>_vocoder.pt``): ``torch.jit.trace`` of a thin
wrapper of the vocoder model's ``inference`` (:mod:`espkit.gan_tts.export`):
``module(feats (T_feats, n_mels) float, un-normalised log-mel) -> wav (T_feats * hop_length,)``, the
vocoder's normalisation included; its ``espkit.json`` holds the generator, the feature parameters and
the input description. A trace records one run's operations, so it is traced on features of a length
that no checked input has, and checked against eager inference on the acoustic model's (eager)
de-normalised features of every sample text: the same length and samples within atol. The same
loop (:func:`check_against_eager`) checks and times both exports.

    python -m espkit.bin.tts_export --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --outpath exp/tts/tts.pt \\
        --vocoder_file exp/vocoder/train.total_count.best.pth
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from espkit.bin.tts_inference import Text2Speech
from espkit.gan_tts.export import trace_vocoder
from espkit.train.checkpoint import CheckpointError
from espkit.tts.fastspeech2.export import script_fastspeech
from espkit.tts.tacotron2.export import script_tacotron2
from espkit.tts.transformer.export import script_transformer
from espkit.tts.transformer.transformer import Transformer
from espkit.tts.vocoder.gan_vocoder import GANVocoder
from espkit.utils.cli_logging import setup_logging
from espkit.utils.errors import ConfigError
from espkit.utils.types import str_or_none

logger = logging.getLogger(__name__)

DEFAULT_TEXTS = ("the birch canoe slid on the smooth planks", "glue the sheet to the dark blue background")


class ExportMismatch(RuntimeError):
    """The scripted module's output differs from eager inference (the message says where)."""


def _median_time(fn: Callable[[], Any], num_runs: int) -> float:
    times = []
    for _ in range(num_runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_against_eager(
    cases: Sequence[tuple[str, tuple]],
    eager: Callable[..., Sequence[torch.Tensor]],
    exported: Callable[..., Sequence[torch.Tensor]],
    how: str = "scripted",
    num_runs: int = 5,
    seed: int = 0,
    atol: float = 1e-5,
) -> Dict[str, Any]:
    """Run ``eager`` and ``exported`` on every case, each from ``torch.manual_seed(seed)``; check and time them.

    Args:
        cases: ``(label, args)``: what a message calls the case (``text 'ab'``) and the positional inputs.
        eager, exported: ``fn(*args) -> outputs`` (tensors, compared pairwise; the first one's
            length is reported).
        how: ``scripted`` or ``traced`` (for messages).
        num_runs: timing runs per case (the median is reported).
        seed: seed set before each run.
        atol: largest allowed absolute difference of any output.

    Returns:
        ``{"max_abs_diff", "eager_ms", "exported_ms", "lengths"}`` (median latency per case, summed
        over cases; ``lengths``: of the first output of each case).

    Raises:
        ExportMismatch: a shape differs or an output differs by more than ``atol``.
    """
    report: Dict[str, Any] = {"max_abs_diff": 0.0, "eager_ms": 0.0, "exported_ms": 0.0, "lengths": []}
    with torch.inference_mode():
        for label, args in cases:

            def run_eager(args=args):
                return eager(*args)

            def run_exported(args=args):
                return exported(*args)

            torch.manual_seed(seed)
            reference = run_eager()
            torch.manual_seed(seed)
            outputs = run_exported()
            for ours, theirs in zip(outputs, reference):
                if ours.shape != theirs.shape:
                    raise ExportMismatch(
                        f"{label}: {how} output has shape {tuple(ours.shape)}, eager {tuple(theirs.shape)}"
                    )
            diff = max(
                float((ours - theirs).abs().max()) if ours.numel() else 0.0 for ours, theirs in zip(outputs, reference)
            )
            if diff > atol:
                raise ExportMismatch(f"{label}: {how} output differs from eager by {diff:.3g} > {atol}")
            report["max_abs_diff"] = max(report["max_abs_diff"], diff)
            report["lengths"].append(int(outputs[0].size(0)))
            run_exported()  # warm-up (the first calls optimise the graph)
            report["eager_ms"] += 1000 * _median_time(run_eager, num_runs)
            report["exported_ms"] += 1000 * _median_time(run_exported, num_runs)
    return report


def _save_and_load(module: torch.jit.ScriptModule, outpath: Path, extra: Dict[str, Any]) -> torch.jit.ScriptModule:
    outpath.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # torch >= 2.9 marks TorchScript deprecated; it is still what C++/mobile runtimes load.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(outpath), _extra_files={"espkit.json": json.dumps(extra)})
        return torch.jit.load(str(outpath))


def _emotion_input(text2speech, emo_labs: Any) -> tuple[str, Any, Optional[torch.Tensor]]:
    """``(emotion_input, emo_labs, weights)`` of the export: ``none`` or ``weights`` (default: the first label)."""
    model = text2speech.model
    if model.emo_source == "reference":
        raise ConfigError("export of reference-conditioned models (emo_source: reference) is not supported")
    if model.tts.num_emotions() == 0:
        return "none", None, None
    if emo_labs is None:
        emo_labs = text2speech.emotions.emo_list[0]
    _, _, weights = text2speech.resolve_emotion(emo_labs)
    return "weights", emo_labs, weights


def export_tts(
    text2speech,
    outpath: str | Path,
    texts: Sequence[str] = DEFAULT_TEXTS,
    emo_labs: Any = None,
    num_runs: int = 5,
    seed: int = 0,
    atol: float = 1e-5,
) -> Dict[str, Any]:
    """Script ``text2speech``'s acoustic model, save it to ``outpath``, check and time it.

    Args:
        text2speech: a loaded :class:`espkit.tts.text2speech.Text2Speech`.
        outpath: the ``.pt`` file to write.
        texts: sample texts for the check and the timing.
        emo_labs: emotion for emotion-label models (name, id or mix; default: the first label).
        num_runs: timing runs per text (the median is reported).
        seed: seed set before each eager and each scripted run.
        atol: largest allowed absolute difference of the features.

    Returns:
        ``{"outpath", "max_abs_diff", "eager_ms", "scripted_ms", "frames"}`` (median latency per
        text, summed over texts).

    Raises:
        ExportMismatch: lengths differ or features differ by more than ``atol``.
    """

    model = text2speech.model
    emotion_input, emo_labs, eager_emo = _emotion_input(text2speech, emo_labs)
    emotion = torch.zeros(0) if eager_emo is None else eager_emo
    if model.tts.supports_prosody_control:
        return _export_duration_model(text2speech, outpath, texts, emotion_input, eager_emo, num_runs, seed, atol)
    conf = text2speech.decode_conf
    if conf["use_att_constraint"] or conf["use_teacher_forcing"]:
        raise ConfigError("export supports free-running decoding only (no use_att_constraint / teacher forcing)")
    decode = {k: conf[k] for k in ("threshold", "minlenratio", "maxlenratio")}
    outpath = Path(outpath)
    script = script_transformer if isinstance(model.tts, Transformer) else script_tacotron2
    module = script(model.tts, emotion_input, **decode)
    loaded = _save_and_load(module, outpath, _export_metadata(text2speech, emotion_input))

    def eager(ids):
        out = (
            model.tts.inference(ids, emo_labs=eager_emo, **decode)
            if eager_emo is not None
            else model.tts.inference(ids, **decode)
        )
        return out["feat_gen"], out["prob"], out["att_w"]

    return _check_scripted(text2speech, texts, eager, lambda ids: loaded(ids, emotion), outpath, num_runs, seed, atol)


def _check_scripted(
    text2speech, texts: Sequence[str], eager, scripted, outpath: Path, num_runs: int, seed: int, atol: float
) -> Dict[str, Any]:
    """Run ``eager`` and ``scripted`` on the token ids of each text (:func:`check_against_eager`) and
    report the export: path, largest difference, timings, frames."""
    cases = [(f"text {text!r}", (text2speech.token_ids(text),)) for text in texts]
    checked = check_against_eager(cases, eager, scripted, "scripted", num_runs, seed, atol)
    return {
        "outpath": str(outpath),
        "max_abs_diff": checked["max_abs_diff"],
        "eager_ms": checked["eager_ms"],
        "scripted_ms": checked["exported_ms"],
        "frames": checked["lengths"],
    }


def _export_duration_model(
    text2speech,
    outpath: str | Path,
    texts: Sequence[str],
    emotion_input: str,
    eager_emo: Optional[torch.Tensor],
    num_runs: int,
    seed: int,
    atol: float,
) -> Dict[str, Any]:
    """:func:`export_tts` of a FastSpeech2 / FastSpeech (:class:`FastSpeechInference`)."""
    model = text2speech.model
    conf = text2speech.decode_conf
    if conf["use_teacher_forcing"]:
        raise ConfigError("export supports free-running synthesis only (no teacher forcing)")
    user_controls = {key: conf[key] for key in ("alpha", "pitch_scale", "pitch_shift_cents", "energy_scale")}
    probe = text2speech.token_ids(texts[0])
    # the user-level controls in the model's normalised domain, as ESPnetTTSModel.inference maps them
    controls = model.prosody_controls(probe, None, None, None, None, False, **user_controls)
    emotion = torch.zeros(0) if eager_emo is None else eager_emo
    outpath = Path(outpath)
    module = script_fastspeech(model.tts, emotion_input, **controls)
    loaded = _save_and_load(module, outpath, _export_metadata(text2speech, emotion_input))

    def eager(ids):
        out = model.tts.inference(ids, emo_labs=eager_emo, **controls)
        empty = torch.zeros(0)
        return out["feat_gen"], out["duration"], out.get("pitch", empty), out.get("energy", empty)

    return _check_scripted(text2speech, texts, eager, lambda ids: loaded(ids, emotion), outpath, num_runs, seed, atol)


def export_vocoder(
    text2speech,
    outpath: str | Path,
    texts: Sequence[str] = DEFAULT_TEXTS,
    emo_labs: Any = None,
    num_runs: int = 5,
    seed: int = 0,
    atol: float = 1e-5,
) -> Dict[str, Any]:
    """Trace ``text2speech``'s trained vocoder, save it to ``outpath``, check and time it.

    The check inputs are the de-normalised features the acoustic model decodes (eagerly) for
    ``texts``, what the vocoder reads in synthesis; the trace is made on features one frame longer
    than the longest of them, so that no checked length is the traced one.

    Args:
        text2speech: a :class:`espkit.tts.text2speech.Text2Speech` loaded with a ``vocoder_file``.
        outpath: the ``.pt`` file to write.
        texts, emo_labs, num_runs, seed, atol: as for :func:`export_tts` (``atol`` on the samples).

    Returns:
        ``{"outpath", "max_abs_diff", "eager_ms", "traced_ms", "samples", "frames"}`` (median latency
        per text, summed over texts).

    Raises:
        ConfigError: ``text2speech`` has no trained vocoder (Griffin-Lim is not exported).
        ExportMismatch: lengths differ or samples differ by more than ``atol``.
    """
    vocoder = text2speech.vocoder
    if not isinstance(vocoder, GANVocoder):
        raise ConfigError("no trained vocoder to export (Griffin-Lim is not exported): give --vocoder_file")
    _, emo_labs, _ = _emotion_input(text2speech, emo_labs)
    feats = []
    for text in texts:
        torch.manual_seed(seed)
        feats.append(text2speech(text, emo_labs=emo_labs)["feat_gen_denorm"].float())
    longest = max(feats, key=len)
    example = torch.cat([longest, longest[-1:]])
    outpath = Path(outpath)
    extra = {
        "kind": "vocoder",
        "generator": vocoder.generator_name,
        "vocoder_file": vocoder.name,
        "input": "feats (T_feats, n_mels): un-normalised log-mel as feats_extract makes it",
        "output": "wav (T_feats * hop_length,) at fs",
        "feats_extract": vocoder.feats_params,
    }
    loaded = _save_and_load(trace_vocoder(vocoder.model, example), outpath, extra)
    cases = [(f"features of text {text!r} ({len(f)} frames)", (f,)) for text, f in zip(texts, feats)]
    checked = check_against_eager(
        cases, lambda f: (vocoder.model.inference(f)["wav"],), lambda f: (loaded(f),), "traced", num_runs, seed, atol
    )
    return {
        "outpath": str(outpath),
        "max_abs_diff": checked["max_abs_diff"],
        "eager_ms": checked["eager_ms"],
        "traced_ms": checked["exported_ms"],
        "samples": checked["lengths"],
        "frames": [len(f) for f in feats],
    }


def _export_metadata(text2speech, emotion_input: str) -> Dict[str, Any]:
    model, args = text2speech.model, text2speech.train_args
    meta: Dict[str, Any] = {
        "token_list": list(args.token_list),
        "token_type": args.token_type,
        "cleaner": args.cleaner,
        "g2p": args.g2p,
        "emotion_input": emotion_input,
        "emo_list": None if text2speech.emotions is None else list(text2speech.emotions.emo_list),
        "feats_extract": None if model.feats_extract is None else model.feats_extract.get_parameters(),
        "decode_conf": text2speech.decode_conf,
    }
    if model.normalize is not None and "mean" in dict(model.normalize.named_buffers()):
        buffers = dict(model.normalize.named_buffers())
        meta["normalize"] = {"mean": buffers["mean"].tolist(), "std": buffers["std"].tolist()}
    return meta


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="TorchScript export of TTS inference, checked against eager, with a latency report",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=str_or_none, default=None)
    parser.add_argument("--model_file", required=True, help="Weights (.pth) or a packed model (.zip)")
    parser.add_argument("--outpath", required=True, help="TorchScript file to write (.pt)")
    parser.add_argument("--text", action="append", default=None, help="Sample text (repeatable)")
    parser.add_argument("--emo_labs", type=str_or_none, default=None, help="Emotion name, id or mix for the check")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--minlenratio", type=float, default=0.0)
    parser.add_argument("--maxlenratio", type=float, default=10.0)
    parser.add_argument(
        "--speed_control_alpha", "--alpha", dest="alpha", type=float, default=1.0, help="Duration models: alpha"
    )
    parser.add_argument("--pitch_scale", type=float, default=1.0, help="FastSpeech2: pitch excursion scale")
    parser.add_argument("--pitch_shift_cents", type=float, default=0.0, help="FastSpeech2: pitch shift (cents)")
    parser.add_argument("--energy_scale", type=float, default=1.0, help="FastSpeech2: energy factor")
    parser.add_argument("--num_runs", type=int, default=5, help="Timing runs per text (median reported)")
    parser.add_argument("--num_threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    group = parser.add_argument_group("vocoder related")
    group.add_argument(
        "--vocoder_file", type=str_or_none, default=None, help="Trained vocoder weights: export it too (traced)"
    )
    group.add_argument(
        "--vocoder_config",
        type=str_or_none,
        default=None,
        help="The vocoder's training config.yaml (default: the one beside --vocoder_file)",
    )
    group.add_argument(
        "--vocoder_outpath",
        type=str_or_none,
        default=None,
        help="TorchScript file of the vocoder (default: <outpath stem>_vocoder.pt beside --outpath)",
    )
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    torch.set_num_threads(args.num_threads)

    try:
        text2speech = Text2Speech(
            args.train_config,
            args.model_file,
            vocoder_config=args.vocoder_config if args.vocoder_file is not None else None,
            vocoder_file=args.vocoder_file,
            threshold=args.threshold,
            minlenratio=args.minlenratio,
            maxlenratio=args.maxlenratio,
            seed=args.seed,
            alpha=args.alpha,
            pitch_scale=args.pitch_scale,
            pitch_shift_cents=args.pitch_shift_cents,
            energy_scale=args.energy_scale,
        )
        texts: List[str] = args.text or list(DEFAULT_TEXTS)
        report = export_tts(text2speech, args.outpath, texts, args.emo_labs, args.num_runs, args.seed)
        vocoder_report = None
        if args.vocoder_file is not None:
            outpath = Path(args.outpath)
            vocoder_outpath = args.vocoder_outpath or outpath.with_name(f"{outpath.stem}_vocoder.pt")
            vocoder_report = export_vocoder(
                text2speech, vocoder_outpath, texts, args.emo_labs, args.num_runs, args.seed
            )
    except (ConfigError, FileNotFoundError, ValueError, CheckpointError, ExportMismatch) as exc:
        print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
        sys.exit(2 if not isinstance(exc, ExportMismatch) else 1)
    print(f"wrote {report['outpath']}")
    print(
        f"scripted == eager on {len(texts)} text(s) (frames {report['frames']}), "
        f"max |diff| {report['max_abs_diff']:.2e}"
    )
    print(
        f"latency (median of {args.num_runs} runs, summed over texts, {args.num_threads} thread(s)): "
        f"eager {report['eager_ms']:.1f} ms, scripted {report['scripted_ms']:.1f} ms"
    )
    if vocoder_report is not None:
        print(f"wrote {vocoder_report['outpath']}")
        print(
            f"vocoder traced == eager on the features of {len(texts)} text(s) (frames {vocoder_report['frames']}), "
            f"max |diff| {vocoder_report['max_abs_diff']:.2e}"
        )
        print(
            f"vocoder latency (median of {args.num_runs} runs, summed over texts, {args.num_threads} thread(s)): "
            f"eager {vocoder_report['eager_ms']:.1f} ms, traced {vocoder_report['traced_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
