"""``Memory.context`` on every store backend: current facts only, dated, budgeted, scoped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engramdb import AsyncMemory, Memory, ValidationError
from engramdb.embed.local import LocalEmbedder


def test_a_superseded_fact_is_left_out_and_the_new_one_dated(mem: Memory) -> None:
    mem.add("I live in Berlin.", user_id="alice", timestamp="2024-03-01T10:00:00Z")
    mem.add("I moved to Paris last month.", user_id="alice", timestamp="2024-06-15T10:00:00Z")
    mem.add("I live in Rome.", user_id="bob", infer=False, timestamp="2024-01-01")
    block = mem.context("where does alice live?", user_id="alice", max_tokens=300)
    text = block["text"]
    assert "Paris" in text and "Berlin" not in text and "Rome" not in text
    assert "- [2024-05-01]" in text  # "last month" on 2024-06-15, the fact's own time
    assert len(block["memories"]) == 1
    assert block["memories"][0] == mem.get_all(user_id="alice")["results"][0]["id"]


def test_filters_budget_and_counter(mem: Memory) -> None:
    mem.add(
        ["Team standup moved to 9:30", "Deploys freeze on Fridays"],
        agent_id="ops",
        infer=False,
        metadata={"topic": "process"},
    )
    mem.add("Coffee machine is broken", agent_id="ops", infer=False)
    found = mem.context("when is standup", agent_id="ops", filters={"topic": "process"})
    assert "Coffee" not in found["text"] and len(found["memories"]) == 2
    exact = mem.context("when is standup", agent_id="ops", max_tokens=90, token_counter=len)
    assert exact["tokens"] == len(exact["text"]) <= 90
    before = mem.get_all(agent_id="ops")
    with pytest.raises(ValidationError, match="token_counter"):
        mem.context("x", agent_id="ops", token_counter="words")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_tokens"):
        mem.context("x", agent_id="ops", max_tokens=-5)
    with pytest.raises(ValidationError, match="limit"):
        mem.context("x", agent_id="ops", limit=0)
    assert mem.get_all(agent_id="ops") == before


def test_async_memory_has_context(tmp_path: Path, embedder: LocalEmbedder) -> None:
    async def run() -> dict[str, object]:
        async with AsyncMemory(path=tmp_path, embedder=embedder) as m:
            await m.add("I prefer window seats", user_id="a", infer=False)
            return await m.context("seat preference", user_id="a")

    assert "window seats" in str(asyncio.run(run())["text"])
