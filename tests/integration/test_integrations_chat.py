"""``with_memory`` and ``context_block`` with a plain-function chatbot on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.integrations.chat import HEADER, context_block, estimate_tokens, with_memory


@pytest.fixture
def memory(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Memory]:
    m = Memory(path=tmp_path, embedder=embedder)
    yield m
    m.close()


class EchoBot:
    """A chatbot with no memory of its own: it records what it was sent and answers briefly."""

    def __init__(self) -> None:
        self.prompts: list[list[dict[str, Any]]] = []

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        self.prompts.append(messages)
        return "Got it."


def system_of(prompt: list[dict[str, Any]]) -> str:
    return prompt[0]["content"] if prompt[0]["role"] == "system" else ""


def test_three_lines_give_a_chatbot_memory(memory: Memory) -> None:
    bot = EchoBot()
    chat = with_memory(bot, memory, user_id="alice")
    assert chat("I'm vegetarian and I live in Lisbon.") == "Got it."
    assert system_of(bot.prompts[0]) == ""  # nothing known yet: no system message

    user_turn = [{"role": "user", "content": "What should I cook tonight? I'm vegetarian"}]
    chat(user_turn)
    block = system_of(bot.prompts[1])
    assert block.startswith(HEADER)
    assert "vegetarian" in block.lower()
    assert bot.prompts[1][1:] == user_turn
    assert user_turn == [
        {"role": "user", "content": "What should I cook tonight? I'm vegetarian"}
    ]  # the caller's list is untouched
    # The caller's own system prompt stays first; the memory block follows it.
    chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Dinner?"}])
    assert [m["role"] for m in bot.prompts[2]] == ["system", "system", "user"]
    assert bot.prompts[2][0]["content"] == "Be brief."
    assert bot.prompts[2][1]["content"].startswith(HEADER)
    # Each exchange was stored as episodes (user message and reply).
    roles = sorted(e["role"] for e in memory.episodes(user_id="alice"))
    assert roles == ["assistant"] * 3 + ["user"] * 3
    # Other users see nothing of alice's memory.
    bob = EchoBot()
    with_memory(bob, memory, user_id="bob")("Where do I live?")
    assert system_of(bob.prompts[0]) == ""


def test_background_adds_are_queued(memory: Memory) -> None:
    bot = EchoBot()
    chat = with_memory(bot, memory, user_id="carol", background=True)
    chat("My favourite color is green.")
    assert memory.wait(timeout=60)
    chat("Which color should the new bike be?")
    assert "green" in system_of(bot.prompts[1]).lower()


def test_dict_replies_and_reply_text(memory: Memory) -> None:
    chat = with_memory(
        lambda msgs: {"role": "assistant", "content": "Sure."}, memory, user_id="dan"
    )
    assert chat("I have a cat called Miso.") == {"role": "assistant", "content": "Sure."}

    class Response:
        text = "OK"

    chat2 = with_memory(lambda msgs: Response(), memory, user_id="dan", reply_text=lambda r: r.text)
    assert isinstance(chat2("hello"), Response)
    with pytest.raises(TypeError, match="reply_text"):
        with_memory(lambda msgs: 42, memory, user_id="dan")("hi")


def test_context_block_is_budgeted_dated_and_ranked(memory: Memory) -> None:
    facts = [
        "Alice works as a nurse in Porto",
        "Alice has a dog named Bolt",
        "Alice is allergic to peanuts and shellfish",
        "Alice's sister lives in Madrid",
    ]
    for i, fact in enumerate(facts):
        memory.add(fact, user_id="alice", infer=False, timestamp=f"2024-0{i + 1}-15")
    block = context_block(memory, "food allergies", user_id="alice", max_tokens=1000)
    lines = block.splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 5
    # Chosen by relevance, written oldest first.
    assert [line[:14] for line in lines[1:]] == [f"- [2024-0{i}-15]" for i in range(1, 5)]

    small = context_block(memory, "food allergies", user_id="alice", max_tokens=40)
    assert estimate_tokens(small) <= 40
    assert small.splitlines()[1:] == ["- [2024-03-15] Alice is allergic to peanuts and shellfish"]
    assert context_block(memory, "food allergies", user_id="alice", max_tokens=5) == ""
    assert context_block(memory, "anything", user_id="nobody") == ""
    memory.add("Suggest a snack for Alice, no peanuts", user_id="alice")  # kept verbatim
    with_verbatim = context_block(memory, "snack without peanuts", user_id="alice")
    assert "Suggest a snack" in with_verbatim
    facts_only = context_block(
        memory,
        "snack without peanuts",
        user_id="alice",
        filters={"NOT": {"memory_type": "episode"}},
    )
    assert "Suggest a snack" not in facts_only and "peanuts and shellfish" in facts_only
    assert estimate_tokens("abcd" * 10) == 4 and estimate_tokens("on 2024-03-15") == 11
