"""Running the async providers from sync code, e.g. the ``Memory`` facade.

Every call goes to one background event loop in a daemon thread. That works whether or not
the caller's thread already runs a loop (Jupyter, a sync function called from async code),
where ``asyncio.run`` would fail; and one long-lived loop lets providers keep their
connection pools between calls. The thread starts on first use, never at import.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None
_atexit_registered = False


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread, _pid, _atexit_registered
    with _lock:
        # After fork() the child has the loop object but not the thread running it.
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="engramdb-llm-loop", daemon=True
            )
            thread.start()
            _loop, _thread, _pid = loop, thread, os.getpid()
            if not _atexit_registered:
                atexit.register(shutdown)
                _atexit_registered = True
        return _loop


def run_sync(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and wait for its result (or exception).

    ``timeout`` cancels the coroutine and raises ``TimeoutError``. Calling this from a
    coroutine that itself runs on the background loop would deadlock, so it raises
    ``RuntimeError`` instead.
    """
    loop = _background_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("run_sync() called from the engramdb LLM loop itself; await instead")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"run_sync: no result within {timeout} s") from None
    except BaseException:
        # KeyboardInterrupt while waiting: do not leave the call running in the background.
        future.cancel()
        raise


def shutdown() -> None:
    """Stop the background loop and its thread (run at exit; safe to call twice)."""
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop = _thread = None
    if loop is None or thread is None or not thread.is_alive():
        return

    async def _cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
