"""The worker behind ``add(..., background=True)``.

Queued adds are durable: their episodes are in the store with status ``queued`` before
``add`` returns. One daemon thread per :class:`~engramdb.Memory` drains them oldest first;
a process that dies leaves them queued, and the next ``Memory`` opened on the same store picks
them up. A batch is claimed atomically (``queued`` → ``pending``) before it is extracted, so
two workers never extract it twice; one that dies mid-extraction leaves it ``pending`` for
``Memory.reprocess(status="pending")``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from engramdb.ingest.pipeline import Ingestor
from engramdb.llm.base import Usage
from engramdb.models import Episode, Scope
from engramdb.store.base import Store

log = logging.getLogger("engramdb.queue")


def worker_id() -> str:
    """Who claims a batch: host and process id (the embedded store lives on one host)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(owner: str) -> bool:
    """Whether the process that claimed a batch still runs (unknown hosts count as alive)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BackgroundQueue:
    """Processes queued episode batches of one tenant in a background thread."""

    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        tenant: str,
        on_usage: Callable[[Usage], None],
    ) -> None:
        self._store = store
        self._ingestor = ingestor
        self._tenant = tenant
        # Counts the LLM calls of each batch, failed or not (the facade's usage and metering).
        self._on_usage = on_usage
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()

    def resume(self) -> None:
        """Requeue work of dead workers and start draining if anything is queued."""
        self._store.requeue_abandoned(self._tenant, worker_alive)
        if self._store.episodes(Scope(tenant=self._tenant), status="queued", limit=1):
            self.kick()

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
        queued = self._store.episodes(
            Scope(tenant=self._tenant), status="queued", limit=500, newest_first=False
        )
        for batch_id in dict.fromkeys(e.batch_id for e in queued):
            claimed = self._store.claim_queued(self._tenant, batch_id, worker_id())
            if claimed:
                return claimed
        return []

    def _drain(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                batch = self._next_batch()
                if not batch:
                    # Cleared under the lock: a kick() racing with this exit must start a
                    # new worker, not trust is_alive() of one that is about to end.
                    self._thread = None
                    self._idle.set()
                    return
            usage = Usage()
            try:
                self._ingestor.run(batch, usage)
            except Exception:
                # run() has marked the batch failed with the error; reprocess() can retry it.
                log.exception("background extraction failed for batch %s", batch[0].batch_id)
            finally:
                self._on_usage(usage)
        self._idle.set()
