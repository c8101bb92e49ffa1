"""Export the acoustic model's inference as TorchScript, check it against eager, time both.

    python -m espkit.bin.tts_export --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --outpath exp/tts/tts.pt --text "hello world"

The scripted module is :class:`espkit.tts.tacotron2.export.Tacotron2Inference`:
``module(text_ids (T_text,) long, emotion (D,) float) -> (feat_gen (T_feats, odim) normalised,
prob (T_feats,), att_w (T_feats, T_text + 1))`` with the decoding options fixed at export.
``torch.jit.load(path, _extra_files={"espkit.json": ""})`` also returns a JSON with the token
list, the emotion list and input kind, the feature parameters and the normalisation mean/std
(``feat_gen * std + mean`` gives what the vocoder reads).

Equality check: the prenet dropout stays on at inference (as in Tacotron2), so the eager and
scripted runs each start from the same seed (``torch.manual_seed(seed)``) and must then
give the same frames (``allclose``, atol 1e-5) and the same length for every sample text.
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
from espkit.tts.tacotron2.export import script_tacotron2
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
    if model.emo_source == "reference":
        raise ConfigError("export of reference-conditioned models (emo_source: reference) is not supported")
    emotion = torch.zeros(0)
    emotion_input = "none"
    eager_emo = None
    if model.tts.num_emotions() > 0:
        emotion_input = "weights"
        if emo_labs is None:
            emo_labs = text2speech.emotions.emo_list[0]
        _, _, emotion = text2speech.resolve_emotion(emo_labs)
        eager_emo = emotion
    conf = text2speech.decode_conf
    if conf["use_att_constraint"] or conf["use_teacher_forcing"]:
        raise ConfigError("export supports free-running decoding only (no use_att_constraint / teacher forcing)")
    decode = {k: conf[k] for k in ("threshold", "minlenratio", "maxlenratio")}
    extra = _export_metadata(text2speech, emotion_input)
    outpath = Path(outpath)
    outpath.parent.mkdir(parents=True, exist_ok=True)
    module = script_tacotron2(model.tts, emotion_input, **decode)
    with warnings.catch_warnings():
        # torch >= 2.9 marks TorchScript deprecated; it is still what C++/mobile runtimes load.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(outpath), _extra_files={"espkit.json": json.dumps(extra)})
        loaded = torch.jit.load(str(outpath))

    report: Dict[str, Any] = {
        "outpath": str(outpath),
        "max_abs_diff": 0.0,
        "eager_ms": 0.0,
        "scripted_ms": 0.0,
        "frames": [],
    }
    with torch.inference_mode():
        for text in texts:
            ids = text2speech.token_ids(text)

            def eager(ids=ids):
                return (
                    model.tts.inference(ids, emo_labs=eager_emo, **decode)
                    if eager_emo is not None
                    else model.tts.inference(ids, **decode)
                )

            def scripted(ids=ids):
                return loaded(ids, emotion)

            torch.manual_seed(seed)
            reference = eager()
            torch.manual_seed(seed)
            feat_gen, prob, att_w = scripted()
            if feat_gen.shape != reference["feat_gen"].shape:
                raise ExportMismatch(
                    f"text {text!r}: scripted output has shape {tuple(feat_gen.shape)}, "
                    f"eager {tuple(reference['feat_gen'].shape)}"
                )
            diff = max(
                float((feat_gen - reference["feat_gen"]).abs().max()),
                float((prob - reference["prob"]).abs().max()),
                float((att_w - reference["att_w"]).abs().max()),
            )
            if diff > atol:
                raise ExportMismatch(f"text {text!r}: scripted output differs from eager by {diff:.3g} > {atol}")
            report["max_abs_diff"] = max(report["max_abs_diff"], diff)
            report["frames"].append(int(feat_gen.size(0)))
            scripted()  # warm-up (the first scripted calls optimise the graph)
            report["eager_ms"] += 1000 * _median_time(eager, num_runs)
            report["scripted_ms"] += 1000 * _median_time(scripted, num_runs)
    return report


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
    parser.add_argument("--num_runs", type=int, default=5, help="Timing runs per text (median reported)")
    parser.add_argument("--num_threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s")
    torch.set_num_threads(args.num_threads)

    try:
        text2speech = Text2Speech(
            args.train_config,
            args.model_file,
            threshold=args.threshold,
            minlenratio=args.minlenratio,
            maxlenratio=args.maxlenratio,
            seed=args.seed,
        )
        texts: List[str] = args.text or list(DEFAULT_TEXTS)
        report = export_tts(text2speech, args.outpath, texts, args.emo_labs, args.num_runs, args.seed)
    except (ConfigError, FileNotFoundError, ValueError, ExportMismatch) as exc:
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


if __name__ == "__main__":
    main()
