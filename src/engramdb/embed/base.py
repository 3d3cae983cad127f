"""The embedder Protocol. A provider is one class with ``dims``, ``name`` and ``embed``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into an ``(n, dims)`` float32 array of L2-normalised rows.

    Example::

        class Constant:
            dims = 3
            name = "constant"

            def embed(self, texts):
                return np.tile(np.array([1, 0, 0], np.float32), (len(texts), 1))
    """

    @property
    def dims(self) -> int:
        """Length of each vector."""
        ...

    @property
    def name(self) -> str:
        """Provider and model, e.g. ``"local:all-MiniLM-L6-v2-int8"``."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in order; the result has one row per text."""
        ...


def normalize(vectors: npt.NDArray[np.floating]) -> Vectors:
    """L2-normalise rows (zero rows stay zero) and return float32."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)
