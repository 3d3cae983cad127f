"""Working memory (recent turns per run) and the consolidated user profile."""

from __future__ import annotations

import pytest

from engramdb import Memory, ScopeError


def test_recent_returns_the_last_turns_of_a_run_oldest_first(mem: Memory) -> None:
    mem.add("I live in Berlin.", user_id="a", run_id="s1")
    turns = [{"role": "user", "content": f"turn {i}"} for i in range(5)]
    turns.append({"role": "assistant", "content": "noted"})
    mem.add(turns, user_id="a", run_id="s2", infer=False)
    recent = mem.recent(run_id="s2", n=3)
    assert [t["content"] for t in recent] == ["turn 3", "turn 4", "noted"]
    assert [t["role"] for t in recent] == ["user", "user", "assistant"]
    # Another run's turns and another user's are not mixed in.
    assert [t["content"] for t in mem.recent(run_id="s1")] == ["I live in Berlin."]
    assert mem.recent(user_id="nobody") == []
    with pytest.raises(ScopeError):
        mem.recent()


def test_profile_holds_current_values_only(mem: Memory) -> None:
    mem.add("I live in Berlin and I have a dog named Rex.", user_id="a", timestamp="2024-01-01")
    mem.add(
        "I moved to Paris last month. We also adopted a cat called Milo.",
        user_id="a",
        timestamp="2024-03-15",
    )
    mem.add("raw note kept verbatim", user_id="a", infer=False)
    mem.add("I live in Rome.", user_id="b")
    profile = mem.profile("a")
    attrs = profile["attributes"]
    assert [v["value"] for v in attrs["residence"]] == ["Paris"]
    assert sorted(v["value"] for v in attrs["pet"]) == ["Milo", "Rex"]
    assert all("verbatim" not in v["memory"] for v in profile["other"])
    assert "Rome" not in str(profile)
    first = attrs["residence"][0]
    got = mem.get(first["id"])
    assert got is not None and got["memory"] == first["memory"]
