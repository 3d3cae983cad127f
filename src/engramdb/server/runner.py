"""Run the app with uvicorn: in the foreground (``engramdb serve``) or in a thread (tests, bench).

Example::

    with ServerThread(create_app(memory, ServerSettings(admin_key="k"))) as server:
        httpx.get(server.url + "/health")
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI


def _config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="auto",
        ws="none",
        access_log=False,
        timeout_keep_alive=30,
    )


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted."""
    uvicorn.Server(_config(app, host, port, log_level)).run()


class ServerThread:
    """``app`` served by uvicorn on 127.0.0.1 in a background thread, on a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", log_level: str = "warning") -> None:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto is TCP;
        # without it every request pays a ~40 ms Nagle / delayed-ACK stall.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(app, host, self.port, log_level))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> ServerThread:
        """Start and wait until the server accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask the server to finish and wait for it."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
