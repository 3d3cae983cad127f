"""A real HTTP server on 127.0.0.1 that speaks the OpenAI ``/v1/chat/completions`` and
Anthropic ``/v1/messages`` protocols and answers from a script.

Replies come from a queue (:meth:`ScriptedLLM.push`) and, when that is empty, from
``script(request) -> Reply | str``. A :class:`Reply` can be text, an HTTP status with
headers (429 + Retry-After), a raw body (an HTML error page) or a delay (to trigger client
timeouts). Every request is recorded, so tests can assert on exact bodies and headers.

    with ScriptedLLM() as server:
        server.push('{"name": "Oslo"}')
        llm = OpenAILLM(LLMSettings(model="m", base_url=server.openai_url))
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    """One scripted answer. ``text`` is the assistant text; for an Anthropic request with a
    forced tool, text that is a JSON object becomes the tool's input (``tool_input`` sets it
    directly). ``body`` replaces the whole response body (str, bytes or a JSON value)."""

    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str | None = None
    tool_input: dict[str, Any] | None = None


@dataclass
class RecordedRequest:
    """A request as the server saw it. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival

    @property
    def protocol(self) -> str:
        """ "anthropic" for /messages, "openai" for /chat/completions, else "unknown"."""
        if self.path.endswith("/messages"):
            return "anthropic"
        return "openai" if self.path.endswith("/chat/completions") else "unknown"

    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` list of the body ([] when absent)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []


Script = Callable[[RecordedRequest], "Reply | str"]


def _openai_body(req: RecordedRequest, reply: Reply) -> dict[str, Any]:
    model = req.body.get("model", "scripted") if isinstance(req.body, dict) else "scripted"
    return {
        "id": f"chatcmpl-scripted-{int(req.at * 1e6)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _anthropic_body(req: RecordedRequest, reply: Reply) -> dict[str, Any]:
    body = req.body if isinstance(req.body, dict) else {}
    forced = (body.get("tool_choice") or {}).get("name")
    tool_input = reply.tool_input
    if forced and tool_input is None:
        try:
            decoded = json.loads(reply.text)
        except ValueError:
            decoded = None
        tool_input = decoded if isinstance(decoded, dict) else None
    if forced and tool_input is not None:
        content: list[dict[str, Any]] = [
            {"type": "tool_use", "id": "toolu_scripted", "name": forced, "input": tool_input}
        ]
        stop = "tool_use"
    else:
        # A reply that is not a JSON object comes back as text, as from a model that
        # ignored the tool: that is how malformed replies reach the parser.
        content = [{"type": "text", "text": reply.text}]
        stop = "end_turn"
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "scripted"),
        "content": content,
        "stop_reason": reply.finish_reason or stop,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens},
    }


class ScriptedLLM:
    """The server. Start with ``with ScriptedLLM() as server:`` or :meth:`start`/:meth:`stop`."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply | str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------

    def push(self, *replies: Reply | str) -> None:
        """Queue replies, answered in order before ``script`` is consulted."""
        with self._lock:
            self._queue.extend(replies)

    def _next(self, req: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
            queued = self._queue.popleft() if self._queue else None
        if queued is None and self.script is not None:
            queued = self.script(req)
        if queued is None:
            return Reply(status=500, body={"error": {"message": "scripted server: no reply"}})
        return Reply(text=queued) if isinstance(queued, str) else queued

    # -- addresses ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("ScriptedLLM is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        """The base_url for an OpenAI-compatible client (ends in ``/v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        """The base_url for the Anthropic client (it adds ``/v1/messages``)."""
        return self.url

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ScriptedLLM:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed replies still pending are abandoned at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(owner: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread outlives its test
        # waiting on a kept-alive socket.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            split = urlsplit(self.path)
            req = RecordedRequest(
                method="POST",
                path=split.path,
                query=dict(parse_qsl(split.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            if req.protocol == "unknown":
                self._send(404, {"error": {"message": f"no route {split.path}"}}, {})
                return
            reply = owner._next(req)
            if reply.delay_s and owner._stopping.wait(reply.delay_s):
                return
            if reply.body is not None:
                payload = reply.body
            elif reply.status != 200:
                payload = {"error": {"message": reply.text or "scripted error"}}
            elif req.protocol == "anthropic":
                payload = _anthropic_body(req, reply)
            else:
                payload = _openai_body(req, reply)
            self._send(reply.status, payload, reply.headers)

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            if isinstance(payload, bytes):
                data, ctype = payload, "application/octet-stream"
            elif isinstance(payload, str):
                data = payload.encode()
                ctype = "text/html" if payload.lstrip().startswith("<") else "text/plain"
            else:
                data, ctype = json.dumps(payload).encode(), "application/json"
            try:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to tell it

    return Handler
