"""Moving a store from SQLite to Postgres with the command line, as the README documents:
export with vectors, import into a config that points at Postgres, compare counts and results,
the graph included (entities, relations with their validity, a merge that stays undoable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _graph(m: Memory) -> dict[str, Any]:
    return {
        user: {
            "entities": m.entities(user_id=user, limit=500),
            "relations": m.relations(user_id=user, include_invalid=True, limit=500),
            "graph": m.graph(user_id=user, include_invalid=True),
        }
        for user in ("alice", "bob", "chat")
    }


def test_sqlite_to_postgres_keeps_every_memory_and_answer(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    home = tmp_path / "sqlite-home"
    with Memory(path=home, embedder=embedder) as m:
        m.add("I live in Berlin.", user_id="alice", timestamp="2024-01-10")
        m.add("I moved to Paris last month.", user_id="alice", timestamp="2024-03-15")
        m.add(["I have a dog named Rex", "I play chess on Sundays"], user_id="bob", infer=False)
        m.add(
            [
                "Caroline: I moved from my home country, Sweden, four years ago.",
                "Caroline: My brother Tom visited NYC last week.",
                "Jo: Bob Smith fixed the roof.",
                "Jo: and then Bobby helped me paint the fence.",
            ],
            user_id="chat",
            infer=False,
        )
        ents = {e["name"]: e["id"] for e in m.entities(user_id="chat")}
        merge = m.merge_entities(ents["Bobby"], ents["Bob Smith"])
        before_alice = m.search("where does alice live", user_id="alice")["results"]
        before_bob = m.search("board games", user_id="bob")["results"]
        before_chat = m.search("Where is Caroline from?", user_id="chat")
        before_graph = _graph(m)
        counts = m.stats()["by_status"]
        graph_counts = m.stats()["graph"]
    assert before_chat["relations"] and graph_counts["merges"] == 1
    assert graph_counts["ended_relations"] >= 1  # Berlin, ended by the move to Paris

    dump = tmp_path / "dump.jsonl"
    out = _cli("--home", str(home), "export", "--vectors", "--out", str(dump))
    assert out.returncode == 0, out.stderr
    config = tmp_path / "pg.json"
    dsn = fresh_schema(f"move-{tmp_path}")
    config.write_text(json.dumps({"store": {"provider": "postgres", "dsn": dsn}}))
    pg_home = tmp_path / "pg-home"
    imported = _cli("--home", str(pg_home), "--config", str(config), "--json", "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    written = json.loads(imported.stdout)["graph"]
    assert written["entities"] == graph_counts["entities"]
    assert written["relations"] == graph_counts["relations"]
    again = _cli("--home", str(pg_home), "--config", str(config), "import", str(dump))
    assert again.returncode == 0, again.stderr  # idempotent: nothing is added twice
    assert "graph: entities existing" in again.stdout and "graph: entities " in again.stdout

    cfg = {"store": {"provider": "postgres", "dsn": dsn}}
    with Memory(path=pg_home, config=cfg, embedder=embedder) as pg:
        assert pg.stats()["by_status"] == counts
        assert pg.stats()["graph"] == graph_counts
        assert _graph(pg) == before_graph
        after_chat = pg.search("Where is Caroline from?", user_id="chat")
        assert after_chat["relations"] == before_chat["relations"]
        assert [h["id"] for h in after_chat["results"]] == [h["id"] for h in before_chat["results"]]
        assert pg.unmerge(merge["id"])["moved_links"] == merge["moved_links"]
        after_alice = pg.search("where does alice live", user_id="alice")["results"]
        after_bob = pg.search("board games", user_id="bob")["results"]
        assert [h["id"] for h in after_alice] == [h["id"] for h in before_alice]
        assert [h["id"] for h in after_bob] == [h["id"] for h in before_bob]
        for hit in before_alice:
            got = pg.get(hit["id"])
            assert got is not None and got["memory"] == hit["memory"]
            assert got["created_at"] == hit["created_at"]
