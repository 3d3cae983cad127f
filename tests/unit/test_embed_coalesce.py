"""Concurrent single-text embeddings are batched together and still give each caller its own
vector, the same as embedding it alone."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engramdb.embed.local import LocalEmbedder
from engramdb.errors import EmbedderError


def test_concurrent_queries_get_their_own_vectors(embedder: LocalEmbedder) -> None:
    texts = [f"question {i}: where did my sister travel in {1990 + i}?" for i in range(48)]
    alone = embedder.embed(texts)  # one batch call, no coalescing involved
    got: dict[str, np.ndarray] = {}
    lock = threading.Lock()

    def ask(chunk: list[str]) -> None:
        for text in chunk:
            vec = LocalEmbedder.embed(embedder, [text])[0]
            with lock:
                got[text] = vec

    embedder._cache.clear()
    threads = [threading.Thread(target=ask, args=(texts[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(got) == set(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(got[text], alone[i], atol=1e-5)


def test_a_failing_batch_raises_in_every_waiting_caller(tmp_path: object) -> None:
    broken = LocalEmbedder(
        model_path="/nonexistent/model.onnx", tokenizer_path="/nonexistent/t.json"
    )
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            broken.embed([f"text {i}"])
        except EmbedderError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(errors) == 4
    with pytest.raises(EmbedderError, match="missing"):
        broken.embed(["again"])
