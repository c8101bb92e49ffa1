"""Workers that synthesise, and the bound on the requests they are given.

``num_workers`` 1 synthesises in one thread of the server process, with the models the server
loaded; more spawn that many processes, each loading every model (``Text2Speech`` draws from
torch's process-wide RNG, so two threads of one process could not each keep their seed).

A request holds one slot from its admission until the worker has finished its last sentence, also
when the client went away or its time ran out (the work cannot be taken back from a worker). At
most ``num_workers + max_queue`` requests hold slots; the next one is refused (:class:`QueueFull`,
HTTP 503) rather than queued without end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import threading
from typing import Any, Dict, Optional, Sequence

from espkit.server import synthesis
from espkit.server.synthesis import ModelSpec, SentenceJob
from espkit.tts.text2speech import Text2Speech

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """Every slot is taken: ``num_workers`` requests running and ``max_queue`` waiting."""


class SynthesisTimeout(Exception):
    """A request ran past its time limit."""


class Slot:
    """One admitted request's hold on the pool; :meth:`release_after` frees it once the request's
    last job is done."""

    def __init__(self, pool: "SynthesisPool"):
        self._pool = pool
        self._released = False
        self._last: Optional[concurrent.futures.Future] = None

    def track(self, future: concurrent.futures.Future) -> None:
        """Remember ``future`` as the request's latest job."""
        self._last = future

    def release(self) -> None:
        """Free the slot once the latest job is done (at once if there is none running)."""
        if self._released:
            return
        self._released = True
        if self._last is None or self._last.done():
            self._pool._release()
        else:
            self._last.add_done_callback(lambda _: self._pool._release())


class SynthesisPool:
    """Synthesis workers behind a bounded admission.

    Args:
        models: the server's loaded models (used by the thread worker; the processes load ``specs``).
        specs: how to load them again in worker processes.
        num_workers: 1: one thread in this process; N > 1: N processes.
        max_queue: admitted requests that may wait for a worker.
        num_threads: torch threads of each worker process.
    """

    def __init__(
        self,
        models: Dict[str, Text2Speech],
        specs: Sequence[ModelSpec],
        num_workers: int = 1,
        max_queue: int = 4,
        num_threads: int = 1,
    ):
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {max_queue}")
        self.num_workers = num_workers
        self.max_queue = max_queue
        self.capacity = num_workers + max_queue
        self._held = 0
        self._lock = threading.Lock()
        self._executor: concurrent.futures.Executor
        if num_workers == 1:
            synthesis.use_models(models)
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="synthesis")
        else:
            self._executor = concurrent.futures.ProcessPoolExecutor(
                num_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=synthesis.load_models,
                initargs=(list(specs), num_threads),
            )

    def start(self) -> None:
        """Start every worker and wait until each holds its models."""
        futures = [self._executor.submit(synthesis.ping) for _ in range(self.num_workers)]
        counts = [future.result() for future in futures]
        logger.info("%d synthesis worker(s) ready, %d model(s) each", self.num_workers, counts[0])

    def close(self) -> None:
        """Stop the workers (running jobs are finished first)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    @property
    def held(self) -> int:
        """Requests admitted and not yet finished."""
        return self._held

    def acquire(self) -> Slot:
        """A slot for a new request; :class:`QueueFull` when all ``capacity`` are held."""
        with self._lock:
            if self._held >= self.capacity:
                raise QueueFull(
                    f"the server is busy: {self._held} requests running or queued (num_workers {self.num_workers} "
                    f"+ max_queue {self.max_queue}); retry later"
                )
            self._held += 1
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._held -= 1

    async def run(self, slot: Slot, job: SentenceJob, deadline: float) -> Dict[str, Any]:
        """Synthesise ``job`` on a worker (:func:`synthesis.synthesize_sentence`) for the request
        holding ``slot``; :class:`SynthesisTimeout` past the loop time ``deadline``."""
        future = self._executor.submit(synthesis.synthesize_sentence, job)
        slot.track(future)
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), max(remaining, 0.0))
        except asyncio.TimeoutError:
            raise SynthesisTimeout() from None
