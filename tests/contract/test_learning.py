"""Learning from outcomes on every store backend: the feedback table, feedback on memories
(history, importance, flagging, re-ranking) and experience lessons (offline extraction,
merging, lookup). The LLM path of lessons is in test_learning_llm.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engramdb import Memory
from engramdb.errors import MemoryNotFoundError, ScopeError, ValidationError
from engramdb.models import Feedback, Scope, WriteBatch
from engramdb.store.base import Store

T0 = "2024-03-01T10:00:00Z"


def deploy_run(service: str, tool_reply: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": f"Deploy the {service} service to staging"},
        {"role": "assistant", "content": f"Running deploy.sh {service} staging"},
        {"role": "tool", "content": tool_reply},
    ]


MISSING_ENV = "ERROR: environment variable DATABASE_URL is not set"


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in results]


# -- the store: feedback rows ----------------------------------------------------------------


def test_store_keeps_feedback_with_query_vectors_and_reset_clears_it(
    mem: Memory, store: Store
) -> None:
    [row] = mem.add("The office wifi password is hunter2", user_id="u", infer=False)["results"]
    other = mem.add("Lunch is at noon", user_id="u", infer=False)["results"][0]
    rec = store.get(row["id"], mem.tenant)
    assert rec is not None
    vec = mem.embedder.embed(["wifi password"])[0]
    f1 = Feedback("f1", row["id"], mem.tenant, "useful", "2024-01-01T00:00:00+00:00", "ok", "q")
    f1.query_vector = vec
    f2 = Feedback("f2", row["id"], mem.tenant, "not_useful", "2024-01-02T00:00:00+00:00")
    store.apply(WriteBatch(feedback=[f1, f2]))

    rowids = list(store.get_many(range(1, 100)).keys())
    got = store.feedback_for(mem.tenant, rowids)
    assert [(f.id, f.signal, f.note, f.query) for _, f in got] == [
        ("f1", "useful", "ok", "q"),
        ("f2", "not_useful", None, None),
    ]
    assert len({r for r, _ in got}) == 1
    assert np.allclose(np.asarray(got[0][1].query_vector), vec, atol=1e-6)
    assert got[1][1].query_vector is None
    # Another tenant sees none of it, and a row without feedback is absent.
    assert store.feedback_for("someone-else", rowids) == []
    other_rowid = [r for r, x in store.get_many(rowids).items() if x.id == other["id"]]
    assert store.feedback_for(mem.tenant, other_rowid) == []
    assert store.feedback_for(mem.tenant, []) == []

    store.reset(mem.tenant)
    assert store.feedback_for(mem.tenant, rowids) == []


# -- feedback through the facade -----------------------------------------------------------


def test_feedback_is_history_and_moves_importance(mem: Memory) -> None:
    [row] = mem.add("Alice prefers aisle seats", user_id="alice", infer=False)["results"]
    out = mem.feedback(row["id"], "useful", note="helped book", query="seat preference")
    assert out["signal"] == "useful" and out["importance"] == pytest.approx(0.55)
    assert out["query"] == "seat preference" and out["status"] == "active"
    mem.feedback(row["id"], "not_useful")
    got = mem.get(row["id"])
    assert got is not None and got["importance"] == pytest.approx(0.495)
    events = mem.history(row["id"])
    assert [e["event"] for e in events] == ["ADD", "FEEDBACK", "FEEDBACK"]
    assert events[1]["reason"] == "useful: helped book (query: seat preference)"
    assert events[2]["reason"] == "not_useful"
    assert got["memory"] == "Alice prefers aisle seats"


def test_wrong_flags_the_memory_out_of_search_and_listings(mem: Memory) -> None:
    [row] = mem.add("Bob's birthday is on May 3", user_id="bob", infer=False)["results"]
    out = mem.feedback(row["id"], "wrong", note="it is May 4")
    assert out["status"] == "flagged"
    got = mem.get(row["id"])
    assert got is not None
    assert got["status"] == "flagged" and got["invalid_at"] is not None
    assert mem.get_all(user_id="bob")["results"] == []
    assert mem.search("birthday", user_id="bob")["results"] == []
    assert mem.history(row["id"])[-1]["reason"] == "wrong: it is May 4"


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [
        (("great",), {}, "signal must be one of"),
        (("useful",), {"note": ""}, "note must be"),
        (("useful",), {"query": 5}, "query must be"),
        (("useful",), {"note": "x" * 2001}, "note is longer"),
        (("useful",), {"note": "bad \ud800"}, "note holds an unpaired surrogate"),
        (("not_useful",), {"query": "\udfff"}, "query holds an unpaired surrogate"),
    ],
)
def test_bad_feedback_raises_and_changes_nothing(
    mem: Memory, args: tuple[Any, ...], kwargs: dict[str, Any], problem: str
) -> None:
    [row] = mem.add("Carol works at Acme", user_id="carol", infer=False)["results"]
    with pytest.raises(ValidationError, match=problem):
        mem.feedback(row["id"], *args, **kwargs)
    assert [e["event"] for e in mem.history(row["id"])] == ["ADD"]
    assert mem.get(row["id"])["importance"] == 0.5  # type: ignore[index]


def test_feedback_on_unknown_memory_is_not_found(mem: Memory) -> None:
    with pytest.raises(MemoryNotFoundError):
        mem.feedback("no-such-id", "useful")


FACTS = [
    "The staging database runs on port 5433",
    "The production database runs on port 5432",
    "Database backups run nightly at 2am",
    "The team lunch is on Fridays at noon",
    "Grace's favourite hiking trail is in the Alps",
]


def rank_of(mem: Memory, memory_id: str, query: str) -> int:
    found = ids(mem.search(query, user_id="ops", limit=10)["results"])
    return found.index(memory_id) if memory_id in found else 99


def test_not_useful_lowers_a_result_for_similar_queries_only(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    for fact in FACTS:
        mem.add(fact, user_id="ops", infer=False)
    query = "which port does the staging database use"
    top = mem.search(query, user_id="ops")["results"][0]
    assert top["memory"] == FACTS[0]
    hiking = "where does Grace like to go hiking"
    unrelated_before = ids(mem.search(hiking, user_id="ops")["results"])

    mem.feedback(top["id"], "not_useful", query=query)
    assert rank_of(mem, top["id"], query) >= 1
    assert rank_of(mem, top["id"], "what port is the staging database on") >= 1
    assert ids(mem.search(hiking, user_id="ops")["results"]) == unrelated_before

    # The off switch restores the plain ranking.
    off = open_mem({"retrieval": {"use_feedback": False}})
    assert off.search(query, user_id="ops")["results"][0]["id"] == top["id"]


def test_useful_raises_a_result_for_its_query(mem: Memory) -> None:
    for fact in FACTS:
        mem.add(fact, user_id="ops", infer=False)
    query = "which port does the staging database use"
    found = ids(mem.search(query, user_id="ops")["results"])
    second = found[1]
    for _ in range(3):
        mem.feedback(second, "useful", query=query)
    assert ids(mem.search(query, user_id="ops")["results"])[0] == second


# -- experience lessons ------------------------------------------------------------------


def test_failure_episode_becomes_a_lesson_linked_to_its_episode(mem: Memory) -> None:
    out = mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="failure",
        metadata={"env": "staging"},
        timestamp=T0,
    )
    [row] = out["results"]
    assert row["event"] == "ADD" and row["memory_type"] == "experience"
    assert (row["outcome"], row["failures"], row["successes"]) == ("failure", 1, 0)
    assert "failed because environment variable DATABASE_URL is not set" in row["memory"]
    stored = mem.get(row["id"])
    assert stored is not None
    assert stored["metadata"]["episode_ids"] == out["episode_ids"]
    assert stored["metadata"]["env"] == "staging"
    assert stored["categories"] == ["lesson", "failure"]
    episodes = mem.episodes(agent_id="ops-bot")
    assert {e["id"] for e in episodes} == set(out["episode_ids"])
    assert all(e["status"] == "done" for e in episodes)


def test_repeated_lesson_merges_counts_instead_of_piling_up(mem: Memory) -> None:
    first = mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="failure",
    )["results"][0]
    again = mem.add(
        deploy_run("billing", MISSING_ENV.replace("ERROR", "Error")),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="failure",
    )["results"][0]
    assert again["id"] == first["id"] and again["event"] == "UPDATE"
    assert again["failures"] == 2
    ok = mem.add(
        deploy_run("billing", "Deployed billing: 3 pods ready"),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="success",
    )["results"][0]
    assert ok["id"] != first["id"] and ok["event"] == "ADD"
    lessons = mem.get_all(agent_id="ops-bot", filters={"memory_type": "experience"})["results"]
    assert len(lessons) == 2
    stored = mem.get(first["id"])
    assert stored is not None and len(stored["metadata"]["batch_ids"]) == 2
    assert [e["event"] for e in mem.history(first["id"])] == ["ADD", "UPDATE"]


def test_other_agents_lessons_do_not_merge(mem: Memory) -> None:
    a = mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="a",
        memory_type="experience",
        outcome="failure",
    )["results"][0]
    b = mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="b",
        memory_type="experience",
        outcome="failure",
    )["results"][0]
    assert a["id"] != b["id"] and b["event"] == "ADD"


def test_lessons_before_a_task_rank_matching_failures_first(mem: Memory) -> None:
    mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="failure",
    )
    mem.add(
        deploy_run("billing", "Deployed billing: 3 pods ready"),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="success",
    )
    mem.add(
        [
            {"role": "user", "content": "Write the quarterly newsletter"},
            {"role": "assistant", "content": "Drafted and sent it"},
        ],
        agent_id="ops-bot",
        memory_type="experience",
        outcome="success",
    )
    got = mem.lessons("deploy the billing service", agent_id="ops-bot", limit=5)["results"]
    assert got[0]["outcome"] == "failure"
    assert got[0]["cause"] == "environment variable DATABASE_URL is not set"
    assert got[0]["evidence"]["failures"] == 1 and got[0]["evidence"]["episode_ids"]
    assert {g["task"] for g in got[:2]} == {"Deploy the billing service to staging"}
    assert all(g["task"] != "Write the quarterly newsletter" for g in got)
    # Lessons are per agent.
    assert mem.lessons("deploy the billing service", agent_id="other")["results"] == []


def test_lessons_are_optionally_user_scoped(mem: Memory) -> None:
    mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="ops-bot",
        user_id="dana",
        memory_type="experience",
        outcome="failure",
    )
    assert mem.lessons("deploy billing", agent_id="ops-bot", user_id="dana")["results"]
    assert mem.lessons("deploy billing", agent_id="ops-bot", user_id="erin")["results"] == []


@pytest.mark.parametrize(
    ("kwargs", "problem", "error"),
    [
        ({"agent_id": "a", "memory_type": "experience"}, "outcome must be one of", ValidationError),
        (
            {"agent_id": "a", "memory_type": "experience", "outcome": "great"},
            "outcome must be one of",
            ValidationError,
        ),
        ({"user_id": "u", "memory_type": "experience", "outcome": "failure"}, "agent_id", None),
        ({"agent_id": "a", "outcome": "failure"}, "only for memory_type", ValidationError),
        (
            {"agent_id": "a", "memory_type": "experience", "outcome": "success", "infer": False},
            "with infer=True",
            ValidationError,
        ),
    ],
)
def test_bad_experience_adds_raise_and_store_nothing(
    mem: Memory, kwargs: dict[str, Any], problem: str, error: type[Exception] | None
) -> None:
    with pytest.raises(error or ValidationError, match=problem):
        mem.add(deploy_run("billing", MISSING_ENV), **kwargs)
    assert mem.store.episodes(Scope(tenant=mem.tenant), limit=10) == []


def test_verbatim_experience_is_stored_as_before(mem: Memory) -> None:
    [row] = mem.add(
        "Deploys need DATABASE_URL", agent_id="a", memory_type="experience", infer=False
    )["results"]
    stored = mem.get(row["id"])
    assert stored is not None and stored["memory_type"] == "experience"
    assert stored["memory"] == "Deploys need DATABASE_URL"


def test_bad_lessons_queries_raise(mem: Memory) -> None:
    with pytest.raises(ScopeError):
        mem.lessons("deploy")
    with pytest.raises(ValidationError, match="query must be"):
        mem.lessons("  ", agent_id="a")
    with pytest.raises(ValidationError, match="unpaired surrogate"):
        mem.lessons("deploy \ud800", agent_id="a")
    with pytest.raises(ValidationError, match="threshold"):
        mem.lessons("deploy", agent_id="a", threshold="high")  # type: ignore[arg-type]


def test_background_experience_keeps_its_outcome(mem: Memory) -> None:
    out = mem.add(
        deploy_run("billing", MISSING_ENV),
        agent_id="ops-bot",
        memory_type="experience",
        outcome="partial",
        background=True,
    )
    assert out["status"] == "queued"
    assert mem.wait(timeout=30)
    [lesson] = mem.lessons("deploy billing", agent_id="ops-bot")["results"]
    assert lesson["outcome"] == "partial" and lesson["evidence"]["partials"] == 1


def test_async_memory_has_feedback_and_lessons(mem: Memory) -> None:
    import anyio

    from engramdb import AsyncMemory

    async def main() -> None:
        am = AsyncMemory(store=mem.store, embedder=mem.embedder)
        try:
            added = await am.add(
                deploy_run("billing", MISSING_ENV),
                agent_id="async-bot",
                memory_type="experience",
                outcome="failure",
            )
            [lesson] = (await am.lessons("deploy billing", agent_id="async-bot"))["results"]
            assert lesson["id"] == added["results"][0]["id"]
            out = await am.feedback(lesson["id"], "wrong")
            assert out["status"] == "flagged"
        finally:
            await am.close()

    anyio.run(main)
