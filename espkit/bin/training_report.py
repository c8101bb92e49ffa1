"""A training run as pictures: ``report.html`` with PNG plots of its epochs.

    python -m espkit.bin.training_report exp/tts_train              # -> exp/tts_train/report/report.html
    python -m espkit.bin.training_report exp/vocoder_nsf --output_dir /tmp/vocoder_report

Shows the loss and every loss term per epoch (train and valid), the best epochs and the n-best
average, learning rate, gradient norm, skipped steps, step time and throughput, attention maps
over the epochs (attention models) and the evaluation metrics (``eval*/results.json``). Works on
a finished run, a running one and a killed one; runs made before ``history.jsonl`` existed are
read from their ``checkpoint.pth``. Needs matplotlib (``pip install 'espkit[plot]'``).
See docs/training_report.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

from espkit.fileio.read_text import DataFormatError
from espkit.train.training_report import write_training_report
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="The training run (the --output_dir of tts_train / gan_tts_train)")
    parser.add_argument("--output_dir", type=Path, default=None, help="Where the report goes (default: RUN_DIR/report)")
    parser.add_argument(
        "--attention_epochs", type=int, default=6, help="About how many epochs the attention strip shows"
    )
    parser.add_argument("--log_level", default="INFO")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    if args.attention_epochs < 1:
        get_parser().error(f"--attention_epochs must be >= 1, got {args.attention_epochs}")
    errors = (ImportError, FileNotFoundError, ConfigError, DataFormatError)
    with exit_on_error(errors, logger, prog="training_report"):
        path = write_training_report(args.run_dir, args.output_dir, attention_epochs=args.attention_epochs)
    print(path)


if __name__ == "__main__":
    main()
