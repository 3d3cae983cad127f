"""16 connections add and search one Postgres store at once: every add succeeds and is stored,
and each writer finds what it wrote."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.store.postgres.devserver import fresh_schema

WRITERS = 16
ADDS = 12


def test_sixteen_connections_add_and_search_concurrently(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    store = {"provider": "postgres", "dsn": fresh_schema(f"conc-{tmp_path}")}
    Memory(path=tmp_path, config={"store": store}, embedder=embedder).close()  # migrate once
    acked: list[tuple[str, str, str]] = []
    errors: list[BaseException] = []
    misses: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        try:
            # Each writer has its own Memory, so its own connection pool, like its own process.
            with Memory(path=tmp_path, config={"store": store}, embedder=embedder) as m:
                start.wait(timeout=60)
                for i in range(ADDS):
                    user = "shared" if i % 2 else f"own{w}"
                    text = f"writer {w} note {i} code{uuid.uuid4().hex[:12]}"
                    mid = m.add(text, user_id=user, infer=False)["results"][0]["id"]
                    with lock:
                        acked.append((mid, text, user))
                    if i % 3 == 2:
                        top = m.search(text, user_id=user, limit=1)["results"]
                        if not top or top[0]["id"] != mid:
                            with lock:
                                misses.append(text)
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    assert not misses, misses
    assert len(acked) == WRITERS * ADDS
    with Memory(path=tmp_path, config={"store": store}, embedder=embedder) as m:
        assert m.stats()["memories"] == len(acked)
        for mid, text, user in acked:
            got = m.get(mid)
            assert got is not None and got["memory"] == text and got["user_id"] == user
