"""Sum the statistics of split ``--collect_stats`` jobs into one directory.

    python -m espkit.bin.aggregate_stats_dirs --input_dir exp/stats/stats.1 \\
        --input_dir exp/stats/stats.2 --output_dir exp/stats

Each input holds ``{train,valid}/*_stats.npz`` and ``*_shape`` files; the output gets the summed
``count/sum/sum_square`` and the concatenated shape files (see ``espkit.train.collect_stats``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from espkit.train.collect_stats import aggregate_stats
from espkit.utils.cli_errors import exit_on_error
from espkit.utils.cli_logging import setup_logging

logger = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_dir", type=Path, action="append", required=True, help="A job's stats dir (repeatable)")
    parser.add_argument("--output_dir", type=Path, required=True, help="Where the summed statistics go")
    parser.add_argument("--log_level", default="INFO")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    missing = [str(d) for d in args.input_dir if not d.is_dir()]
    if missing:
        print(f"aggregate_stats_dirs: error: --input_dir not found: {', '.join(missing)}", file=sys.stderr)
        sys.exit(2)

    with exit_on_error((FileNotFoundError, ValueError), logger, prog="aggregate_stats_dirs"):
        aggregate_stats(args.input_dir, args.output_dir)


if __name__ == "__main__":
    main()
