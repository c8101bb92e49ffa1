"""Entry points end a user-fixable error with one ``<prog>: error: <message>`` line and exit code 2.

>>> with exit_on_error((ConfigError, OSError), logger):  # doctest: +SKIP
...     run(args)

The traceback is logged too when the logger is at DEBUG (``--log_level DEBUG``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Iterator, Optional, Tuple, Type


def error_message(exc: BaseException) -> str:
    """The message of ``exc`` for an ``error:`` line.

    An exception raised in a DataLoader worker is re-raised by torch as the same type with the
    worker's whole traceback in its message; only the worker's own message is kept.
    """
    text = str(exc)
    if "Original Traceback" not in text:
        return text
    for name in (f"{type(exc).__module__}.{type(exc).__qualname__}: ", f"{type(exc).__qualname__}: "):
        if name in text:
            return text.rsplit(name, 1)[1].strip()
    return text.strip().splitlines()[-1]


@contextlib.contextmanager
def exit_on_error(
    errors: Tuple[Type[BaseException], ...], logger: logging.Logger, prog: Optional[str] = None
) -> Iterator[None]:
    """Turn ``errors`` raised in the block into one ``error:`` line on stderr and ``SystemExit(2)``.

    Args:
        errors: the exception types a user can act on (others keep their traceback).
        logger: the entry point's logger; at DEBUG it also logs the traceback.
        prog: the program name of the line (default: the script's file name).
    """
    try:
        yield
    except errors as exc:
        if logger.isEnabledFor(logging.DEBUG):
            logger.exception("stopped by an error")
        print(f"{prog or Path(sys.argv[0]).name}: error: {error_message(exc)}", file=sys.stderr)
        sys.exit(2)
