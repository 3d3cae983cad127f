"""The write path of ``add(infer=True)`` with no LLM configured: the rule extractor, the
reconciler and the one-transaction write, observed only through the public facade."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engramdb import Memory

T0 = "2024-03-01T10:00:00Z"
T1 = "2024-06-15T10:00:00Z"


def _ids(m: Memory, **scope: Any) -> set[str]:
    return {r["id"] for r in m.get_all(**scope, limit=1000)["results"]}


def _only(result: dict[str, Any], event: str | None = None) -> dict[str, Any]:
    assert len(result["results"]) == 1, result
    row: dict[str, Any] = result["results"][0]
    if event is not None:
        assert row["event"] == event, result
    return row


def test_move_supersedes_old_residence(mem: Memory) -> None:
    berlin = _only(mem.add("I live in Berlin.", user_id="alice", timestamp=T0), "ADD")
    paris = _only(mem.add("I moved to Paris last month.", user_id="alice", timestamp=T1))

    assert paris["event"] == "SUPERSEDE"
    assert paris["supersedes"] == berlin["id"]
    assert paris["previous_memory"] == berlin["memory"]
    assert "Paris" in paris["memory"]

    new = mem.get(paris["id"])
    old = mem.get(berlin["id"])
    assert new is not None and old is not None
    assert new["status"] == "active" and new["invalid_at"] is None
    # "last month" said on 2024-06-15 is May 2024: the new fact's event time ...
    assert new["valid_at"].startswith("2024-05-01")
    assert new["metadata"]["event_time"].startswith("2024-05-01")
    assert new["metadata"]["supersedes"] == berlin["id"]
    # ... is when the old one stopped being true.
    assert old["status"] == "superseded"
    assert old["invalid_at"] == new["valid_at"]
    assert old["valid_at"].startswith("2024-03-01")

    events = [h["event"] for h in mem.history(berlin["id"])]
    assert events == ["ADD", "SUPERSEDE"]

    assert _ids(mem, user_id="alice") == {paris["id"]}
    hits = mem.search("where does alice live? Berlin or Paris", user_id="alice")["results"]
    assert [h["id"] for h in hits] == [paris["id"]]


def test_second_pet_is_added_not_superseding(mem: Memory) -> None:
    dog = _only(mem.add("I have a dog named Rex.", user_id="bob", timestamp=T0), "ADD")
    cat = _only(mem.add("I have a cat named Tom.", user_id="bob", timestamp=T1), "ADD")
    assert _ids(mem, user_id="bob") == {dog["id"], cat["id"]}
    for mid in (dog["id"], cat["id"]):
        got = mem.get(mid)
        assert got is not None and got["status"] == "active" and got["invalid_at"] is None
    assert [h["event"] for h in mem.history(dog["id"])] == ["ADD"]


def test_exact_duplicate_is_none_and_deletes_nothing(mem: Memory) -> None:
    first = _only(mem.add("I have a cat named Tom.", user_id="bob", timestamp=T0), "ADD")
    before = mem.get_all(user_id="bob")["results"]
    again = _only(mem.add("I have a cat named Tom.", user_id="bob", timestamp=T1), "NONE")
    assert again["id"] == first["id"]
    assert mem.get_all(user_id="bob")["results"] == before
    assert [h["event"] for h in mem.history(first["id"])] == ["ADD"]
    assert mem.stats()["by_status"] == {"active": 1}


def test_forget_request_deletes_and_keeps_history(mem: Memory) -> None:
    dog = _only(mem.add("I have a dog named Rex.", user_id="bob", timestamp=T0), "ADD")
    cat = _only(mem.add("I have a cat named Tom.", user_id="bob", timestamp=T0), "ADD")
    out = mem.add("Please forget that I have a dog.", user_id="bob", timestamp=T1)
    deleted = _only(out, "DELETE")
    assert deleted["id"] == dog["id"]
    assert mem.get(dog["id"]) is None
    assert _ids(mem, user_id="bob") == {cat["id"]}
    assert [h["event"] for h in mem.history(dog["id"])] == ["ADD", "DELETE"]
    # The request itself is not stored as a fact, but it is kept as an episode.
    contents = [e["content"] for e in mem.episodes(user_id="bob")]
    assert "Please forget that I have a dog." in contents


def test_message_without_facts_is_kept_verbatim(mem: Memory) -> None:
    text = "hmm ok whatever, sounds good"
    row = _only(mem.add(text, user_id="carol", timestamp=T0), "ADD")
    assert row["memory"] == text and row["memory_type"] == "episode"
    got = mem.get(row["id"])
    assert got is not None
    assert got["memory"] == text and got["memory_type"] == "episode"
    assert got["created_at"].startswith("2024-03-01")


def test_assistant_statements_are_not_user_facts(mem: Memory) -> None:
    out = mem.add(
        [
            {"role": "user", "content": "hmm ok whatever, sounds good"},
            {"role": "assistant", "content": "I live in Madrid and I have a dog named Rex."},
        ],
        user_id="dave",
        timestamp=T0,
    )
    texts = [r["memory"] for r in out["results"]]
    assert texts == ["hmm ok whatever, sounds good"]
    stored = mem.get_all(user_id="dave")["results"]
    assert all("Madrid" not in r["memory"] and "Rex" not in r["memory"] for r in stored)
    # Both messages are still kept as episodes.
    assert sorted(e["role"] for e in mem.episodes(user_id="dave")) == ["assistant", "user"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I started working at Google yesterday.", "2020-01-09"),
        ("I got married last week.", "2019-12-30"),
        ("I moved to Lisbon last month.", "2019-12-01"),
    ],
)
def test_relative_dates_resolve_against_message_time(mem: Memory, text: str, expected: str) -> None:
    out = mem.add(text, user_id="erin", timestamp="2020-01-10T10:00:00Z")
    facts = [r for r in out["results"] if r["memory_type"] == "fact"]
    assert facts, out
    got = mem.get(facts[0]["id"])
    assert got is not None
    assert got["metadata"]["event_time"].startswith(expected)
    assert got["created_at"].startswith("2020-01-10")
    # Never resolved against today.
    assert not re.search(r"20(2[5-9]|[3-9]\d)", got["metadata"]["event_time"])


def test_every_add_stores_episodes_done(mem: Memory) -> None:
    out = mem.add(
        [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "I live in Berlin."},
            {"role": "assistant", "content": "Nice city!"},
        ],
        user_id="fay",
        timestamp=T0,
        metadata={"channel": "chat"},
    )
    episodes = mem.episodes(user_id="fay")
    assert sorted(e["id"] for e in episodes) == sorted(out["episode_ids"])
    assert len(episodes) == 2  # the system message is not an episode
    by_role = {e["role"]: e for e in episodes}
    assert by_role["user"]["content"] == "I live in Berlin."
    assert by_role["assistant"]["content"] == "Nice city!"
    for e in episodes:
        assert e["status"] == "done" and e["error"] is None
        assert e["created_at"].startswith("2024-03-01")
        assert e["metadata"]["channel"] == "chat"
    assert by_role["user"]["facts"] == 1
    fact = mem.get(out["results"][0]["id"])
    assert fact is not None
    assert by_role["user"]["id"] in fact["metadata"]["episode_ids"]


def test_procedural_memory_offline(mem: Memory) -> None:
    out = mem.add(
        [
            {"role": "user", "content": "Book me a flight to Oslo"},
            {"role": "assistant", "content": "Searching flights to Oslo for Friday."},
            {"role": "tool", "content": "3 flights found\nSK123 09:00"},
            {"role": "assistant", "content": "Booked SK123 and emailed the receipt."},
        ],
        agent_id="travel-bot",
        memory_type="procedural",
        timestamp=T0,
    )
    row = _only(out, "ADD")
    assert row["memory_type"] == "procedural"
    lines = row["memory"].splitlines()
    assert lines[0] == "Task: Book me a flight to Oslo"
    assert lines[1:] == [
        "1. assistant: Searching flights to Oslo for Friday.",
        "2. tool: 3 flights found",
        "3. assistant: Booked SK123 and emailed the receipt.",
    ]
    got = mem.get(row["id"])
    assert got is not None and got["agent_id"] == "travel-bot"
    assert got["memory_type"] == "procedural"
    assert len(mem.episodes(agent_id="travel-bot")) == 4


def test_image_without_vision_llm_is_kept_and_warned(mem: Memory) -> None:
    url = "data:image/png;base64,iVBORw0KGgo="
    out = mem.add(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Here is a photo of my garden"},
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                ],
            }
        ],
        user_id="gil",
        timestamp=T0,
    )
    assert len(out["warnings"]) == 2
    assert all("vision" in w for w in out["warnings"])
    [episode] = mem.episodes(user_id="gil")
    assert episode["images"] == [url, "https://example.com/a.jpg"]
    assert episode["content"] == "Here is a photo of my garden"
    assert episode["status"] == "done"
    # The text is not dropped either.
    assert [r["memory"] for r in mem.get_all(user_id="gil")["results"]] == [
        "Here is a photo of my garden"
    ]


def test_image_only_message_is_kept_in_the_episode(mem: Memory) -> None:
    url = "https://example.com/receipt.png"
    out = mem.add(
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        user_id="gil",
        timestamp=T0,
    )
    assert out["warnings"]
    [episode] = mem.episodes(user_id="gil")
    assert episode["images"] == [url]


def test_usage_is_zero_offline(mem: Memory) -> None:
    out = mem.add("I live in Berlin.", user_id="hal", timestamp=T0)
    assert out["usage"] == {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    assert mem.stats()["usage"]["llm_calls"] == 0
    assert mem.stats()["extractor"] == "rules"


def test_reprocess_of_done_episodes_is_idempotent(mem: Memory) -> None:
    first = _only(mem.add("I have a cat named Tom.", user_id="ivy", timestamp=T0), "ADD")
    again = mem.reprocess(user_id="ivy", status="done")
    assert again["episodes"] == 1
    assert [r["event"] for r in again["results"]] == ["NONE"]
    assert _ids(mem, user_id="ivy") == {first["id"]}
