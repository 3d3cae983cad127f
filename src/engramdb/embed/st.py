"""sentence-transformers models from a local path or name (optional extra ``engramdb[st]``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engramdb.embed.base import Vectors, normalize
from engramdb.errors import EmbedderError


class SentenceTransformersEmbedder:
    """Wraps ``sentence_transformers.SentenceTransformer`` (needs torch)."""

    def __init__(self, model: str, *, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the sentence-transformers embedder needs: pip install 'engramdb[st]'"
            ) from exc
        self._model: Any = SentenceTransformer(model, device=device)
        self.dims = int(self._model.get_sentence_embedding_dimension())
        self.name = f"sentence-transformers:{model}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` with the model's own batching."""
        out = self._model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
        return normalize(np.asarray(out, dtype=np.float32).reshape(len(texts), self.dims))
