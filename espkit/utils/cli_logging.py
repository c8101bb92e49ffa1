"""The logging of the command-line entry points (``espkit/bin``): one format, the level of ``--log_level``.

>>> setup_logging(args.log_level)  # doctest: +SKIP
"""

from __future__ import annotations

import logging

#: every entry point's log line: ``<time> (<module>:<line>) <LEVEL>: <message>``
LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def setup_logging(level: str) -> None:
    """Log at ``level`` (a level name, any case: ``info`` is ``INFO``) with :data:`LOG_FORMAT`."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
