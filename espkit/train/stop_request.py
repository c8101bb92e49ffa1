"""Graceful SIGINT/SIGTERM: finish the step, write a checkpoint, then exit (preemptible machines)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Dict, Optional

logger = logging.getLogger(__name__)


class StopRequest:
    """SIGINT/SIGTERM handlers that only set a flag; the loop saves and exits at a step boundary.

    A second signal while the first is pending exits at once (``SystemExit(128 + signum)``).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: Dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """``128 + signum``: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + int(self.signum or 0)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise SystemExit(128 + signum)
        self.signum = signum
        logger.warning(
            "Received %s: saving a checkpoint at the next step boundary, then exiting (send it again to exit at once)",
            signal.Signals(signum).name,
        )

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            logger.info("Not in the main thread: SIGINT/SIGTERM keep their handlers")
            return
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
