"""Moving a store from SQLite to Postgres with the command line, as the README documents:
export with vectors, import into a config that points at Postgres, compare counts and results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.store.postgres.devserver import fresh_schema


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "engramdb", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def test_sqlite_to_postgres_keeps_every_memory_and_answer(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    home = tmp_path / "sqlite-home"
    with Memory(path=home, embedder=embedder) as m:
        m.add("I live in Berlin.", user_id="alice", timestamp="2024-01-10")
        m.add("I moved to Paris last month.", user_id="alice", timestamp="2024-03-15")
        m.add(["I have a dog named Rex", "I play chess on Sundays"], user_id="bob", infer=False)
        before_alice = m.search("where does alice live", user_id="alice")["results"]
        before_bob = m.search("board games", user_id="bob")["results"]
        counts = m.stats()["by_status"]

    dump = tmp_path / "dump.jsonl"
    out = _cli("--home", str(home), "export", "--vectors", "--out", str(dump))
    assert out.returncode == 0, out.stderr
    config = tmp_path / "pg.json"
    dsn = fresh_schema(f"move-{tmp_path}")
    config.write_text(json.dumps({"store": {"provider": "postgres", "dsn": dsn}}))
    pg_home = tmp_path / "pg-home"
    imported = _cli("--home", str(pg_home), "--config", str(config), "--json", "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    again = _cli("--home", str(pg_home), "--config", str(config), "--json", "import", str(dump))
    assert again.returncode == 0, again.stderr  # idempotent: nothing is added twice

    cfg = {"store": {"provider": "postgres", "dsn": dsn}}
    with Memory(path=pg_home, config=cfg, embedder=embedder) as pg:
        assert pg.stats()["by_status"] == counts
        after_alice = pg.search("where does alice live", user_id="alice")["results"]
        after_bob = pg.search("board games", user_id="bob")["results"]
        assert [h["id"] for h in after_alice] == [h["id"] for h in before_alice]
        assert [h["id"] for h in after_bob] == [h["id"] for h in before_bob]
        for hit in before_alice:
            got = pg.get(hit["id"])
            assert got is not None and got["memory"] == hit["memory"]
            assert got["created_at"] == hit["created_at"]
