"""The worker behind ``add(..., background=True)``.

Queued adds are durable: their episodes are in the store with status ``queued`` before
``add`` returns. One daemon thread per :class:`~engramdb.Memory` drains them oldest first;
a process that dies leaves them queued, and the next ``Memory`` on the same store that queues
work (or calls :meth:`BackgroundQueue.kick`) picks them up.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from engramdb.models import Episode, Scope

if TYPE_CHECKING:
    from engramdb.memory import Memory

log = logging.getLogger("engramdb.queue")


class BackgroundQueue:
    """Processes queued episode batches of one tenant in a background thread."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()

    def kick(self) -> None:
        """Make sure a worker is draining the queue."""
        with self._lock:
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._drain, name="engramdb-queue", daemon=True
                )
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty; False if ``timeout`` passed first."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        """Ask the worker to stop after its current batch and wait briefly for it."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    def _next_batch(self) -> list[Episode]:
        m = self._memory
        queued = m.store.episodes(
            Scope(tenant=m.tenant), status="queued", limit=500, newest_first=False
        )
        if not queued:
            return []
        first = queued[0].batch_id
        return [e for e in queued if e.batch_id == first]

    def _drain(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                batch = self._next_batch()
                if not batch:
                    self._idle.set()
                    return
            try:
                outcome = self._memory.ingestor.run(batch)
                self._memory._count(outcome.usage)
            except Exception:
                # run() has marked the batch failed with the error; reprocess() can retry it.
                log.exception("background extraction failed for batch %s", batch[0].batch_id)
        self._idle.set()
