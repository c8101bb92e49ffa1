"""Pack a trained TTS model into one zip that ``Text2Speech.from_pretrained`` and tts_inference read.

    python -m espkit.bin.pack_model --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --outpath exp/tts/packed.zip \\
        [--vocoder_file exp/vocoder/train.total_count.best.pth]

The model of ``--train_config`` is built and ``--model_file`` loaded into it first (safely, with
``weights_only``), so a truncated file or weights of another config are refused before anything is
written; so is a ``--vocoder_file`` that does not load, is a TTS model, or was trained on other
features than the model's. The packed vocoder (with its ``config.yaml``, ``--vocoder_config``,
default: the one beside it) is the one ``Text2Speech.from_pretrained`` and tts_inference use.
See :mod:`espkit.utils.model_pack` for the archive layout.
"""

from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.model_pack import PackError, pack_model

logger = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pack config.yaml, model weights, statistics and extra files into one zip",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", required=True, help="config.yaml of the training run")
    parser.add_argument("--model_file", required=True, help="Weights to pack (e.g. valid.loss.best.pth)")
    parser.add_argument("--option", action="append", default=[], help="Extra file to pack (repeatable)")
    parser.add_argument("--outpath", required=True, help="Zip file to write")
    parser.add_argument("--vocoder_file", default=None, help="Trained vocoder weights to pack with the model")
    parser.add_argument(
        "--vocoder_config", default=None, help="The vocoder's training config.yaml (default: the one beside it)"
    )
    parser.add_argument("--log_level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Parse ``cmd`` (default: ``sys.argv[1:]``) and pack; user mistakes end with one ``error:`` line, exit 2."""
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    with exit_on_error((FileNotFoundError, PackError), logger):
        pack_model(
            args.train_config,
            args.model_file,
            args.outpath,
            option=args.option,
            vocoder_file=args.vocoder_file,
            vocoder_config=args.vocoder_config,
        )


if __name__ == "__main__":
    main()
