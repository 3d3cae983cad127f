"""Memory lifecycle on both stores: access counts, consolidation (merge near-duplicates,
archive stale memories), restore, episodic search by time and words, procedural by type."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engramdb import Memory, MemoryNotFoundError, ValidationError


def _ids(out: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["id"] for r in out["results"]]


def test_search_and_get_record_access_without_writing_on_the_read(mem: Memory) -> None:
    out = mem.add("I live in Porto.", user_id="u")
    memory_id = out["results"][0]["id"]
    before = mem.store.get(memory_id, mem.tenant)
    assert before is not None and before.access_count == 0
    mem.search("where do I live", user_id="u")
    mem.search("Porto", user_id="u")
    mem.get(memory_id)
    # Noted in memory only: the row is unchanged until a flush.
    assert mem.store.get(memory_id, mem.tenant).access_count == 0  # type: ignore[union-attr]
    assert mem._access.flush() == 1
    after = mem.get(memory_id)
    assert after is not None
    assert after["access_count"] == 3
    assert after["last_accessed_at"] is not None
    assert after["updated_at"] == before.updated_at  # not an edit


def test_counts_left_at_close_are_written(
    backend: str, open_mem: Callable[..., Memory], mem: Memory
) -> None:
    out = mem.add("I live in Porto.", user_id="u", infer=False)
    memory_id = out["results"][0]["id"]
    other = open_mem()
    other.get(memory_id)
    other.close()
    got = mem.store.get(memory_id, mem.tenant)
    assert got is not None and got.access_count == 1


def test_consolidate_merges_near_duplicates_and_restore_brings_one_back(mem: Memory) -> None:
    a = mem.add("User likes green tea", user_id="u", infer=False, importance=0.8)
    b = mem.add("user likes green tea.", user_id="u", infer=False)
    c = mem.add("User does not like green tea", user_id="u", infer=False)
    d = mem.add("User likes green tea", user_id="other", infer=False)
    keep, dup, neg = _ids(a)[0], _ids(b)[0], _ids(c)[0]
    dry = mem.consolidate(user_id="u", dry_run=True)
    assert dry["dry_run"] is True
    assert dry["merged"] == [{"survivor": keep, "archived": [dup]}]
    assert dry["archived"] == 1 and dry["examined"] == 3
    assert len(mem.get_all(user_id="u")["results"]) == 3  # nothing written
    done = mem.consolidate(user_id="u")
    assert done["merged"] == dry["merged"] and done["dry_run"] is False
    assert sorted(_ids(mem.get_all(user_id="u"))) == sorted([keep, neg])
    assert dup not in _ids(mem.search("green tea", user_id="u"))
    archived = mem.get_all(user_id="u", include_archived=True)
    assert dup in _ids(archived)
    assert mem.get(dup)["status"] == "archived"  # type: ignore[index]
    events = mem.history(dup)
    assert events[-1]["event"] == "ARCHIVE" and keep in events[-1]["reason"]
    # Other scopes are untouched; a second run finds nothing more to do.
    assert _ids(mem.get_all(user_id="other")) == _ids(d)
    assert mem.consolidate(user_id="u")["archived"] == 0
    restored = mem.restore(dup)
    assert restored["status"] == "active"
    assert mem.history(dup)[-1]["event"] == "RESTORE"
    assert dup in _ids(mem.search("green tea", user_id="u"))
    with pytest.raises(ValidationError, match="not archived"):
        mem.restore(dup)
    with pytest.raises(MemoryNotFoundError):
        mem.restore("missing")


def test_consolidate_archives_stale_low_value_memories(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    old = mem.add(
        "tried a new pen", user_id="u", infer=False, timestamp="2020-01-01", importance=0.1
    )
    mem.add("important old note", user_id="u", infer=False, timestamp="2020-01-01", importance=0.9)
    mem.add("fresh trivia", user_id="u", infer=False, importance=0.1)
    report = mem.consolidate(user_id="u")
    assert report["stale"] == _ids(old)
    assert mem.history(_ids(old)[0])[-1]["reason"].startswith("stale")
    assert len(mem.get_all(user_id="u")["results"]) == 2
    # Config decides what is stale: with a long age floor nothing else goes.
    strict = open_mem({"lifecycle": {"stale_min_age_days": 100_000}})
    assert strict.consolidate(user_id="u")["stale"] == []


def test_consolidate_needs_a_scope_and_a_sane_threshold(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    from engramdb import ScopeError
    from engramdb.errors import ConfigError

    with pytest.raises(ScopeError):
        mem.consolidate()
    with pytest.raises(ValidationError):
        mem.consolidate(user_id="u", dry_run="no")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        open_mem({"lifecycle": {"duplicate_similarity": 0.5}})


def test_episodes_by_time_and_words_in_scope_only(mem: Memory) -> None:
    mem.add("We hiked up the volcano", user_id="u", timestamp="2023-03-01", infer=False)
    mem.add("Baked sourdough bread today", user_id="u", timestamp="2023-06-01", infer=False)
    mem.add("More hiking in the Alps", user_id="u", timestamp="2023-09-01", infer=False)
    mem.add("We hiked the volcano too", user_id="v", timestamp="2023-03-01", infer=False)
    window = mem.episodes(user_id="u", since="2023-05-01", until="2023-09-01")
    assert [e["content"] for e in window] == ["Baked sourdough bread today"]
    hiked = mem.episodes(user_id="u", query="hiking volcano")
    assert [e["content"] for e in hiked] == ["We hiked up the volcano"]
    stemmed = mem.episodes(user_id="u", query="hikes")
    assert [e["content"] for e in stemmed] == ["More hiking in the Alps", "We hiked up the volcano"]
    assert mem.episodes(user_id="u", query="hike", since="2023-06-01")[0]["content"].startswith(
        "More"
    )
    assert mem.episodes(user_id="u", query='"; DROP TABLE episodes; --') == []
    assert mem.episodes(user_id="u", query="the") == []
    with pytest.raises(ValidationError, match="since"):
        mem.episodes(user_id="u", since="last week")


def test_procedural_memories_are_retrievable_by_type(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "Book me a flight to Oslo"},
            {"role": "assistant", "content": "Searched flights, picked the 9:00 SAS, paid."},
        ],
        agent_id="travel-bot",
        memory_type="procedural",
    )
    mem.add("I live in Porto.", agent_id="travel-bot", user_id="u")
    procs = mem.get_all(agent_id="travel-bot", filters={"memory_type": "procedural"})
    assert len(procs["results"]) == 1
    assert procs["results"][0]["memory_type"] == "procedural"
    hits = mem.search("flight", agent_id="travel-bot", filters={"memory_type": "procedural"})
    assert [h["memory_type"] for h in hits["results"]] == ["procedural"]


def test_postgres_access_flush_never_waits_on_a_locked_row(mem: Memory, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("row locks held by another connection: Postgres only")
    import time

    import psycopg

    memory_id = mem.add("I live in Porto.", user_id="u", infer=False)["results"][0]["id"]
    other = mem.add("I play chess.", user_id="u", infer=False)["results"][0]["id"]
    with psycopg.connect(mem.store.dsn) as writer:  # type: ignore[attr-defined]
        writer.execute("SELECT 1 FROM memories WHERE id = %s FOR UPDATE", (memory_id,))
        mem._access.touch(mem.tenant, [memory_id, other])
        started = time.monotonic()
        assert mem._access.flush() == 2
        assert time.monotonic() - started < 5
        writer.rollback()
    assert mem.get(memory_id)["access_count"] == 0  # type: ignore[index]
    assert mem.get(other)["access_count"] == 1  # type: ignore[index]
