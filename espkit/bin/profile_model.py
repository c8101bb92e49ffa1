"""Profile a TTS model or a vocoder, or one part of it: parameters, TorchScript, latency, memory, FLOPs.

    # one part of a trained model, at two input sizes (token ids (B, T_text))
    python -m espkit.bin.profile_model --config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --part tts.enc --input_dtype long -i 1 50 -i 1 500

    # the whole synthesis path of a packed model (text -> features -> waveform), JSON for scripts
    python -m espkit.bin.profile_model --model_file exp/tts/packed.zip --text "the birch canoe" \\
        --output_json profile.json

    # a vocoder's generator from its training config alone (random weights), on a GPU
    python -m espkit.bin.profile_model --config conf/tuning/train_vocoder_hifigan.yaml \\
        --part generator -i 1 80 200 -i 1 80 2000 --device cuda

The model comes from ``--config`` (a TTS or a vocoder training ``config.yaml``, told apart by its
``tts`` or ``generator`` key) and ``--model_file`` (weights; for a TTS model also a packed zip, which
carries its config), loaded as synthesis loads them (:class:`~espkit.tts.text2speech.Text2Speech`,
:func:`~espkit.tts.inference_model.build_model_for_inference`); with ``--config`` alone the weights
are random, normalisation statistics that are missing become an identity (logged), and options
after ``--`` go to the task, e.g. a tuning config without its token list:
``--config conf/train.yaml -- --token_list dump/token_list/phn/tokens.txt``.

``--part``: ``inference`` (default), the whole path: a TTS model through ``Text2Speech`` (front end,
acoustic model, vocoder: ``--vocoder_file``, the packed one, else Griffin-Lim) on ``--text`` or on
``-i T_text`` random token ids; a vocoder as synthesis runs it (weight norm folded, no
discriminator) on features ``-i T_feats n_mels``. Or a submodule by its dotted name (``tts.enc``,
``tts.postnet``, ``generator``, ``vocoder`` for a TTS model's trained vocoder; ``--list_parts``
lists them), called as ``<part>.<--method>(x, ...)`` with ``x`` of each ``-i`` shape (random
normal, or with ``--input_dtype long`` random ids below the part's first embedding's size) or the
token ids ``(1, T_text)`` of a ``--text``. Further required arguments are filled only where that is
unambiguous: ``*lens``/``*lengths`` with the full length ``x.size(1)`` of each of the ``B`` rows,
arguments typed ``Optional`` with None; the report lists them. Others are an error: profile a part
that takes them, or the whole path.

What each number means is written in :mod:`espkit.torch_utils.profiling` and docs/profiling.md.
Bad input (an unknown part, a bad ``-i``, a missing file, CUDA asked for and absent) ends with one
``error:`` line naming the option, exit code 2.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import inspect
import json
import logging
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import humanfriendly
import numpy as np
import torch

from espkit import __version__
from espkit.torch_utils.profiling import (
    count_flops,
    count_parameters,
    error_line,
    output_shapes,
    peak_memory,
    save_torchscript,
    time_calls,
    to_torchscript,
)
from espkit.train.checkpoint import CheckpointError
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.config_argparse import load_yaml_config
from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import config_kind
from espkit.utils.types import str2bool, str_or_none

logger = logging.getLogger(__name__)

#: ``--part`` of the whole inference path.
WHOLE = "inference"
#: Parts listed in an unknown-part error: names with at most this many dots.
LISTED_DEPTH = 1
#: What the peak memory of each device is (the report says it; :mod:`espkit.torch_utils.profiling`).
PEAK_MEMORY_MEASURES = {
    "cpu": "bytes held at once by tensors the call allocated (torch.profiler's CPU allocator events)",
    "cuda": "torch.cuda.max_memory_allocated during the call minus memory_allocated before it",
}


# ==================================================================================================
# Command line
# ==================================================================================================
def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Parameters, TorchScript, latency, peak memory and FLOPs of a model or of one part of it",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    group = parser.add_argument_group("model")
    group.add_argument("--config", type=str_or_none, default=None, help="TTS or vocoder training config.yaml")
    group.add_argument(
        "--model_file",
        type=str_or_none,
        default=None,
        help="Weights (.pth) or a packed TTS model (.zip); none: random weights from --config",
    )
    group.add_argument("--vocoder_file", type=str_or_none, default=None, help="TTS: trained vocoder weights")
    group.add_argument(
        "--vocoder_config", type=str_or_none, default=None, help="TTS: the vocoder's config.yaml (default: beside it)"
    )
    group = parser.add_argument_group("what to profile")
    group.add_argument(
        "--part", default=WHOLE, help=f"'{WHOLE}' (the whole path) or a submodule's dotted name, e.g. tts.enc"
    )
    group.add_argument("--method", default="forward", help="Method of --part to call (not for the whole path)")
    group.add_argument("--list_parts", action="store_true", help="List the parts with their sizes and exit")
    group.add_argument(
        "-i",
        "--input_shape",
        nargs="+",
        action="append",
        default=None,
        metavar="SIZE",
        help="Input size (repeatable): a part's first input shape, e.g. -i 1 80 200 (or 1x80x200); "
        "whole TTS path: T_text; whole vocoder path: T_feats n_mels",
    )
    group.add_argument("--text", action="append", default=None, help="TTS: an input text (repeatable)")
    group.add_argument(
        "--input_dtype", choices=("float", "long"), default="float", help="A part's -i input: features or token ids"
    )
    group.add_argument("--emo_labs", type=str_or_none, default=None, help="TTS: emotion (default: the first one)")
    group.add_argument("--minlenratio", type=float, default=0.0, help="Tacotron2 whole path: min frames / tokens")
    group.add_argument("--maxlenratio", type=float, default=10.0, help="Tacotron2 whole path: max frames / tokens")
    group = parser.add_argument_group("measurement")
    group.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    group.add_argument("--num_threads", type=int, default=1, help="torch intra-op threads (CPU)")
    group.add_argument("--warmup", type=int, default=2, help="Untimed calls before timing")
    group.add_argument("--repeats", type=int, default=10, help="Timed calls (median and p90 reported)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--torchscript", type=str2bool, default=True, help="Try TorchScript (script, else trace)")
    group.add_argument("--save_torchscript", type=str_or_none, default=None, help="Write the TorchScript module here")
    group = parser.add_argument_group("output")
    group.add_argument("--output_json", type=str_or_none, default=None, help="Also write the report as JSON here")
    group.add_argument("--json", action="store_true", help="Print the report as JSON instead of the table")
    parser.add_argument("--log_level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def split_task_options(cmd: Sequence[str]) -> Tuple[List[str], List[str]]:
    """``(our options, task options)``: what follows a ``--`` goes to the task's parser."""
    cmd = list(cmd)
    if "--" not in cmd:
        return cmd, []
    at = cmd.index("--")
    return cmd[:at], cmd[at + 1 :]


def parse_shape(tokens: Sequence[str]) -> List[int]:
    """``["1", "80", "200"]`` or ``["1x80x200"]`` -> ``[1, 80, 200]``; ConfigError naming ``-i`` otherwise."""
    parts = [p for token in tokens for p in token.lower().split("x")]
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        shape = []
    if not shape or any(size < 1 for size in shape):
        raise ConfigError(
            f"-i/--input_shape {' '.join(tokens)}: give positive integer sizes, e.g. -i 1 80 200 or -i 1x80x200"
        )
    return shape


def is_packed(model_file: Optional[str]) -> bool:
    """Whether ``model_file`` is a packed model (a ``.zip``, as ``Text2Speech`` tells them apart: a
    ``.pth`` is a zip archive too)."""
    return model_file is not None and Path(model_file).suffix == ".zip"


def check_args(args: argparse.Namespace, task_options: Sequence[str]) -> None:
    """One-line ConfigErrors for options that cannot work together, before anything is loaded."""
    for option in ("config", "model_file", "vocoder_file", "vocoder_config"):
        path = getattr(args, option)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"--{option}: no such file: {path}")
    if args.config is None and args.model_file is None:
        raise ConfigError("--config is required (with --model_file for trained weights), or a packed --model_file")
    if args.config is None and not is_packed(args.model_file):
        raise ConfigError(f"--config is required: --model_file {args.model_file} is not a packed model zip")
    if task_options and args.model_file is not None:
        raise ConfigError(
            f"options after -- ({' '.join(task_options)}) change the model of --config alone (random weights); "
            "a --model_file was trained with its own config"
        )
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: CUDA is not available on this machine; use --device cpu")
    if args.num_threads < 1:
        raise ConfigError(f"--num_threads {args.num_threads}: give 1 or more")
    if args.warmup < 0 or args.repeats < 1:
        raise ConfigError(f"--warmup {args.warmup} --repeats {args.repeats}: give --warmup >= 0 and --repeats >= 1")
    if not args.list_parts and not args.input_shape and not args.text:
        raise ConfigError("give the input sizes to profile: -i/--input_shape (repeatable) or --text")
    if args.save_torchscript is not None and not args.torchscript:
        raise ConfigError("--save_torchscript needs --torchscript true")


# ==================================================================================================
# Loading
# ==================================================================================================
@dataclass
class Target:
    """What is profiled: the model of one config (and, for TTS, its ``Text2Speech``)."""

    kind: str  # "tts" or "vocoder"
    model: torch.nn.Module  # ESPnetTTSModel or ESPnetGANVocoderModel
    description: Dict[str, Any]
    text2speech: Any = None  # TTS: the Text2Speech around ``model``
    extra_parts: Dict[str, torch.nn.Module] = field(default_factory=dict)  # TTS: its vocoder
    synthesis: Optional[torch.nn.Module] = None  # vocoder: the GANVocoder of the whole path, once made

    def named_parts(self) -> Dict[str, torch.nn.Module]:
        """Dotted name -> submodule, for ``--part``."""
        parts = {name: module for name, module in self.model.named_modules() if name}
        for prefix, module in self.extra_parts.items():
            parts.update(module.named_modules(prefix=prefix))
        return parts


def _random_weights_config(config: str, kind: str, task_options: Sequence[str], tmp: Path) -> Path:
    """A resolved copy of ``config`` in ``tmp`` with ``task_options`` applied and missing
    normalisation statistics replaced by an identity (random weights need no real ones; one value,
    broadcast over the feature axis)."""
    from espkit.tts.inference_model import placeholder_stats, task_of

    task = task_of(kind)
    parser = task.get_parser()
    parser.exit_on_error = False
    try:
        args, unknown = parser.parse_known_args(["--config", config, *task_options])
    except argparse.ArgumentError as exc:
        raise ConfigError(f"options after --: {exc}") from None
    if unknown:
        raise ConfigError(f"options after --: not options of the {kind} task: {' '.join(unknown)}")
    task.resolve_args(args)
    if kind == "tts" and args.token_list is None:
        raise ConfigError(
            f"--config {config} has no token_list: give one after --, e.g. -- --token_list tokens.txt "
            "(its size sets the text embedding)"
        )
    for option in task.missing_stats(args):
        logger.warning(
            "%s: %s statistics missing (%s): an identity normalisation is used with the random weights",
            config,
            option,
            getattr(args, f"{option}_conf").get("stats_file"),
        )
        getattr(args, f"{option}_conf")["stats_file"] = str(placeholder_stats(tmp, option, (1,)))
    return task.dump_config(args, tmp)


def load_target(args: argparse.Namespace, task_options: Sequence[str]) -> Target:
    """Load the model as synthesis does (a TTS model through ``Text2Speech``)."""
    from espkit.tts.inference_model import build_model_for_inference
    from espkit.tts.text2speech import Text2Speech

    packed = is_packed(args.model_file)
    kind = "tts" if packed else config_kind(load_yaml_config(args.config))
    if kind is None:
        raise ConfigError(
            f"--config {args.config}: neither a TTS config (a 'tts' key) nor a vocoder config (a 'generator' key)"
        )
    if kind == "vocoder" and (args.vocoder_file or args.vocoder_config or args.text):
        raise ConfigError(
            f"--config {args.config} is a vocoder's: --vocoder_file, --vocoder_config, --text are TTS options"
        )
    description = {
        "config": None if packed else args.config,
        "model_file": args.model_file,
        "kind": kind,
        "weights": "random" if args.model_file is None else "trained",
        "task_options": list(task_options),
    }
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="espkit_profile_") as tmp:
        config = args.config
        if args.model_file is None:
            config = str(_random_weights_config(args.config, kind, task_options, Path(tmp)))
        if kind == "vocoder":
            model, _ = build_model_for_inference(config, args.model_file, args.device, kind="vocoder")
            return Target(kind, model.eval(), description)
        text2speech = Text2Speech(
            None if packed else config,
            args.model_file,
            vocoder_config=args.vocoder_config,
            vocoder_file=args.vocoder_file,
            device=args.device,
            minlenratio=args.minlenratio,
            maxlenratio=args.maxlenratio,
            seed=args.seed,
            always_fix_seed=True,  # every repeat synthesises the same output
        )
    description["tts"] = text2speech.model_name
    vocoder = text2speech.vocoder
    description["vocoder"] = None if vocoder is None else getattr(vocoder, "name", type(vocoder).__name__)
    extra = {"vocoder": vocoder} if isinstance(vocoder, torch.nn.Module) else {}
    return Target("tts", text2speech.model, description, text2speech, extra)


def find_part(target: Target, name: str) -> torch.nn.Module:
    """The submodule ``name``; ConfigError listing the valid names (the first levels) otherwise."""
    parts = target.named_parts()
    if name in parts:
        return parts[name]
    listed = [WHOLE] + [n for n in parts if n.count(".") <= LISTED_DEPTH]
    raise ConfigError(
        f"--part {name}: no such part of this {target.kind} model; valid: {', '.join(listed)} "
        "(and dotted names below them: --list_parts)"
    )


def list_parts(target: Target) -> str:
    """One line per part: dotted name, class, parameters."""
    rows = [(WHOLE, "the whole path", count_parameters(whole_module(target))["total"])]
    rows += [(n, type(m).__name__, count_parameters(m)["total"]) for n, m in target.named_parts().items()]
    width = max(len(n) for n, _, _ in rows)
    return "\n".join(f"{'  ' * n.count('.')}{n:<{width}}  {cls:<28} {num:>12,}" for n, cls, num in rows)


def whole_module(target: Target) -> torch.nn.Module:
    """The modules the whole path runs (for the parameter count)."""
    if target.kind == "vocoder":
        return vocoder_for_synthesis(target)
    modules = {"model": target.model}
    if isinstance(target.text2speech.vocoder, torch.nn.Module):
        modules["vocoder"] = target.text2speech.vocoder
    return torch.nn.ModuleDict(modules)


def vocoder_for_synthesis(target: Target) -> torch.nn.Module:
    """The vocoder model as synthesis runs it (``GANVocoder``: weight norm folded, no discriminator),
    made from a copy so that the parts keep the model as trained."""
    from espkit.tts.vocoder.gan_vocoder import GANVocoder

    if target.synthesis is None:
        name = str(target.description["model_file"] or target.description["config"])
        target.synthesis = GANVocoder(copy.deepcopy(target.model), name=name)
    return target.synthesis


# ==================================================================================================
# Inputs
# ==================================================================================================
@dataclass
class Case:
    """One input size: a label for the report, and the call that is measured."""

    label: str
    call: Callable[[], Any]
    inputs: Dict[str, Any]  # what the report says about the inputs
    args: Tuple[Any, ...] = ()  # positional inputs of a part's method (TorchScript example)
    fs: Optional[int] = None  # sampling rate of a waveform output (for the real-time factor)


def _first_embedding_size(module: torch.nn.Module, part: str) -> int:
    for sub in module.modules():
        if isinstance(sub, torch.nn.Embedding):
            return sub.num_embeddings
    raise ConfigError(f"--input_dtype long: part {part} has no nn.Embedding to take token ids; use --input_dtype float")


def fill_arguments(fn: Callable, part: str, method: str, shape: Sequence[int], device: str) -> Tuple[list, Dict]:
    """The positional arguments after the first of ``fn`` (``part.method``) for a first input of
    ``shape``, and what each was filled with; ConfigError for one that cannot be filled."""
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if not params:
        raise ConfigError(f"--part {part}: {method}() takes no input tensor")
    filled, how, unknown = [], {}, []
    for param in params[1:]:
        name, annotation = param.name, str(param.annotation)
        if name.endswith("lens") or name.endswith("lengths"):
            if len(shape) < 2:
                raise ConfigError(f"-i {' '.join(map(str, shape))}: --part {part} needs (B, T, ...) for its {name}")
            filled.append(torch.full((shape[0],), shape[1], dtype=torch.long, device=device))
            how[name] = f"full lengths: ({shape[0]},) of {shape[1]}"
        elif "None" in annotation or "Optional" in annotation:
            filled.append(None)
            how[name] = "None"
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError(
            f"--part {part}: {method}() also needs {', '.join(unknown)}, which the profiler cannot make up; "
            f"profile a part it calls, or --part {WHOLE}"
        )
    return filled, how


def part_cases(target: Target, part: str, module: torch.nn.Module, args: argparse.Namespace) -> Tuple[list, Dict]:
    """The cases of ``--part`` (one per ``-i`` and per ``--text``) and how extra arguments were filled."""
    fn = getattr(module, args.method, None)
    if not callable(fn):
        raise ConfigError(f"--method {args.method}: part {part} ({type(module).__name__}) has no such method")
    inputs: List[Tuple[str, torch.Tensor]] = []
    for tokens in args.input_shape or []:
        shape = parse_shape(tokens)
        if args.input_dtype == "long":
            high = _first_embedding_size(module, part)
            x = torch.randint(0, high, shape, device=args.device)
        else:
            x = torch.randn(shape, device=args.device)
        inputs.append(("x".join(map(str, shape)), x))
    for text in args.text or []:
        if target.text2speech is None:
            raise ConfigError("--text: only a TTS model reads text")
        ids = target.text2speech.token_ids(text).unsqueeze(0)
        inputs.append((f"text {text!r} (1x{ids.size(1)} ids)", ids))
    cases, filled_how = [], {}
    for label, x in inputs:
        extra, filled_how = fill_arguments(fn, part, args.method, list(x.shape), args.device)
        call_args = (x, *extra)
        cases.append(
            Case(label, lambda a=call_args: fn(*a), {"shape": list(x.shape), "dtype": str(x.dtype)}, call_args)
        )
    return cases, filled_how


def _random_text_ids(token_list: Sequence[str], length: int, generator: torch.Generator) -> np.ndarray:
    """``length`` random ids of ordinary tokens (not ``<blank>``, ``<unk>``, ``<sos/eos>`` and other ``<...>``)."""
    ordinary = [i for i, token in enumerate(token_list) if not re.fullmatch(r"<.*>", token)]
    if not ordinary:
        raise ConfigError("-i: the model's token list holds no ordinary token to make a random text of")
    picks = torch.randint(0, len(ordinary), (length,), generator=generator)
    return np.asarray(ordinary, dtype=np.int64)[picks.numpy()]


def whole_cases(target: Target, args: argparse.Namespace) -> List[Case]:
    """The cases of the whole path: texts or random token ids (TTS), random features (vocoder)."""
    cases = []
    if target.kind == "vocoder":
        vocoder = vocoder_for_synthesis(target)
        n_mels = int(vocoder.feats_params["n_mels"])
        for tokens in args.input_shape or []:
            shape = parse_shape(tokens)
            if len(shape) != 2 or shape[1] != n_mels:
                raise ConfigError(
                    f"-i {' '.join(tokens)}: the whole vocoder path takes features: T_feats {n_mels} (its n_mels)"
                )
            feats = torch.randn(shape, device=args.device)
            cases.append(
                Case(f"{shape[0]}x{n_mels} feats", lambda f=feats: vocoder(f), {"shape": shape}, (feats,), vocoder.fs)
            )
        return cases
    text2speech = target.text2speech
    emo_labs = args.emo_labs
    model = text2speech.model
    if emo_labs is None and model.emo_source == "label" and model.tts.num_emotions() > 0:
        emo_labs = text2speech.emotions.emo_list[0]
    generator = torch.Generator().manual_seed(args.seed)
    texts: List[Tuple[str, Any]] = []
    for tokens in args.input_shape or []:
        shape = parse_shape(tokens)
        if len(shape) != 1:
            raise ConfigError(f"-i {' '.join(tokens)}: the whole TTS path takes one size, T_text (e.g. -i 50)")
        texts.append(
            (f"{shape[0]} random tokens", _random_text_ids(text2speech.train_args.token_list, shape[0], generator))
        )
    texts += [(f"text {text!r}", text) for text in args.text or []]
    for label, text in texts:
        num_tokens = int(text2speech.token_ids(text).numel())
        cases.append(
            Case(
                label,
                lambda t=text: text2speech(t, emo_labs=emo_labs),
                {"T_text": num_tokens, "emo_labs": emo_labs},
                (text,),
                text2speech.fs,
            )
        )
    return cases


# ==================================================================================================
# Measuring
# ==================================================================================================
def measure_case(case: Case, args: argparse.Namespace) -> Dict[str, Any]:
    """Latency, peak memory and FLOPs of one case, and the size of its output."""
    with torch.inference_mode():
        try:
            output = case.call()
        except (RuntimeError, TypeError, IndexError) as exc:  # the input does not fit the part
            hint = "-i/--input_shape and --input_dtype" if args.part != WHOLE else "the input"
            raise ConfigError(f"--part {args.part} fails on {case.label}: {error_line(exc)}; check {hint}") from None
        row: Dict[str, Any] = {"input": case.label, **case.inputs}
        if isinstance(output, dict) and "feat_gen" in output:  # the whole TTS path
            row["output"] = {"frames": int(output["feat_gen"].size(0))}
            if "wav" in output:
                row["output"]["samples"] = int(output["wav"].numel())
        else:
            row["output"] = {"shapes": output_shapes(output)}
            if case.fs and isinstance(output, torch.Tensor):  # the whole vocoder path: a waveform
                row["output"]["samples"] = int(output.numel())
        row["latency"] = time_calls(case.call, args.warmup, args.repeats, args.device)
        row["peak_memory_bytes"] = peak_memory(case.call, args.device)
    row["flops"] = count_flops(case.call)
    samples = row["output"].get("samples")
    if samples and case.fs:
        audio_s = samples / case.fs
        row["output"]["audio_s"] = audio_s
        row["rtf"] = row["latency"]["median_ms"] / 1000.0 / audio_s
    return row


def torchscript_part(module: torch.nn.Module, cases: Sequence[Case], args: argparse.Namespace) -> Dict[str, Any]:
    """:func:`to_torchscript` of a part on the first case, checked on all; saved when asked."""
    exported, report = to_torchscript(
        module, cases[0].args, args.method, seed=args.seed, check_args=[c.args for c in cases[1:]]
    )
    report["saved_to"] = None
    if exported is not None and args.save_torchscript is not None:
        Path(args.save_torchscript).parent.mkdir(parents=True, exist_ok=True)
        save_torchscript(exported, args.save_torchscript)
        report["saved_to"] = args.save_torchscript
    return report


def torchscript_whole_tts(target: Target, cases: Sequence[Case], args: argparse.Namespace) -> Dict[str, Any]:
    """The whole TTS path as ``espkit.bin.tts_export`` exports it (the acoustic model scripted, a
    trained vocoder traced), each checked against eager on the cases' texts."""
    from espkit.bin.tts_export import ExportMismatch, export_tts, export_vocoder
    from espkit.tts.vocoder.gan_vocoder import GANVocoder

    texts = [case.args[0] for case in cases]
    emo_labs = cases[0].inputs.get("emo_labs")
    report: Dict[str, Any] = {"method": None, "how": "espkit.bin.tts_export", "saved_to": None}
    with tempfile.TemporaryDirectory(prefix="espkit_profile_") as tmp:
        outpath = Path(args.save_torchscript) if args.save_torchscript is not None else Path(tmp) / "tts.pt"
        try:
            done = export_tts(target.text2speech, outpath, texts, emo_labs, num_runs=1, seed=args.seed)
            report.update(method="script", max_abs_diff=done["max_abs_diff"], error=None)
            report["saved_to"] = args.save_torchscript
        except (ConfigError, ValueError, ExportMismatch, RuntimeError) as exc:
            report["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if isinstance(target.text2speech.vocoder, GANVocoder):
            vocoder_path = outpath.with_name(f"{outpath.stem}_vocoder.pt")
            try:
                done = export_vocoder(target.text2speech, vocoder_path, texts, emo_labs, num_runs=1, seed=args.seed)
                report["vocoder"] = {"method": "trace", "max_abs_diff": done["max_abs_diff"], "error": None}
                report["vocoder"]["saved_to"] = str(vocoder_path) if args.save_torchscript is not None else None
            except (ConfigError, ValueError, ExportMismatch, RuntimeError) as exc:
                report["vocoder"] = {"method": None, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        else:
            report["vocoder"] = {"method": None, "error": "Griffin-Lim, not exported"}
    return report


def profile(args: argparse.Namespace, task_options: Sequence[str]) -> Optional[Dict[str, Any]]:
    """The report of the command described by ``args`` (None with ``--list_parts``, which prints)."""
    check_args(args, task_options)
    torch.set_num_threads(args.num_threads)
    target = load_target(args, task_options)
    if args.list_parts:
        print(list_parts(target))
        return None
    whole = args.part == WHOLE
    if whole and args.method != "forward":
        raise ConfigError(f"--method {args.method}: the whole path ({WHOLE}) has no method to choose")
    module = whole_module(target) if whole else find_part(target, args.part)
    module.eval()
    torch.manual_seed(args.seed)
    filled: Dict[str, str] = {}
    if whole:
        cases = whole_cases(target, args)
    else:
        cases, filled = part_cases(target, args.part, module, args)
    report: Dict[str, Any] = {
        "espkit_version": __version__,
        "torch_version": torch.__version__,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "num_threads": torch.get_num_threads(),
        "warmup": args.warmup,
        "repeats": args.repeats,
        "seed": args.seed,
        "model": target.description,
        "part": args.part,
        "module": type(module).__name__ if not whole else ("Text2Speech" if target.kind == "tts" else "GANVocoder"),
        "method": None if whole else args.method,
        "filled_arguments": filled,
        "parameters": count_parameters(module),
        "peak_memory_measure": PEAK_MEMORY_MEASURES[args.device],
    }
    report["cases"] = [measure_case(case, args) for case in cases]
    if not args.torchscript:
        report["torchscript"] = None
    elif whole and target.kind == "tts":
        report["torchscript"] = torchscript_whole_tts(target, cases, args)
    else:
        report["torchscript"] = torchscript_part(module, cases, args)
    return report


# ==================================================================================================
# Output
# ==================================================================================================
def _count(value: Optional[int]) -> str:
    if value is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return str(value)


def _torchscript_line(ts: Optional[Dict[str, Any]]) -> str:
    if ts is None:
        return "not tried (--torchscript false)"
    if "vocoder" in ts:  # the whole TTS path
        acoustic = f"acoustic model: {ts['method']}" if ts["method"] else f"acoustic model: failed ({ts['error']})"
        vocoder = ts["vocoder"]
        voc = f"vocoder: {vocoder['method']}" if vocoder["method"] else f"vocoder: {vocoder['error']}"
        return f"{acoustic}; {voc} (via {ts['how']})"
    if ts["method"] is None:
        note = f" ({ts['note']})" if ts.get("note") else ""
        return f"failed: script: {ts['script_error']}; trace: {ts['trace_error']}{note}"
    text = f"{ts['method']} works (max |diff| vs eager {ts['max_abs_diff']:.2g} on {ts['checked_cases']} input(s))"
    if ts["method"] == "trace":
        text += f"; script failed: {ts['script_error']}"
        if ts["trace_warnings"]:
            text += f"; tracer warned: {ts['trace_warnings'][0]}"
    if ts.get("saved_to"):
        text += f"; saved to {ts['saved_to']}"
    return text


def format_report(report: Dict[str, Any]) -> str:
    """The report as a human-readable table."""
    model = report["model"]
    source = " + ".join(str(p) for p in (model["config"], model["model_file"]) if p is not None)
    lines = [
        f"model        {source} ({model['kind']}, {model['weights']} weights)",
        f"part         {report['part']} ({report['module']})" + (f", {report['method']}()" if report["method"] else ""),
    ]
    if report["filled_arguments"]:
        lines.append("filled       " + ", ".join(f"{k} = {v}" for k, v in report["filled_arguments"].items()))
    lines.append(
        f"device       {report['device_name']}, {report['num_threads']} thread(s); "
        f"{report['warmup']} warm-up + {report['repeats']} timed calls; torch {report['torch_version']}"
    )
    params = report["parameters"]
    lines.append(f"parameters   {params['total']:,} ({params['trainable']:,} trainable)")
    for name, counts in params["children"].items():
        lines.append(f"  {name:<24} {counts['total']:>12,}")
    lines.append(f"torchscript  {_torchscript_line(report['torchscript'])}")
    header = ("input", "median ms", "p90 ms", "peak memory", "FLOPs profiler", "FLOPs counter", "output")
    rows = [header]
    for case in report["cases"]:
        memory = case["peak_memory_bytes"]
        output = case["output"]
        out_text = (
            " ".join(str(tuple(s)) for s in output["shapes"])
            if "shapes" in output
            else ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in output.items())
        )
        if case.get("rtf") is not None:
            out_text += f", RTF {case['rtf']:.3g}"
        rows.append(
            (
                case["input"],
                f"{case['latency']['median_ms']:.3f}",
                f"{case['latency']['p90_ms']:.3f}",
                "-" if memory is None else humanfriendly.format_size(memory, binary=True),
                _count(case["flops"]["profiler"]),
                _count(case["flops"]["flop_counter"]),
                out_text,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Entry point; user mistakes end with one ``error:`` line and exit code 2. A ``--save_torchscript``
    that could not be written (neither script nor trace works) ends with one after the report, exit code 1."""
    ours, task_options = split_task_options(sys.argv[1:] if cmd is None else cmd)
    args = get_parser().parse_args(ours)
    setup_logging(args.log_level)
    with exit_on_error((ConfigError, ValueError, CheckpointError, OSError), logger):
        report = profile(args, task_options)
        if report is None:
            return
        if args.output_json is not None:
            Path(args.output_json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output_json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    torchscript = report["torchscript"]
    if args.save_torchscript is not None and torchscript is not None and torchscript["saved_to"] is None:
        print(
            f"{Path(sys.argv[0]).name}: error: --save_torchscript {args.save_torchscript}: not written, "
            "TorchScript export failed (see 'torchscript' in the report)",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
