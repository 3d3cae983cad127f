"""Query plans the SQLite store relies on for speed, checked on the SQL it really runs."""

from __future__ import annotations

from pathlib import Path

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.models import Scope


def test_user_scoped_entity_lookup_reads_the_users_rows(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    with Memory(path=tmp_path, embedder=embedder) as m:
        for user in ("u1", "u2", "u3"):
            m.add("My friend Sam and I went hiking near Lake Como.", user_id=user)
        conn = m.store._conn  # type: ignore[attr-defined]  # the SQLite connection, on purpose
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            found = m.store.graph_lookup(Scope(tenant=m.tenant, user_id="u2"), ["sam"], 50)
        finally:
            conn.set_trace_callback(None)
        assert [norm for _, norm, _ in found] == ["sam"]
        lookups = [sql for sql in seen if "FROM entities e" in sql]
        assert lookups, seen
        for sql in lookups:
            plan = " ".join(str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            # Without (tenant, user_id, norm) SQLite walks every user's "sam" via entities_norm.
            assert "entities_user_norm" in plan, plan
