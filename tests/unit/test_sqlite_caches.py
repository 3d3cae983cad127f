"""The per-scope caches of the SQLite store stay exact when they were built at different
moments and other processes (here: other connections) write in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder


def test_caches_of_different_ages_all_catch_up(tmp_path: Path, embedder: LocalEmbedder) -> None:
    reader = Memory(path=tmp_path, embedder=embedder)
    writer = Memory(path=tmp_path, embedder=embedder)  # another connection, like another process
    try:
        writer.add("alpha note one", user_id="a", infer=False)
        assert reader.search("alpha note one", user_id="a")["results"]  # cache of "a" built
        first = writer.add("alpha note two", user_id="a", infer=False)["results"][0]["id"]
        # A cache for "b" is built now, at a newer point of the change log than "a"'s.
        writer.add("beta note", user_id="b", infer=False)
        assert reader.search("beta note", user_id="b")["results"]
        second = writer.add("alpha note three", user_id="a", infer=False)["results"][0]["id"]
        # Searching "b" again catches every cache up; "a" must not skip "alpha note two".
        reader.search("beta", user_id="b")
        for text, memory_id in (("alpha note two", first), ("alpha note three", second)):
            hits = reader.search(text, user_id="a", limit=1)["results"]
            assert hits and hits[0]["id"] == memory_id, (text, hits)
        writer.delete(first)
        reader.search("beta", user_id="b")
        ids = [h["id"] for h in reader.search("alpha note two", user_id="a")["results"]]
        assert first not in ids
    finally:
        writer.close()
        reader.close()


def test_keyword_search_takes_terms_rarest_first_within_the_row_budget(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engramdb.models import Scope
    from engramdb.store.sqlite import search as sqlite_search

    monkeypatch.setattr(sqlite_search, "_TERM_BUDGET", 4)
    m = Memory(path=tmp_path, embedder=embedder)
    try:
        texts = [f"common filler {i}" for i in range(5)] + ["rare common", 'quote "rare" note']
        ids = [m.add(t, user_id="a", infer=False)["results"][0]["id"] for t in texts]
        store, scope = m.store, Scope(user_id="a", tenant=m.tenant)
        rowid = {r.id: rowid for rowid, r in store.get_many(range(1, 100)).items()}
        # "common" is in 6 rows, more than the budget of 4: only "rare" (2 rows) is scored.
        hits = store.keyword_search(scope, None, ["common", "rare"], 10)
        assert sorted(r for r, _ in hits) == sorted([rowid[ids[5]], rowid[ids[6]]])
        # With room for both, every row holding either term is a hit.
        monkeypatch.setattr(sqlite_search, "_TERM_BUDGET", 8)
        assert len(store.keyword_search(scope, None, ["common", "rare"], 10)) == 7
        # Quotes in a term are data, not FTS5 syntax; unknown terms find nothing.
        quoted = store.keyword_search(scope, None, ['"rare"', "nowhere"], 10)
        assert sorted(r for r, _ in quoted) == sorted([rowid[ids[5]], rowid[ids[6]]])
        assert store.keyword_search(scope, None, ["nowhere"], 10) == []
    finally:
        m.close()
