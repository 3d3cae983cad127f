"""Bi-temporal memory: valid time (``valid_at``/``invalid_at``), ``as_of`` search, listing
superseded memories, time-range filters and expiry. Offline (rule extractor), both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engramdb import Memory, ValidationError


def _texts(out: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["memory"] for r in out["results"]]


def _porto_then_helsinki(mem: Memory) -> tuple[str, str]:
    first = mem.add("I live in Porto.", user_id="u", timestamp="2022-02-01T00:00:00Z")
    second = mem.add("I moved to Helsinki.", user_id="u", timestamp="2024-05-20T00:00:00Z")
    (porto,) = first["results"]
    (helsinki,) = second["results"]
    assert helsinki["event"] == "SUPERSEDE" and helsinki["supersedes"] == porto["id"]
    return porto["id"], helsinki["id"]


def test_porto_then_helsinki_current_and_as_of_without_an_llm(mem: Memory) -> None:
    assert mem.llm is None
    porto, helsinki = _porto_then_helsinki(mem)
    now = mem.search("where does the user live?", user_id="u")
    assert [r["id"] for r in now["results"]] == [helsinki]
    then = mem.search("where does the user live?", user_id="u", as_of="2023-01-01T00:00:00Z")
    assert [r["id"] for r in then["results"]] == [porto]
    assert "Porto" in then["results"][0]["memory"]
    assert then["results"][0]["invalid_at"].startswith("2024-05-20")
    # Before anything was true, nothing; after the move, Helsinki only.
    assert mem.search("live", user_id="u", as_of="2021-01-01")["results"] == []
    later = mem.search("live", user_id="u", as_of=datetime(2025, 1, 1, tzinfo=UTC))
    assert [r["id"] for r in later["results"]] == [helsinki]


def test_superseded_memories_are_listed_only_when_asked(mem: Memory) -> None:
    porto, helsinki = _porto_then_helsinki(mem)
    assert [r["id"] for r in mem.get_all(user_id="u")["results"]] == [helsinki]
    everything = mem.get_all(user_id="u", include_invalid=True)["results"]
    assert [r["id"] for r in everything] == [helsinki, porto]
    old = everything[1]
    assert old["status"] == "superseded"
    assert old["invalid_at"].startswith("2024-05-20")
    assert old["valid_at"].startswith("2022-02-01")
    assert everything[0]["invalid_at"] is None


def test_as_of_keeps_scope_filters_and_threshold(mem: Memory) -> None:
    _porto_then_helsinki(mem)
    mem.add("I live in Lyon.", user_id="other", timestamp="2022-01-01")
    then = mem.search("live", user_id="u", as_of="2023-01-01")
    assert all("Lyon" not in t for t in _texts(then))
    assert mem.search("live", user_id="u", as_of="2023-01-01", threshold=0.99)["results"] == []
    filtered = mem.search(
        "live", user_id="u", as_of="2023-01-01", filters={"memory_type": "procedural"}
    )
    assert filtered["results"] == []


@pytest.mark.parametrize("bad", ["yesterday-ish", "2023-13-45", True, [2023]])
def test_bad_as_of_is_refused(mem: Memory, bad: object) -> None:
    mem.add("I live in Porto.", user_id="u")
    with pytest.raises(ValidationError, match="as_of"):
        mem.search("live", user_id="u", as_of=bad)  # type: ignore[arg-type]


def test_time_range_filters_on_valid_at_and_created_at(mem: Memory) -> None:
    for year in (2020, 2021, 2022):
        mem.add(f"note from {year}", user_id="u", infer=False, timestamp=f"{year}-06-01")
    created = mem.get_all(
        user_id="u",
        filters={"created_at": {"gte": "2021-01-01", "lt": "2022-01-01T00:00:00Z"}},
    )
    assert _texts(created) == ["note from 2021"]
    valid = mem.get_all(user_id="u", filters={"valid_at": {"gt": "2020-12-31"}})
    assert _texts(valid) == ["note from 2022", "note from 2021"]
    hits = mem.search("note", user_id="u", filters={"valid_at": {"lte": "2020-06-01"}})
    assert _texts(hits) == ["note from 2020"]
    with pytest.raises(ValidationError):
        mem.get_all(user_id="u", filters={"valid_at": {"gt": "not a time"}})


def test_expired_memories_are_hidden_unless_asked(mem: Memory) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    mem.add("the door code is 4412", user_id="u", infer=False, expires_at=past)
    mem.add("the wifi password is hunter2", user_id="u", infer=False)
    # Warm the vector cache first: it must drop the expired row too.
    assert _texts(mem.search("door code", user_id="u")) == ["the wifi password is hunter2"]
    assert _texts(mem.get_all(user_id="u")) == ["the wifi password is hunter2"]
    shown = mem.get_all(user_id="u", include_expired=True)
    assert sorted(_texts(shown)) == ["the door code is 4412", "the wifi password is hunter2"]
    # Expiry set later by update, and an extracted memory expiring in the future.
    (wifi,) = [r for r in shown["results"] if "wifi" in r["memory"]]
    mem.update(wifi["id"], expires_at=past)
    assert mem.get_all(user_id="u")["results"] == []
    future = datetime.now(UTC) + timedelta(days=1)
    out = mem.add("I live in Porto.", user_id="u", expires_at=future, importance=0.9)
    got = mem.get(out["results"][0]["id"])
    assert got is not None and got["expires_at"].startswith(future.strftime("%Y-%m-%d"))
    assert got["importance"] == pytest.approx(0.9)
    assert _texts(mem.search("live", user_id="u")) == ["Lives in Porto"]


def test_bad_expiry_and_importance_are_refused_and_nothing_is_written(mem: Memory) -> None:
    with pytest.raises(ValidationError, match="expires_at"):
        mem.add("x", user_id="u", infer=False, expires_at="soon")
    with pytest.raises(ValidationError, match="importance"):
        mem.add("x", user_id="u", infer=False, importance=3)
    assert mem.get_all(user_id="u")["results"] == []
    assert mem.episodes(user_id="u") == []
    mem.add("x", user_id="u", infer=False)
    (rec,) = mem.get_all(user_id="u")["results"]
    with pytest.raises(ValidationError, match="expires_at"):
        mem.update(rec["id"], expires_at="whenever")
    with pytest.raises(ValidationError):
        mem.get_all(user_id="u", include_invalid="yes")  # type: ignore[arg-type]
    assert mem.get(rec["id"])["expires_at"] is None  # type: ignore[index]


def test_as_of_counts_facts_learned_later_that_were_true_then(mem: Memory) -> None:
    out = mem.add("I moved to Oslo in March 2021.", user_id="u", timestamp="2024-01-10")
    (oslo,) = out["results"]
    record = mem.get(oslo["id"])
    assert record is not None and record["valid_at"].startswith("2021-03")
    assert record["created_at"].startswith("2024-01-10")
    hits = mem.search("where does the user live", user_id="u", as_of="2022-06-01")
    assert [h["id"] for h in hits["results"]] == [oslo["id"]]
    assert mem.search("live", user_id="u", as_of="2020-06-01")["results"] == []


def test_as_of_leaves_out_archived_and_deleted_memories(mem: Memory) -> None:
    mem.add("User likes green tea", user_id="u", infer=False, timestamp="2022-01-01")
    mem.add("user likes green tea.", user_id="u", infer=False, timestamp="2022-01-01")
    b = mem.add("User plays chess", user_id="u", infer=False, timestamp="2022-01-01")
    report = mem.consolidate(user_id="u")
    assert report["archived"] == 1
    mem.delete(b["results"][0]["id"])
    hits = mem.search("green tea chess", user_id="u", as_of="2023-01-01")["results"]
    assert [h["id"] for h in hits] == [report["merged"][0]["survivor"]]
