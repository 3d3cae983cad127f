"""An acknowledged add survives kill -9; a failed write leaves the store as it was."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engramdb import Memory, StoreError
from engramdb.embed.local import LocalEmbedder

ROUNDS = 5

CHILD = textwrap.dedent(
    """
    import json, sys, uuid
    from engramdb import Memory

    home, tag, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = sys.argv[4] if len(sys.argv) > 4 else None  # a store config file (Postgres)
    m = Memory(path=home, config=config)
    print(json.dumps({"op": "ready"}), flush=True)
    i = 0
    while True:
        texts = [f"{tag} item {i + j} code{uuid.uuid4().hex[:16]}" for j in range(batch)]
        out = m.add(texts, user_id="alice", infer=False, metadata={"batch": f"{tag}-{i}"})
        ids = [r["id"] for r in out["results"]]
        print(json.dumps({"op": "ack", "batch": f"{tag}-{i}", "ids": ids, "texts": texts}),
              flush=True)
        i += batch
    """
)


def _lines(proc: subprocess.Popen[str], sink: list[str]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.append(line)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def _kill_rounds(
    tmp_path: Path,
    home: Path,
    *,
    rounds: int,
    batch: int,
    rng: random.Random,
    config: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the child ``rounds`` times, SIGKILL it at a random moment; return its acks."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    acks: list[dict[str, Any]] = []
    for r in range(rounds):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(home),
                f"r{r}",
                str(batch),
                *([str(config)] if config else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        reader = _lines(proc, lines)
        try:
            deadline = time.monotonic() + 60
            while not lines and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)
            assert lines and json.loads(lines[0])["op"] == "ready", (
                proc.stderr.read() if proc.stderr else ""
            )
            time.sleep(rng.uniform(0.05, 1.2))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            reader.join(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for f in (proc.stdout, proc.stderr):
                if f is not None:
                    f.close()
        assert proc.returncode == -signal.SIGKILL
        for line in lines[1:]:
            if not line.endswith("\n"):
                continue  # killed mid-line: not acknowledged
            acks.append(json.loads(line))
    return acks


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_acknowledged_adds_survive_kill_9(tmp_path: Path, embedder: LocalEmbedder) -> None:
    home = tmp_path / "data"
    acks = _kill_rounds(tmp_path, home, rounds=ROUNDS, batch=1, rng=random.Random(1234))
    assert len(acks) >= ROUNDS, "the child should acknowledge some adds before being killed"
    assert _integrity(home / "memories.db") == "ok"
    with Memory(path=home, embedder=embedder) as m:
        stored = m.stats()["memories"]
        # At most one add per round may have committed without being acknowledged.
        assert len(acks) <= stored <= len(acks) + ROUNDS
        for ack in acks:
            [mid], [text] = ack["ids"], ack["texts"]
            got = m.get(mid)
            assert got is not None, f"acknowledged {mid} lost"
            assert got["memory"] == text
            assert [h["event"] for h in m.history(mid)] == ["ADD"]
            top = m.search(text, user_id="alice", limit=3)["results"]
            assert top and top[0]["id"] == mid, (text, top[:1])
        # The store still takes writes after the crashes.
        m.add("after the crashes", user_id="alice", infer=False)
        assert m.stats()["memories"] == stored + 1


@pytest.mark.slow
def test_acknowledged_adds_survive_kill_9_on_postgres(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    from engramdb.store.postgres.devserver import fresh_schema

    store = {"provider": "postgres", "dsn": fresh_schema(f"kill9-{tmp_path}")}
    config = tmp_path / "pg.json"
    config.write_text(json.dumps({"store": store}))
    home = tmp_path / "data"
    acks = _kill_rounds(tmp_path, home, rounds=3, batch=5, rng=random.Random(77), config=config)
    assert len(acks) >= 3, "the child should acknowledge some adds before being killed"
    with Memory(path=home, config={"store": store}, embedder=embedder) as m:
        rows = m.get_all(user_id="alice", limit=10_000)["results"]
        by_batch: dict[str, int] = {}
        for r in rows:
            by_batch[r["metadata"]["batch"]] = by_batch.get(r["metadata"]["batch"], 0) + 1
        assert set(by_batch.values()) <= {5}, by_batch  # no half-written batch
        for ack in acks:
            assert by_batch.get(ack["batch"]) == 5
            for mid, text in zip(ack["ids"], ack["texts"], strict=True):
                got = m.get(mid)
                assert got is not None and got["memory"] == text, f"acknowledged {mid} lost"
        last = acks[-1]["texts"][0]
        top = m.search(last, user_id="alice", limit=3)["results"]
        assert top and top[0]["memory"] == last
        m.add("after the crashes", user_id="alice", infer=False)


@pytest.mark.slow
def test_batch_add_is_all_or_nothing_under_kill_9(tmp_path: Path, embedder: LocalEmbedder) -> None:
    home = tmp_path / "data"
    batch = 40
    acks = _kill_rounds(tmp_path, home, rounds=3, batch=batch, rng=random.Random(99))
    assert _integrity(home / "memories.db") == "ok"
    with Memory(path=home, embedder=embedder) as m:
        rows = m.get_all(user_id="alice", limit=10_000)["results"]
        by_batch: dict[str, int] = {}
        for r in rows:
            by_batch[r["metadata"]["batch"]] = by_batch.get(r["metadata"]["batch"], 0) + 1
        assert set(by_batch.values()) <= {batch}, by_batch
        for ack in acks:
            assert by_batch.get(ack["batch"]) == batch
            for mid in ack["ids"][:: batch // 4]:
                assert m.get(mid) is not None


# -- failing writes leave nothing behind --------------------------------------------------------


class FailingEmbedder:
    """Wraps the real embedder; misbehaves on texts containing ``trigger``."""

    def __init__(self, inner: LocalEmbedder, trigger: str, mode: str) -> None:
        self.inner = inner
        self.dims = inner.dims
        self.name = "failing"
        self.trigger = trigger
        self.mode = mode

    def embed(self, texts: Sequence[str]) -> Any:
        vectors = self.inner.embed(texts)
        bad = [i for i, t in enumerate(texts) if self.trigger in t]
        if not bad:
            return vectors
        if self.mode == "raise":
            raise RuntimeError("embedding endpoint went away")
        # "shape": a wrong-sized vector in the middle of the batch, so the store fails after
        # it has already inserted the rows before it, inside the transaction.
        rows: list[Any] = list(vectors)
        rows[bad[0]] = np.zeros(self.dims - 1, np.float32)
        return rows


def _state(m: Memory, ids: list[str]) -> dict[str, Any]:
    return {
        "stats": m.stats(),
        "alice": m.get_all(user_id="alice", limit=10_000)["results"],
        "history": [m.history(i) for i in ids],
    }


@pytest.mark.parametrize("mode", ["raise", "shape"])
def test_failing_embedder_leaves_store_unchanged(
    tmp_path: Path, embedder: LocalEmbedder, mode: str
) -> None:
    m = Memory(path=tmp_path, embedder=FailingEmbedder(embedder, "POISON", mode))  # type: ignore[arg-type]
    try:
        ids = [r["id"] for r in m.add(["one", "two"], user_id="alice", infer=False)["results"]]
        m.search("one", user_id="alice")  # warm the cache
        before = _state(m, ids)
        error = RuntimeError if mode == "raise" else StoreError
        messages = ["fine a", "fine b", "POISON here", "fine c"]
        with pytest.raises(error):
            m.add(messages, user_id="alice", infer=False)
        with pytest.raises(error):
            m.update(ids[0], text="now POISON")
        assert _state(m, ids) == before
        assert {r["memory"] for r in m.search("fine", user_id="alice", limit=50)["results"]} == {
            "one",
            "two",
        }
        # And the store still works afterwards.
        m.add("fine d", user_id="alice", infer=False)
        assert m.stats()["memories"] == 3
    finally:
        m.close()
    assert _integrity(tmp_path / "memories.db") == "ok"
