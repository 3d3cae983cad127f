"""Experience lessons with an LLM, against the scripted OpenAI-protocol server on 127.0.0.1:
one call per add, the prompt it sees, lessons from the reply, merging, and the fallback to the
offline summary when the reply names no lesson."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import open_memory
from tests.support.scripted_llm import Reply, ScriptedLLM

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.llm.errors import LLMError

RUN = [
    {"role": "user", "content": "Deploy the billing service to staging"},
    {"role": "assistant", "content": "Running deploy.sh billing staging"},
    {"role": "tool", "content": "ERROR: environment variable DATABASE_URL is not set"},
]


@pytest.fixture
def m(
    backend: str, tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM
) -> Iterator[Memory]:
    config = {
        "llm": {
            "provider": "openai",
            "base_url": scripted_llm.openai_url,
            "api_key": "x",
            "model": "m",
            "max_retries": 1,
            "backoff_s": 0.01,
            "timeout_s": 2,
        }
    }
    mem = open_memory(backend, tmp_path, embedder, config)
    yield mem
    mem.close()


def lessons_reply(*lessons: dict[str, Any], task: str = "Deploy billing to staging") -> Reply:
    return Reply(text=json.dumps({"task": task, "lessons": list(lessons)}))


ENV_LESSON = {
    "tried": "ran deploy.sh billing staging",
    "conditions": "staging cluster, fresh shell",
    "happened": "ERROR: environment variable DATABASE_URL is not set",
    "cause": "env var DATABASE_URL not set",
    "next_time": "export DATABASE_URL before deploying",
}


def test_one_llm_call_turns_the_episode_into_lessons(m: Memory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(
        lessons_reply(
            ENV_LESSON,
            {"tried": "read the deploy log", "happened": "found the missing variable quickly"},
        )
    )
    out = m.add(RUN, agent_id="ops", memory_type="experience", outcome="failure")
    assert out["usage"]["llm_calls"] == 1 and len(scripted_llm.requests) == 1
    body = scripted_llm.requests[0].messages()
    assert "Episode recorded at" in body[1]["content"] and "outcome: failure" in body[1]["content"]
    assert "[tool] ERROR: environment variable DATABASE_URL" in body[1]["content"]
    assert "lessons" in body[0]["content"]
    assert [r["event"] for r in out["results"]] == ["ADD", "ADD"]
    first = m.get(out["results"][0]["id"])
    assert first is not None
    assert first["metadata"]["lesson"]["advice"] == "export DATABASE_URL before deploying"
    assert first["metadata"]["source"] == "llm:openai"
    assert "(conditions: staging cluster, fresh shell)" in first["memory"]

    got = m.lessons("deploy billing", agent_id="ops")["results"]
    assert len(got) == 2
    [env] = [g for g in got if g["cause"]]
    assert env["cause"] == "env var DATABASE_URL not set"
    assert env["advice"] == "export DATABASE_URL before deploying"


def test_llm_lessons_merge_when_repeated(m: Memory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(lessons_reply(ENV_LESSON), lessons_reply(ENV_LESSON))
    a = m.add(RUN, agent_id="ops", memory_type="experience", outcome="failure")["results"][0]
    b = m.add(RUN, agent_id="ops", memory_type="experience", outcome="failure")["results"][0]
    assert b["id"] == a["id"] and b["event"] == "UPDATE" and b["failures"] == 2
    assert len(scripted_llm.requests) == 2


def test_success_lessons_drop_a_cause(m: Memory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(lessons_reply({**ENV_LESSON, "happened": "deployed"}))
    [row] = m.add(RUN[:2], agent_id="ops", memory_type="experience", outcome="success")["results"]
    stored = m.get(row["id"])
    assert stored is not None and stored["metadata"]["lesson"]["cause"] == ""
    assert row["successes"] == 1


def test_reply_without_lessons_falls_back_to_the_offline_summary(
    m: Memory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(lessons_reply())
    [row] = m.add(RUN, agent_id="ops", memory_type="experience", outcome="failure")["results"]
    assert "failed because environment variable DATABASE_URL is not set" in row["memory"]
    assert len(scripted_llm.requests) == 1


def test_failed_llm_call_keeps_the_episode_and_writes_no_lesson(
    m: Memory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(Reply(status=500, text="boom"), Reply(status=500, text="boom"))
    with pytest.raises(LLMError):
        m.add(RUN, agent_id="ops", memory_type="experience", outcome="failure")
    assert m.get_all(agent_id="ops")["results"] == []
    assert {e["status"] for e in m.episodes(agent_id="ops")} == {"failed"}
