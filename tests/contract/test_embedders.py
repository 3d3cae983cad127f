"""Every embedder that can run here satisfies the same contract: one unit-length float32 row
per text, in order, with the declared size. The OpenAI-compatible one talks to a real HTTP
server on 127.0.0.1 that answers like OpenAI's /v1/embeddings."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np
import pytest

from engramdb import Memory
from engramdb.embed.base import Embedder
from engramdb.embed.local import LocalEmbedder
from engramdb.embed.openai import OpenAIEmbedder
from engramdb.errors import EmbedderError

DIMS = 16


def _fake_vector(text: str) -> list[float]:
    # Deterministic, and equal texts give equal vectors, like a real model.
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:DIMS]]


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Handler.calls.append(
            {"path": self.path, "auth": self.headers.get("authorization"), **body}
        )
        if _Handler.fail or self.path != "/v1/embeddings":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        data = [
            {"object": "embedding", "index": i, "embedding": _fake_vector(t)}
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # the API may answer out of order: the index decides
        payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["local", "openai"])
def any_embedder(
    request: pytest.FixtureRequest, embedder: LocalEmbedder, endpoint: str
) -> Embedder:
    if request.param == "local":
        return embedder
    return OpenAIEmbedder(model="test-embed", base_url=endpoint, api_key="sk-test")


def test_contract(any_embedder: Embedder) -> None:
    texts = ["I live in Lisbon", "Where do I live?", "I live in Lisbon", "🙂 unicode ü"]
    out = any_embedder.embed(texts)
    assert out.dtype == np.float32
    assert out.shape == (len(texts), any_embedder.dims)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[2], atol=1e-6)
    assert not np.allclose(out[0], out[1])
    assert any_embedder.embed([]).shape[0] == 0


def test_openai_embedder_sends_model_and_key_and_batches(endpoint: str) -> None:
    _Handler.calls.clear()
    emb = OpenAIEmbedder(model="test-embed", base_url=endpoint, api_key="sk-test", dims=DIMS)
    out = emb.embed([f"text {i}" for i in range(300)])
    assert out.shape == (300, DIMS)
    assert [len(c["input"]) for c in _Handler.calls] == [256, 44]
    assert all(c["model"] == "test-embed" and c["auth"] == "Bearer sk-test" for c in _Handler.calls)


def test_openai_embedder_errors_name_the_endpoint(endpoint: str) -> None:
    emb = OpenAIEmbedder(model="m", base_url=endpoint, dims=DIMS)
    _Handler.fail = True
    try:
        with pytest.raises(EmbedderError, match="answered 500"):
            emb.embed(["x"])
    finally:
        _Handler.fail = False
    down = OpenAIEmbedder(model="m", base_url="http://127.0.0.1:9/v1", dims=DIMS, timeout_s=2)
    with pytest.raises(EmbedderError, match=r"127\.0\.0\.1:9"):
        down.embed(["x"])


def test_memory_runs_on_the_openai_embedder(tmp_path: Any, endpoint: str) -> None:
    cfg = {
        "embedder": {
            "provider": "openai",
            "model": "test-embed",
            "base_url": endpoint,
            "api_key": "k",
        }
    }
    with Memory(path=tmp_path, config=cfg) as m:
        assert m.embedder.dims == DIMS
        m.add(["I live in Lisbon", "I have a dog"], user_id="u", infer=False)
        hits = m.search("I live in Lisbon", user_id="u")["results"]
        assert hits[0]["memory"] == "I live in Lisbon"
        assert hits[0]["similarity"] == pytest.approx(1.0, abs=1e-5)
