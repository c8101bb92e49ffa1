"""The synthesis server: a web page to type text and hear a model, and an HTTP API.

    python -m espkit.bin.tts_server \\
        --model_file egs/espeak_emo/tts1/exp/tts_train/packed/tts_train_valid.loss.best_vocoder_nsf.zip \\
        [--model_file fs2=exp/tts_fastspeech2/packed/model.zip] [--vocoder_file [NAME=]vocoder.pth] \\
        [--host 127.0.0.1] [--port 8080] [--num_workers 1] [--max_queue 4] [--timeout_s 60]

Open http://127.0.0.1:8080/ for the page; the API is described in README.md ("Synthesis server") and
at ``/api/openapi.json``. Each ``--model_file`` is a packed zip (``espkit.bin.pack_model``), named
``NAME=path`` or after the zip's file name. It binds to 127.0.0.1 unless ``--host`` says otherwise.
Needs the ``server`` extra (``pip install espkit[server]``; tools/install.sh installs it).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging

logger = logging.getLogger(__name__)


def named_paths(values: Sequence[str], option: str) -> Dict[str, str]:
    """``NAME=path`` or ``path`` (named after the file's stem) values of a repeated ``option``;
    ValueError for a name given twice or an empty name or path."""
    named: Dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            name, path = Path(value).stem, value
        if not name or not path:
            raise ValueError(f"{option} {value!r}: give PATH or NAME=PATH")
        if name in named:
            raise ValueError(f"{option}: the name {name!r} is given twice; name them NAME=PATH")
        named[name] = path
    return named


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Serve packed TTS models: a web page at / and an HTTP API under /api",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model_file", action="append", required=True, help="Packed model zip, [NAME=]PATH (repeatable)"
    )
    parser.add_argument(
        "--vocoder_file",
        action="append",
        default=[],
        help="Trained vocoder weights, [NAME=]PATH: for the model NAME, or without a name for every model",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="Port (0: any free port, logged)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--num_workers", type=int, default=1, help="Concurrent syntheses (1: a thread; N > 1: N processes)"
    )
    parser.add_argument("--num_threads", type=int, default=1, help="Torch threads of each worker")
    parser.add_argument("--max_queue", type=int, default=4, help="Requests that may wait for a worker (503 past it)")
    parser.add_argument("--timeout_s", type=float, default=60.0, help="Time limit of one request's synthesis")
    parser.add_argument("--max_text_chars", type=int, default=2000, help="Longest text of one request")
    parser.add_argument("--max_upload_bytes", type=int, default=4 * 1024 * 1024, help="Largest reference upload")
    parser.add_argument("--max_reference_s", type=float, default=30.0, help="Longest reference upload in seconds")
    parser.add_argument("--seed", type=int, default=777, help="Seed of a request that gives none")
    parser.add_argument("--threshold", type=float, default=0.5, help="Tacotron2: stop threshold")
    parser.add_argument("--minlenratio", type=float, default=0.0, help="Tacotron2: minimum frames per token")
    parser.add_argument("--maxlenratio", type=float, default=10.0, help="Tacotron2: maximum frames per token")
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def build_server(args: argparse.Namespace):
    """The :class:`~espkit.server.app.TTSServer` of parsed ``args`` (models loaded)."""
    from espkit.server.api_request import Limits
    from espkit.server.app import TTSServer
    from espkit.server.synthesis import ModelSpec, load_model

    models = named_paths(args.model_file, "--model_file")
    vocoders = {}
    for value in args.vocoder_file:
        name, sep, path = value.partition("=")
        if sep and name not in models:
            raise ValueError(f"--vocoder_file {value!r}: no model named {name!r}; models: {', '.join(models)}")
        for model in [name] if sep else list(models):
            vocoders[model] = path if sep else value
    for name, path in models.items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"--model_file {name}={path}: no such file")
    decode = {"threshold": args.threshold, "minlenratio": args.minlenratio, "maxlenratio": args.maxlenratio}
    specs: List[ModelSpec] = [
        ModelSpec(name, path, vocoders.get(name), args.device, decode) for name, path in models.items()
    ]
    loaded = {spec.name: load_model(spec) for spec in specs}
    limits = Limits(
        max_text_chars=args.max_text_chars,
        max_upload_bytes=args.max_upload_bytes,
        max_reference_s=args.max_reference_s,
        timeout_s=args.timeout_s,
    )
    return TTSServer(loaded, specs, args.num_workers, args.max_queue, limits, args.seed, args.num_threads)


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Parse ``cmd`` (default: ``sys.argv[1:]``), load the models and serve until interrupted."""
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    with exit_on_error((FileNotFoundError, ValueError, ImportError), logger):
        try:
            import uvicorn

            from espkit.server.app import create_app
        except ImportError as e:
            raise ImportError(f"{e}: the server needs the 'server' extra: pip install 'espkit[server]'") from None
        import torch

        torch.set_num_threads(args.num_threads)
        server = build_server(args)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "binding to %s: the server is reachable from other machines (it has no authentication)", args.host
        )
    logger.info("serving %s on http://%s:%d/", ", ".join(server.models), args.host, args.port)
    uvicorn.run(create_app(server), host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
