"""Any OpenAI-compatible ``/embeddings`` endpoint: OpenAI, Ollama, vLLM, TEI, LM Studio."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from engramdb.embed.base import Vectors, normalize
from engramdb.errors import EmbedderError

_BATCH = 256


class OpenAIEmbedder:
    """Calls ``POST {base_url}/embeddings``; vectors are L2-normalised here.

    Example (Ollama)::

        OpenAIEmbedder(model="nomic-embed-text", base_url="http://localhost:11434/v1", dims=768)

    ``dims`` is asked of the endpoint with one probe call when not given.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None = None,
        dims: int | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.model = model
        self.name = f"openai:{model}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )
        self._dims = dims

    @property
    def dims(self) -> int:
        """Vector size (probed once from the endpoint when not configured)."""
        if self._dims is None:
            self._dims = int(self.embed(["dimension probe"]).shape[1])
        return self._dims

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed in batches of 256, preserving order."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), _BATCH):
            chunk = list(texts[start : start + _BATCH])
            try:
                resp = self._client.post("/embeddings", json={"model": self.model, "input": chunk})
            except httpx.HTTPError as exc:
                raise EmbedderError(f"embedding endpoint {self._client.base_url}: {exc}") from exc
            if resp.status_code != 200:
                raise EmbedderError(
                    f"embedding endpoint {self._client.base_url} answered {resp.status_code}: "
                    f"{resp.text[:300]}"
                )
            try:
                data = sorted(resp.json()["data"], key=lambda d: d["index"])
                rows.extend(d["embedding"] for d in data)
            except (ValueError, KeyError, TypeError) as exc:
                raise EmbedderError(
                    f"embedding endpoint {self._client.base_url} sent an unexpected reply: "
                    f"{resp.text[:300]}"
                ) from exc
        if len(rows) != len(texts):
            raise EmbedderError(f"asked for {len(texts)} embeddings, received {len(rows)}")
        if not rows:
            return np.zeros((0, self._dims or 0), np.float32)
        return normalize(np.asarray(rows, dtype=np.float32))
