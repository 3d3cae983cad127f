"""Access counts without write latency on reads.

Search and get only note which memories they returned, in memory; a background thread writes
the accumulated counts every ``interval`` seconds in one store transaction per tenant, and
:meth:`AccessLog.close` writes what is left. Counts are best-effort: a process that dies
(or is killed) before the next flush loses the touches noted since the last one, and a flush
that fails (store closed or locked for too long) drops its batch rather than slow reads down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from engramdb.store.base import Store
from engramdb.timeutil import iso, utcnow


class AccessLog:
    """Counts touches per (tenant, memory id) and flushes them in the background.

    >>> log = AccessLog(store)              # doctest: +SKIP
    >>> log.touch("default", ["a1", "b2"])  # no I/O here
    >>> log.flush()                         # one transaction: access_count += 1 for each
    """

    def __init__(self, store: Store, *, interval: float = 2.0) -> None:
        self.store = store
        self.interval = interval
        self._pending: dict[str, dict[str, tuple[int, str]]] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self, tenant: str, memory_ids: Iterable[str]) -> None:
        """Note that these memories were just returned to a caller (no I/O)."""
        at = iso(utcnow())
        with self._lock:
            if self._stop.is_set():
                return
            counts = self._pending.setdefault(tenant, {})
            for memory_id in memory_ids:
                n, _ = counts.get(memory_id, (0, at))
                counts[memory_id] = (n + 1, at)
            if self._thread is None and counts:
                self._thread = threading.Thread(
                    target=self._run, name="engramdb-access", daemon=True
                )
                self._thread.start()

    def flush(self) -> int:
        """Write the noted touches now; how many memories they were sent for."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            done = 0
            for tenant, touches in pending.items():
                try:
                    self.store.record_access(tenant, touches)
                    done += len(touches)
                except Exception:
                    # Best-effort by design (see module docstring): a database error of any
                    # driver drops this batch; reads never wait on it.
                    continue
            return done

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Stop the background thread and write what is left. Safe to call twice."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join()
        self.flush()
