"""The per-scope caches of the SQLite store stay exact when they were built at different
moments and other processes (here: other connections) write in between."""

from __future__ import annotations

from pathlib import Path

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
